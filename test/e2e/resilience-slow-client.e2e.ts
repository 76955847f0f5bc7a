/**
 * Slow clients against the compiled binary: requests dribbled one byte at a
 * time (headers and body) must not hold the server. While a crowd of them
 * trickles in, ordinary pulls are answered promptly; the dribbled push is
 * then answered like any other (never a 5xx), and the server is still whole.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { connect, type Socket } from "node:net";
import { stopAllServers } from "../helpers/serve";
import { startVaultServer, type VaultServer } from "../helpers/vault-server";

const PASSWORD = "slow clients, long password";
let vs: VaultServer;
let token: string;
let project: string;
let hostname: string;
let port: number;

beforeAll(async () => {
  vs = await startVaultServer();
  hostname = new URL(vs.url).hostname;
  port = Number(new URL(vs.url).port);
  vs.addUser("slow@example.com", PASSWORD, "owner");
  token = await vs.apiLogin("slow@example.com", PASSWORD);
  project = (await vs.api(token, "POST", "/api/v1/projects", { name: "slow" })).id;
  await vs.api(token, "PUT", `/api/v1/projects/${project}/environments/development/secrets`, {
    dotenv: "A=1\nB=2\n",
  });
});

afterAll(async () => {
  await stopAllServers();
  vs?.vault.remove();
});

/** Writes `bytes` one at a time, `gapMs` apart; resolves with everything the server sent back. */
function dribble(bytes: Uint8Array, gapMs: number): { done: Promise<string>; socket: Socket } {
  const socket = connect({ host: hostname, port });
  let answer = "";
  socket.on("data", (chunk) => {
    answer += chunk.toString("utf8");
  });
  const done = new Promise<string>((resolve) => {
    socket.on("close", () => resolve(answer));
    socket.on("error", () => resolve(answer));
    socket.once("connect", async () => {
      for (const byte of bytes) {
        if (socket.destroyed) return;
        socket.write(new Uint8Array([byte]));
        await Bun.sleep(gapMs);
      }
      // The answer comes with `Connection: close`; wait for it, then give up.
      setTimeout(() => socket.destroy(), 5_000);
    });
  });
  return { done, socket };
}

function pushRequest(dotenv: string): Uint8Array {
  const body = JSON.stringify({ dotenv });
  const text = [
    `PUT /api/v1/projects/${project}/environments/development/secrets HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    `Authorization: Bearer ${token}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
  return new TextEncoder().encode(text);
}

describe("slow clients", () => {
  it("requests dribbled one byte at a time do not hold the server", async () => {
    // 40 clients each dribbling a request (one byte every 20 ms, ~10 s each); one of them is a real push.
    const push = dribble(pushRequest("A=1\nB=2\nSLOW=yes\n"), 20);
    const crowd = Array.from({ length: 39 }, () => dribble(pushRequest(`X=${"y".repeat(200)}\n`), 20));
    const pull = `${vs.url}/api/v1/projects/${project}/environments/development/secrets`;
    const latencies: number[] = [];
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      const t0 = performance.now();
      const res = await fetch(pull, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      await res.text();
      latencies.push(performance.now() - t0);
      await Bun.sleep(20);
    }
    latencies.sort((a, b) => a - b);
    expect(latencies.length).toBeGreaterThan(20);
    // Ordinary requests are answered meanwhile, and quickly.
    expect(latencies.at(-1)!).toBeLessThan(1_000);

    const answer = await push.done;
    for (const c of crowd) c.socket.destroy();
    await Promise.all(crowd.map((c) => c.done));
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
    // A client that keeps sending, however slowly, is served in full.
    expect(status).toBe(200);
    const res = await fetch(pull, { headers: { authorization: `Bearer ${token}` } });
    expect(await res.text()).toContain("SLOW=yes");
    expect(await vs.server.status("/readyz")).toBe(200);
  }, 60_000);

  it("a connection that stalls half way through its headers is dropped, and others are served", async () => {
    const stalled = Array.from({ length: 50 }, () => {
      const socket = connect({ host: hostname, port });
      socket.on("error", () => {});
      socket.write(`GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthor`);
      return socket;
    });
    const t0 = performance.now();
    const res = await fetch(`${vs.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    await res.text();
    expect(performance.now() - t0).toBeLessThan(1_000);
    for (const s of stalled) s.destroy();
    expect(await vs.server.status("/readyz")).toBe(200);
  }, 30_000);
});
