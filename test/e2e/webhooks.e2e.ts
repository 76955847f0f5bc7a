/**
 * Webhooks on the compiled binary: deliveries are queued in app.db while the receiver is down,
 * the app child is killed with `kill -9` (pushes racing the kill), later the whole tree too, and
 * once everything is back every delivery reaches the receiver: at least once, each with one id
 * however often it came (receivers dedupe by it), signed, and one for every version pushed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { addUser, type Installed, installBinary } from "../helpers/binary";
import { isRunning, waitFor } from "../helpers/proc";
import { type ServeProcess, startServe, stopAllServers } from "../helpers/serve";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver";

const PASSWORD = "webhooks end to end, long password";
const SERVE_ARGS = [
  "--rate-limit-address",
  "0",
  "--rate-limit-credential",
  "0",
  "--webhooks-allow-http",
  "--webhooks-allow-private",
  "127.0.0.1/32",
  "--webhooks-retry-base",
  "100ms",
];

let vault: Installed;
let data: string;
let server: ServeProcess;
let receiver: Receiver;
let token: string;
let project: string;

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

async function push(env: string, n: number): Promise<number> {
  const res = await api("PUT", `/projects/${project}/environments/${env}/secrets`, {
    dotenv: `COUNTER=${n}\nSECRET_VALUE=sentinel-${n}-6a1f\n`,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

interface Delivery {
  id: string;
  state: string;
  attempts: number;
}

async function deliveries(hook: string): Promise<Delivery[]> {
  const res = await api("GET", `/projects/${project}/webhooks/${hook}/deliveries?limit=500`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
}

beforeAll(async () => {
  vault = installBinary();
  data = join(vault.dir, "data");
  server = await startServe({ bin: vault.bin, cwd: vault.dir, data, args: SERVE_ARGS });
  await server.waitReady(30_000);
  addUser(vault.bin, { cwd: vault.dir, data, email: "hooks@example.com", password: PASSWORD, role: "owner" });
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "hooks@example.com", password: PASSWORD }),
  });
  expect(login.status).toBe(200);
  token = ((await login.json()) as { token: string }).token;
  const created = await api("POST", "/projects", { name: "hooks" });
  project = ((await created.json()) as { id: string }).id;
  receiver = startReceiver();
});

afterAll(async () => {
  await receiver?.stop();
  await stopAllServers();
  vault?.remove();
});

describe("webhooks on the binary", () => {
  it("loses no delivery across kill -9 of the app and of the whole tree with deliveries queued: each arrives, with one id", async () => {
    const made = await api("POST", `/projects/${project}/webhooks`, { url: receiver.url });
    expect(made.status).toBe(201);
    const { webhook, secret } = (await made.json()) as { webhook: { id: string }; secret: string };
    // The receiver goes down: deliveries queue up and fail (connection refused), with retries.
    await receiver.stop();
    const pushed: string[] = [];
    for (let n = 0; n < 6; n++) {
      const env = ["development", "staging", "production"][n % 3]!;
      pushed.push(`${env}@${await push(env, n)}`);
    }
    await waitFor(
      "every delivery queued and tried at least once",
      async () => {
        const list = await deliveries(webhook.id);
        return list.length === 6 && list.every((d) => d.state === "pending" && d.attempts >= 1);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    // kill -9 of the app child, with pushes racing it: an audit event may be committed and not
    // yet turned into a delivery when the app dies.
    const { app } = await server.waitChildren();
    const racing = [push("ci", 100), push("ci", 101).catch(() => undefined)];
    const first = await racing[0]!;
    pushed.push(`ci@${first}`);
    process.kill(app, "SIGKILL");
    const second = await racing[1];
    if (typeof second === "number") pushed.push(`ci@${second}`);
    await waitFor("the app child to be gone", () => !isRunning(app), { timeoutMs: 10_000 });
    await server.waitReady(30_000);
    pushed.push(`development@${await push("development", 200)}`);

    // The whole tree, with deliveries still queued (the receiver is still down).
    await server.killTree();
    server = await startServe({
      bin: vault.bin,
      cwd: vault.dir,
      data,
      args: SERVE_ARGS,
      listen: server.listen,
    });
    await server.waitReady(30_000);

    // Every version made (also one whose answer the kill cut off) is owed a delivery.
    const versionsMade: string[] = [];
    for (const env of ["development", "staging", "production", "ci"]) {
      const res = await api("GET", `/projects/${project}/environments/${env}/versions?limit=100`);
      const list = ((await res.json()) as { versions: { version: number }[] }).versions;
      for (const v of list) versionsMade.push(`${env}@${v.version}`);
    }
    for (const p of pushed) expect(versionsMade).toContain(p);

    receiver.restart();
    const expected = versionsMade.length;
    const distinct = () => new Set(receiver.received.map((r) => r.headers["vault-webhook-id"] ?? ""));
    await waitFor("every delivery at the receiver", () => distinct().size >= expected, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    await waitFor(
      "every delivery marked delivered",
      async () => (await deliveries(webhook.id)).every((d) => d.state === "delivered"),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const log = await deliveries(webhook.id);
    expect(log.length).toBe(expected);
    expect(new Set(log.map((d) => d.id))).toEqual(distinct());

    // One delivery per version pushed, each signed, one id per body however often it came.
    const bodies = new Map<string, string>();
    for (const r of receiver.received) {
      const id = r.headers["vault-webhook-id"]!;
      if (bodies.has(id)) expect(r.body).toBe(bodies.get(id)!);
      bodies.set(id, r.body);
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(r.headers["vault-signature"]!)!;
      expect(createHmac("sha256", secret).update(`${t}.${r.body}`).digest("hex")).toBe(v1!);
      expect(r.body).not.toContain("sentinel-");
    }
    const versions = [...bodies.values()].map((b) => {
      const body = JSON.parse(b) as { environment: { name: string }; version: number };
      return `${body.environment.name}@${body.version}`;
    });
    expect(versions.sort()).toEqual(versionsMade.sort());
  }, 180_000);
});
