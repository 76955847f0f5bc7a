/**
 * Webhooks against a real receiver on loopback (allowed here with --webhooks-allow-http and
 * 127.0.0.1/32 in --webhooks-allow-private), through the API, with the dispatcher driven by
 * hand (`runOnce`, `idle`) and the clock advanced by hand: no sleeps, no timed assertions.
 */
import { describe, expect, it } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseIpRange } from "../../src/ip-range";
import { createMetrics } from "../../src/server/metrics";
import { type Resolve, refusedAddress } from "../../src/server/modules/webhooks/address";
import { sendOnce } from "../../src/server/modules/webhooks/deliver";
import { createWebhookDispatcher } from "../../src/server/modules/webhooks/dispatcher";
import { webhookGauges } from "../../src/server/modules/webhooks/metrics";
import { selfSignedCert } from "../helpers/tls";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver";
import { projectWith } from "./fixtures";
import { type Harness, type Json, PASSWORD, startHarness } from "./harness";

const LOOPBACK_ALLOWED = { webhooksAllowHttp: true, webhooksAllowPrivate: [parseIpRange("127.0.0.1/32")] };

/** The verification snippet exactly as the README documents it. */
type Verify = (secret: string, header: string, body: string, tolerance?: number, now?: number) => boolean;
const verifyVaultWebhook: Verify = (() => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const at = readme.indexOf("<!-- webhook-verify");
  const start = readme.indexOf("```js\n", at) + "```js\n".length;
  const code = readme.slice(start, readme.indexOf("```", start));
  return new Function("require", `${code}\nreturn verifyVaultWebhook;`)(require) as Verify;
})();

async function setup(
  options: {
    respond?: Parameters<typeof startReceiver>[0];
    config?: Record<string, unknown>;
    resolve?: Resolve;
  } = {},
) {
  const h = await startHarness({
    config: { ...LOOPBACK_ALLOWED, webhooksRetryBaseMs: 1_000, ...options.config },
    resolve: options.resolve,
  });
  const receiver = startReceiver(options.respond);
  const { owner, project, base } = await projectWith(h);
  const hooks = `/api/v1/projects/${project.id}/webhooks`;
  return { h, receiver, owner, project, base, hooks };
}

async function addHook(h: Harness, hooks: string, token: string, body: Record<string, unknown>) {
  const res = await h.request("POST", hooks, { token, body });
  expect(res.status).toBe(201);
  return res.body as { webhook: Json; secret: string };
}

/** Queues what the audit log holds and waits for every attempt to be recorded. */
async function dispatch(h: Harness): Promise<void> {
  await h.ctx.audit.flush();
  await h.ctx.webhooks.runOnce();
  await h.ctx.webhooks.idle();
}

const stop = (r: Receiver) => r.stop();

describe("webhooks: delivery", () => {
  it("signs each delivery so that the README's snippet verifies it, and not a changed body or an old timestamp", async () => {
    const { h, receiver, owner, base, hooks } = await setup();
    const { secret, webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(webhook.url).toBe(receiver.url);
    await h.request("PUT", `${base}/production/secrets`, {
      token: owner.token,
      body: { dotenv: "A=1\nB=2\n" },
    });
    await dispatch(h);
    await receiver.waitFor(1);
    const [got] = receiver.received;
    const now = h.clock.now() / 1000;
    expect(got!.method).toBe("POST");
    expect(got!.headers["content-type"]).toBe("application/json");
    expect(got!.headers["user-agent"]).toMatch(/^vault-webhooks\//);
    const body = JSON.parse(got!.body);
    expect(got!.headers["vault-webhook-id"]).toBe(body.id);
    expect(got!.headers["vault-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyVaultWebhook(secret, got!.headers["vault-signature"]!, got!.body, 300, now)).toBe(true);
    expect(verifyVaultWebhook(secret, got!.headers["vault-signature"]!, `${got!.body} `, 300, now)).toBe(
      false,
    );
    expect(verifyVaultWebhook(secret, got!.headers["vault-signature"]!, got!.body, 300, now + 301)).toBe(
      false,
    );
    expect(verifyVaultWebhook(`${secret}0`, got!.headers["vault-signature"]!, got!.body, 300, now)).toBe(
      false,
    );
    expect(body).toMatchObject({
      type: "version.created",
      change: "push",
      environment: { name: "production" },
      version: 1,
      previousVersion: null,
      keys: { added: ["A", "B"], changed: [], removed: [] },
      actor: { kind: "user", label: "owner@example.com" },
    });
    expect(body.project.name).toBe("shop");
    await stop(receiver);
  });

  it("retries a receiver that answers 500 twice, and delivers on the third try with the same id", async () => {
    const { h, receiver, owner, base, hooks } = await setup({ respond: (n) => (n <= 2 ? 500 : 200) });
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    await h.request("PUT", `${base}/staging/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await dispatch(h);
    await receiver.waitFor(1);
    const list = async () =>
      (await h.request("GET", `${hooks}/${webhook.id}/deliveries`, { token: owner.token })).body.deliveries;
    let [d] = await list();
    expect(d).toMatchObject({ state: "pending", attempts: 1, lastStatus: 500, lastError: "HTTP_STATUS" });
    // Not due yet: nothing is attempted before its time.
    await dispatch(h);
    expect(receiver.received.length).toBe(1);
    // The first retry comes after half to all of the base delay (1 s here), the second after 1-2 s.
    expect(d.nextAttemptAt - h.clock.now()).toBeGreaterThanOrEqual(500);
    expect(d.nextAttemptAt - h.clock.now()).toBeLessThanOrEqual(1_000);
    h.clock.advance(1_000);
    await dispatch(h);
    await receiver.waitFor(2);
    [d] = await list();
    expect(d).toMatchObject({ state: "pending", attempts: 2, lastStatus: 500 });
    expect(d.nextAttemptAt - h.clock.now()).toBeGreaterThanOrEqual(1_000);
    expect(d.nextAttemptAt - h.clock.now()).toBeLessThanOrEqual(2_000);
    h.clock.advance(2_000);
    await dispatch(h);
    await receiver.waitFor(3);
    [d] = await list();
    expect(d).toMatchObject({
      state: "delivered",
      attempts: 3,
      lastStatus: 200,
      lastError: null,
      nextAttemptAt: null,
    });
    const ids = receiver.received.map((r) => r.headers["vault-webhook-id"]);
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toBe(d.id);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    const shown = await h.request("GET", `${hooks}/${webhook.id}/deliveries/${d.id}`, { token: owner.token });
    expect(shown.body.attempts.map((a: Json) => a.status)).toEqual([500, 500, 200]);
    expect(shown.body.attempts.every((a: Json) => typeof a.latencyMs === "number")).toBe(true);
    expect(shown.body.attempts[0].excerpt).toBe("answer 500");
    await stop(receiver);
  });

  it("marks a delivery failed once its 24-hour retry window is over, and a redelivery sends it again with the same id and body", async () => {
    let down = true;
    const { h, receiver, owner, base, hooks } = await setup({ respond: () => (down ? 503 : 204) });
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    await h.request("PUT", `${base}/ci/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await dispatch(h);
    await receiver.waitFor(1);
    for (let hour = 0; hour < 25; hour++) {
      h.clock.advance(3_600_000);
      await dispatch(h);
    }
    // A day later the session has expired: sign in again.
    const signedIn = await h.request("POST", "/api/v1/auth/login", {
      body: { email: owner.email, password: PASSWORD },
    });
    owner.token = signedIn.body.token;
    const deliveries = (await h.request("GET", `${hooks}/${webhook.id}/deliveries`, { token: owner.token }))
      .body.deliveries;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ state: "failed", nextAttemptAt: null, lastStatus: 503 });
    const tries = receiver.received.length;
    // Failed deliveries are not attempted again by themselves.
    h.clock.advance(3_600_000);
    await dispatch(h);
    expect(receiver.received.length).toBe(tries);
    down = false;
    const again = await h.request("POST", `${hooks}/${webhook.id}/deliveries/${deliveries[0].id}/redeliver`, {
      token: owner.token,
    });
    expect(again.status).toBe(200);
    expect(again.body.delivery).toMatchObject({ id: deliveries[0].id, state: "delivered", lastStatus: 204 });
    expect(receiver.received.length).toBe(tries + 1);
    const last = receiver.received.at(-1)!;
    expect(last.headers["vault-webhook-id"]).toBe(deliveries[0].id);
    expect(last.body).toBe(receiver.received[0]!.body);
    await stop(receiver);
  });

  it("sends a ping on request and logs it with its status and latency", async () => {
    const { h, receiver, owner, project, hooks } = await setup();
    const { webhook, secret } = await addHook(h, hooks, owner.token, { url: receiver.url });
    const res = await h.request("POST", `${hooks}/${webhook.id}/ping`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body.delivery).toMatchObject({
      type: "ping",
      state: "delivered",
      attempts: 1,
      lastStatus: 200,
    });
    expect(typeof res.body.delivery.lastLatencyMs).toBe("number");
    expect(receiver.received).toHaveLength(1);
    const body = JSON.parse(receiver.received[0]!.body);
    expect(body).toMatchObject({
      type: "ping",
      project: { id: project.id, name: "shop" },
      environment: null,
    });
    expect(
      verifyVaultWebhook(
        secret,
        receiver.received[0]!.headers["vault-signature"]!,
        receiver.received[0]!.body,
        300,
        h.clock.now() / 1000,
      ),
    ).toBe(true);
    await stop(receiver);
  });

  it("cuts an attempt that gets no answer within the timeout, and reads no more than a short excerpt of a long or hostile answer", async () => {
    const hang = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    const { h, receiver, owner, hooks } = await setup({
      respond: () =>
        new Response(`\u001b[31mred\u0007\r\nline\u202e${"x".repeat(5_000_000)}`, { status: 200 }),
    });
    const cut = await sendOnce({
      url: `http://127.0.0.1:${hang.port}/hook`,
      body: "{}",
      deliveryId: "dlv_0",
      secret: "whsec_0",
      timestamp: 0,
      policy: h.ctx.webhooks.policy,
      resolve: h.ctx.webhooks.resolve,
      timeoutMs: 200,
    });
    expect(cut).toMatchObject({ status: null, error: "TIMEOUT" });
    const loud = await addHook(h, hooks, owner.token, { url: receiver.url });
    const ok = await h.request("POST", `${hooks}/${loud.webhook.id}/ping`, { token: owner.token });
    expect(ok.body.delivery).toMatchObject({ state: "delivered", lastStatus: 200 });
    const shown = await h.request("GET", `${hooks}/${loud.webhook.id}/deliveries/${ok.body.delivery.id}`, {
      token: owner.token,
    });
    const excerpt = shown.body.attempts[0].excerpt as string;
    expect(excerpt.startsWith("[31mred line x")).toBe(true);
    expect(excerpt.length).toBeLessThanOrEqual(200);
    expect(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/.test(excerpt)).toBe(false);
    hang.stop(true);
    await stop(receiver);
  });

  it("counts deliveries by state on /metrics, without a URL, id or name", async () => {
    const { h, receiver, owner, base, hooks } = await setup({ respond: (n) => (n === 1 ? 200 : 500) });
    await addHook(h, hooks, owner.token, { url: receiver.url });
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=2\n" } });
    await dispatch(h);
    await receiver.waitFor(2);
    const registry = createMetrics();
    webhookGauges(registry, h.appdb);
    const text = await registry.render();
    expect(text).toContain('vault_webhook_deliveries{state="pending"} 1');
    expect(text).toContain('vault_webhook_deliveries{state="delivered"} 1');
    expect(text).toContain('vault_webhook_deliveries{state="failed"} 0');
    expect(text).not.toContain("127.0.0.1");
    await stop(receiver);
  });

  it("keeps finished deliveries in the log for 30 days, and pending ones until they finish", async () => {
    const { h, receiver, owner, base, hooks } = await setup({ respond: (n) => (n === 1 ? 200 : 500) });
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await dispatch(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=2\n" } });
    await dispatch(h);
    await receiver.waitFor(2);
    const states = async () => (await h.appdb.webhooks.deliveries(webhook.id, 10)).map((d) => d.state).sort();
    expect(await states()).toEqual(["delivered", "pending"]);
    const delivered = (await h.appdb.webhooks.deliveries(webhook.id, 10)).find(
      (d) => d.state === "delivered",
    )!;
    expect(await h.appdb.webhooks.attempts(delivered.id)).toHaveLength(1);
    h.clock.advance(29 * 86_400_000);
    expect(await h.ctx.webhooks.purge()).toBe(0);
    h.clock.advance(2 * 86_400_000);
    expect(await h.ctx.webhooks.purge()).toBe(1);
    expect(await states()).toEqual(["pending"]);
    expect(await h.appdb.webhooks.attempts(delivered.id)).toHaveLength(0);
    await stop(receiver);
  });

  it("treats a redirect as a failed attempt and does not follow it", async () => {
    const target = startReceiver();
    const { h, receiver, owner, hooks } = await setup({
      respond: () => new Response(null, { status: 302, headers: { location: target.url } }),
    });
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    const res = await h.request("POST", `${hooks}/${webhook.id}/ping`, { token: owner.token });
    expect(res.body.delivery).toMatchObject({ state: "pending", lastStatus: 302, lastError: "REDIRECT" });
    expect(target.received).toHaveLength(0);
    await stop(receiver);
    await stop(target);
  });

  it("delivers only the environments and events a webhook asked for, and nothing from before it existed", async () => {
    const { h, receiver, owner, base, hooks } = await setup();
    await h.request("PUT", `${base}/production/secrets`, { token: owner.token, body: { dotenv: "OLD=1\n" } });
    await h.ctx.audit.flush();
    await addHook(h, hooks, owner.token, {
      url: receiver.url,
      environments: ["production"],
      events: ["version.created", "dotenv_key.rotated", "member.added"],
    });
    await h.request("PUT", `${base}/staging/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await h.request("PATCH", `${base}/production/secrets`, { token: owner.token, body: { set: { B: "2" } } });
    await h.request("POST", `${base}/production/rollback`, { token: owner.token, body: { version: 1 } });
    await h.request("POST", `${base}/production/rotate-key`, { token: owner.token });
    await h.request("POST", `${base}/staging/rotate-key`, { token: owner.token });
    await h.user("bob@example.com");
    const project = base.split("/")[4];
    await h.request("POST", `/api/v1/projects/${project}/members`, {
      token: owner.token,
      body: { email: "bob@example.com", permissions: { staging: "write" } },
    });
    await h.request("POST", `/api/v1/projects/${project}/tokens`, {
      token: owner.token,
      body: { name: "ci", environments: ["ci"] },
    });
    await dispatch(h);
    await receiver.waitFor(3);
    const bodies = receiver.received.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => [b.type, b.environment?.name ?? null])).toEqual([
      ["version.created", "production"],
      ["dotenv_key.rotated", "production"],
      ["member.added", null],
    ]);
    expect(bodies[0]).toMatchObject({
      change: "set",
      version: 2,
      previousVersion: 1,
      keys: { added: ["B"] },
    });
    expect(bodies[2].member).toMatchObject({ email: "bob@example.com", role: "member" });
    await stop(receiver);
  });

  it("reads only deliverable events of projects with a webhook from the audit log, many batches of them in order", async () => {
    const { h, receiver, owner, project, base, hooks } = await setup();
    await addHook(h, hooks, owner.token, { url: receiver.url, events: ["token.created"] });
    const seen: string[] = [];
    const eventsAfter = h.appdb.webhooks.eventsAfter.bind(h.appdb.webhooks);
    h.appdb.webhooks.eventsAfter = async (...args) => {
      const rows = await eventsAfter(...args);
      seen.push(...rows.map((r) => r.action));
      return rows;
    };
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    for (let i = 0; i < 20; i++)
      await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    // More events than one batch of the dispatcher (500): every one is delivered, in order.
    for (let i = 0; i < 505; i++)
      await h.ctx.audit.event(
        { kind: "session", user: { id: owner.id, email: owner.email } } as never,
        "token.create",
        { projectId: project.id },
        { id: `tok_${i}`, name: `n${i}` },
      );
    await dispatch(h);
    // At most 8 attempts at once: the rest go as slots free up.
    while ((await h.ctx.webhooks.deliverDue()) > 0) await h.ctx.webhooks.idle();
    await receiver.waitFor(505);
    expect(seen.filter((a) => a !== "token.create")).toEqual(["secrets.push"]);
    const names = receiver.received.map((r) => Number(JSON.parse(r.body).token.name.slice(1)));
    expect(names.sort((a, b) => a - b)).toEqual(Array.from({ length: 505 }, (_, i) => i));
    const queued = await h.appdb.webhooks.deliveries(
      (await h.appdb.webhooks.ofProject(project.id))[0]!.id,
      600,
    );
    // One delivery per event, none twice.
    expect(new Set(queued.map((d) => d.eventSeq)).size).toBe(505);
    expect(queued).toHaveLength(505);
    await stop(receiver);
  });

  it("delivers rollbacks, member and token changes to a webhook that wants every event", async () => {
    const { h, receiver, owner, project, base, hooks } = await setup();
    await addHook(h, hooks, owner.token, { url: receiver.url });
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=2\n" } });
    await h.request("POST", `${base}/development/rollback`, { token: owner.token, body: { version: 1 } });
    const bob = await h.user("bob@example.com");
    const members = `/api/v1/projects/${project.id}/members`;
    await h.request("POST", members, { token: owner.token, body: { email: bob.email } });
    await h.request("PUT", `${members}/${bob.id}/permissions`, {
      token: owner.token,
      body: { permissions: { ci: "read" } },
    });
    await h.request("DELETE", `${members}/${bob.id}`, { token: owner.token });
    const made = await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
      token: owner.token,
      body: { name: "ci", environments: ["ci"] },
    });
    await h.request("DELETE", `/api/v1/projects/${project.id}/tokens/${made.body.id}`, {
      token: owner.token,
    });
    await dispatch(h);
    await receiver.waitFor(8);
    const bodies = receiver.received.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.type)).toEqual([
      "version.created",
      "version.created",
      "version.rollback",
      "member.added",
      "member.changed",
      "member.removed",
      "token.created",
      "token.revoked",
    ]);
    expect(bodies[1]).toMatchObject({ version: 2, previousVersion: 1, keys: { changed: ["A"] } });
    expect(bodies[2]).toMatchObject({ version: 3, previousVersion: 2, keys: { changed: ["A"] } });
    expect(bodies[5].member).toEqual({ userId: bob.id });
    expect(bodies[6].token).toEqual({ id: made.body.id, name: "ci" });
    expect(new Set(bodies.map((b) => b.id)).size).toBe(8);
    await stop(receiver);
  });
});

describe("webhooks: protected environments", () => {
  it("a held change delivers nothing; its approval delivers the version, naming the request and its author", async () => {
    const { h, receiver, owner, project, base, hooks } = await setup();
    await addHook(h, hooks, owner.token, { url: receiver.url, events: ["version.created"] });
    const writer = await h.user("writer@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: writer.email, permissions: { production: "write" } },
    });
    const protect = await h.request("PUT", `${base}/production/protection`, { token: owner.token, body: {} });
    expect(protect.status).toBe(200);
    const held = await h.request("PUT", `${base}/production/secrets`, {
      token: writer.token,
      body: { dotenv: "HELD=sentinel-held-41c0\n" },
    });
    expect(held.status).toBe(202);
    await dispatch(h);
    expect(receiver.received).toHaveLength(0);
    const number = held.body.request.number as number;
    const approved = await h.request("POST", `/api/v1/projects/${project.id}/requests/${number}/approve`, {
      token: owner.token,
    });
    expect(approved.status).toBe(200);
    await dispatch(h);
    await receiver.waitFor(1);
    const body = JSON.parse(receiver.received[0]!.body);
    expect(body).toMatchObject({
      type: "version.created",
      environment: { name: "production" },
      version: 1,
      keys: { added: ["HELD"] },
      actor: { label: "owner@example.com" },
      request: { number, author: "writer@example.com" },
    });
    expect(receiver.received[0]!.body).not.toContain("sentinel-held");
    await stop(receiver);
  });
});

describe("webhooks: secrets", () => {
  it("no value reaches a webhook body, header or the delivery log", async () => {
    const { h, receiver, owner, base, hooks } = await setup();
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    const sentinels = [
      "SENTINEL_PUSHED_8c1f",
      "SENTINEL_SET_33ab",
      "SENTINEL_CHANGED_9e07",
      "SENTINEL_MERGED_71d2",
    ];
    await h.request("PUT", `${base}/production/secrets`, {
      token: owner.token,
      body: { dotenv: `DATABASE_URL=${sentinels[0]}\nOTHER=${sentinels[0]}x\n` },
    });
    await h.request("PATCH", `${base}/production/secrets`, {
      token: owner.token,
      body: { set: { API_KEY: sentinels[1], DATABASE_URL: sentinels[2] }, unset: ["OTHER"] },
    });
    await h.request("PATCH", `${base}/production/secrets`, {
      token: owner.token,
      body: { rename: { API_KEY: "API_TOKEN" } },
    });
    await h.request("POST", `${base}/production/merge`, {
      token: owner.token,
      body: { dotenv: `MERGED=${sentinels[3]}\n` },
    });
    await h.request("POST", `${base}/production/rollback`, { token: owner.token, body: { version: 1 } });
    const rotated = await h.request("POST", `${base}/production/rotate-key`, { token: owner.token });
    await dispatch(h);
    await receiver.waitFor(5);
    const keyParts = [rotated.body.key, rotated.body.previousKey]
      .filter(Boolean)
      .map((k: string) => k.slice(-20));
    const deliveries = (await h.request("GET", `${hooks}/${webhook.id}/deliveries`, { token: owner.token }))
      .body.deliveries as Json[];
    const details = await Promise.all(
      deliveries.map((d) =>
        h.request("GET", `${hooks}/${webhook.id}/deliveries/${d.id}`, { token: owner.token }),
      ),
    );
    const everything = [
      ...receiver.received.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`),
      JSON.stringify(deliveries),
      ...details.map((d) => JSON.stringify(d.body)),
    ].join("\n");
    for (const s of [...sentinels, ...keyParts]) expect(everything).not.toContain(s);
    // Names are there: the webhook says what changed.
    expect(everything).toContain("DATABASE_URL");
    expect(everything).toContain("API_TOKEN");
    const rows = await h.appdb.database.client.execute("SELECT body FROM webhook_deliveries");
    for (const row of rows.rows) for (const s of sentinels) expect(String(row.body)).not.toContain(s);
    await stop(receiver);
  });

  it("shows the signing secret once: never in a list, a show, the audit log, the logs or app.db in the clear", async () => {
    const { h, receiver, owner, hooks } = await setup();
    const url = `${receiver.url}?token=url-credential-5e2a`;
    const created = await addHook(h, hooks, owner.token, { url });
    const rotated = await h.request("POST", `${hooks}/${created.webhook.id}/rotate-secret`, {
      token: owner.token,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    // The new secret signs from now on.
    await h.request("POST", `${hooks}/${created.webhook.id}/ping`, { token: owner.token });
    const ping = receiver.received.at(-1)!;
    const now = h.clock.now() / 1000;
    expect(
      verifyVaultWebhook(rotated.body.secret, ping.headers["vault-signature"]!, ping.body, 300, now),
    ).toBe(true);
    expect(verifyVaultWebhook(created.secret, ping.headers["vault-signature"]!, ping.body, 300, now)).toBe(
      false,
    );
    const list = await h.request("GET", hooks, { token: owner.token });
    const show = await h.request("GET", `${hooks}/${created.webhook.id}`, { token: owner.token });
    expect(show.body.webhook.url).toBe(url);
    await h.ctx.audit.flush();
    const audit = await h.request(
      "GET",
      `/api/v1/audit?project=${created.webhook.id ? hooks.split("/")[4] : ""}`,
      {
        token: owner.token,
      },
    );
    const actions = (audit.body.events as Json[]).map((e) => e.action);
    expect(actions).toContain("webhook.create");
    expect(actions).toContain("webhook.rotate_secret");
    const dump = await h.appdb.database.client.execute("SELECT * FROM webhooks");
    const texts = [
      JSON.stringify(list.body),
      JSON.stringify(show.body),
      JSON.stringify(audit.body),
      h.logs.join("\n"),
      JSON.stringify(dump.rows),
    ];
    for (const text of texts) {
      for (const secret of [created.secret, rotated.body.secret]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(secret.slice(6));
      }
    }
    // The URL (which may carry a credential) is sealed in app.db and out of the audit log and the logs.
    for (const text of texts.slice(2)) expect(text).not.toContain("url-credential-5e2a");
    await stop(receiver);
  });
});

describe("webhooks: rotating the secret", () => {
  it("keeps the old secret signing beside the new one for the hours asked, so receivers switch without a failure; then only the new one", async () => {
    const { h, receiver, owner, hooks } = await setup();
    const created = await addHook(h, hooks, owner.token, { url: receiver.url });
    const rotated = await h.request("POST", `${hooks}/${created.webhook.id}/rotate-secret`, {
      token: owner.token,
      body: { keepPreviousHours: 24 },
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.webhook.previousSecretUntil).toBe(h.clock.now() + 24 * 3_600_000);
    await h.request("POST", `${hooks}/${created.webhook.id}/ping`, { token: owner.token });
    const both = receiver.received.at(-1)!;
    expect(both.headers["vault-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    const now = () => h.clock.now() / 1000;
    for (const secret of [created.secret, rotated.body.secret])
      expect(verifyVaultWebhook(secret, both.headers["vault-signature"]!, both.body, 300, now())).toBe(true);
    h.clock.advance(24 * 3_600_000 + 1);
    await h
      .request("POST", "/api/v1/auth/login", { body: { email: owner.email, password: PASSWORD } })
      .then((r) => {
        owner.token = r.body.token;
      });
    await h.request("POST", `${hooks}/${created.webhook.id}/ping`, { token: owner.token });
    const after = receiver.received.at(-1)!;
    expect(after.headers["vault-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(
      verifyVaultWebhook(rotated.body.secret, after.headers["vault-signature"]!, after.body, 300, now()),
    ).toBe(true);
    expect(
      verifyVaultWebhook(created.secret, after.headers["vault-signature"]!, after.body, 300, now()),
    ).toBe(false);
    const shown = await h.request("GET", `${hooks}/${created.webhook.id}`, { token: owner.token });
    expect(shown.body.webhook.previousSecretUntil).toBeNull();
    const tooLong = await h.request("POST", `${hooks}/${created.webhook.id}/rotate-secret`, {
      token: owner.token,
      body: { keepPreviousHours: 73 },
    });
    expect(tooLong.status).toBe(400);
    await stop(receiver);
  });
});

describe("webhooks: who may manage them", () => {
  it("only owners and instance admins manage webhooks: a writer gets 403, a non-member 404, a token 403", async () => {
    const { h, receiver, owner, project, hooks } = await setup();
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    const writer = await h.user("writer@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: writer.email, permissions: { development: "write", production: "write" } },
    });
    const stranger = await h.user("stranger@example.com");
    const token = (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: "ci", environments: ["production"], write: true },
      })
    ).body.token;
    const attempts: [string, string, unknown?][] = [
      ["GET", hooks],
      ["POST", hooks, { url: receiver.url }],
      ["GET", `${hooks}/${webhook.id}`],
      ["PATCH", `${hooks}/${webhook.id}`, { enabled: false }],
      ["DELETE", `${hooks}/${webhook.id}`],
      ["POST", `${hooks}/${webhook.id}/rotate-secret`],
      ["POST", `${hooks}/${webhook.id}/ping`],
      ["GET", `${hooks}/${webhook.id}/deliveries`],
    ];
    for (const [method, path, body] of attempts) {
      const asWriter = await h.request(method, path, { token: writer.token, body });
      expect([method, path, asWriter.status, asWriter.body.error?.code]).toEqual([
        method,
        path,
        403,
        "FORBIDDEN",
      ]);
      const asToken = await h.request(method, path, { token, body });
      expect([method, path, asToken.status]).toEqual([method, path, 403]);
      const asStranger = await h.request(method, path, { token: stranger.token, body });
      expect([method, path, asStranger.status]).toEqual([method, path, 404]);
    }
    expect(receiver.received).toHaveLength(0);
    // An instance admin may.
    const admin = await h.user("admin@example.com", "admin");
    expect((await h.request("GET", hooks, { token: admin.token })).body.webhooks).toHaveLength(1);
    const gone = await h.request("DELETE", `${hooks}/${webhook.id}`, { token: owner.token });
    expect(gone.status).toBe(200);
    expect((await h.request("GET", `${hooks}/${webhook.id}`, { token: owner.token })).status).toBe(404);
    await stop(receiver);
  });

  it("a disabled webhook gets nothing until it is enabled again", async () => {
    const { h, receiver, owner, base, hooks } = await setup();
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    const off = await h.request("PATCH", `${hooks}/${webhook.id}`, {
      token: owner.token,
      body: { enabled: false },
    });
    expect(off.body.webhook.enabled).toBe(false);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await dispatch(h);
    expect(receiver.received).toHaveLength(0);
    await h.request("PATCH", `${hooks}/${webhook.id}`, { token: owner.token, body: { enabled: true } });
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=2\n" } });
    await dispatch(h);
    await receiver.waitFor(1);
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]!.body).version).toBe(2);
    // After a restart (a new dispatcher reading the cursor from app.db), version 1 stays undelivered.
    const restarted = createWebhookDispatcher({
      appdb: h.appdb,
      sealer: h.ctx.sealer,
      log: h.ctx.log,
      now: h.clock.now,
      random: h.ctx.random,
      policy: h.ctx.webhooks.policy,
    });
    // Even from a cursor left behind (a crash before it was written), as far back as it can be.
    await h.appdb.webhooks.enqueue([], 0, h.clock.now());
    await restarted.enqueue();
    expect(
      (await h.appdb.webhooks.deliveries(webhook.id, 10)).map((d) => JSON.parse(d.body).version),
    ).toEqual([2]);
    await stop(receiver);
  });

  it("refuses unknown events and environments with a 400 or 404 and a hint", async () => {
    const { h, receiver, owner, hooks } = await setup();
    const badEvent = await h.request("POST", hooks, {
      token: owner.token,
      body: { url: receiver.url, events: ["secrets.read"] },
    });
    expect(badEvent.status).toBe(400);
    expect(badEvent.body.error.hint).toContain("version.created");
    const badEnv = await h.request("POST", hooks, {
      token: owner.token,
      body: { url: receiver.url, environments: ["nope"] },
    });
    expect(badEnv.status).toBe(404);
    await stop(receiver);
  });
});

describe("webhooks: no server-side request forgery", () => {
  const refusedAt = async (
    url: string,
    config: Record<string, unknown> = { webhooksAllowHttp: true },
    resolve?: Resolve,
  ) => {
    const h = await startHarness({ config, resolve });
    const { owner, project } = await projectWith(h);
    const res = await h.request("POST", `/api/v1/projects/${project.id}/webhooks`, {
      token: owner.token,
      body: { url },
    });
    return res;
  };
  const expectRefused = (res: { status: number; body: Json }, kind: string) => {
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("WEBHOOK_URL_REFUSED");
    expect(res.body.error.message).toContain(kind);
    expect(res.body.error.hint).toContain("--webhooks-allow-private");
  };

  it("refuses http:// without --webhooks-allow-http", async () => {
    const res = await refusedAt("http://hooks.example.com/x", {});
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("WEBHOOK_URL_REFUSED");
    expect(res.body.error.hint).toContain("--webhooks-allow-http");
  });
  it("refuses http://127.0.0.1 (loopback)", async () => {
    expectRefused(await refusedAt("http://127.0.0.1:8750/x"), "loopback");
  });
  it("refuses http://[::ffff:127.0.0.1] (loopback, IPv4-mapped IPv6)", async () => {
    expectRefused(await refusedAt("http://[::ffff:127.0.0.1]/x"), "loopback");
  });
  it("refuses http://[::1] and 127.1 written in other forms (http://2130706433, http://0x7f.1)", async () => {
    for (const url of ["http://[::1]/", "http://2130706433/", "http://0x7f.1/", "http://127.000.000.001/"])
      expectRefused(await refusedAt(url), "loopback");
  });
  it("refuses localhost, which resolves to loopback", async () => {
    expectRefused(await refusedAt("http://localhost:8750/x"), "loopback");
  });
  it("refuses a name that resolves to a private 10.x address", async () => {
    const resolve = async (host: string) =>
      host === "internal.example.com" ? [{ address: "10.1.2.3", family: 4 }] : [];
    const res = await refusedAt("https://internal.example.com/x", {}, resolve);
    expectRefused(res, "private");
    expect(res.body.error.message).not.toContain("10.1.2.3");
  });
  it("refuses a name when any one of its addresses is private", async () => {
    const resolve = async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "fd00::5", family: 6 },
    ];
    expectRefused(await refusedAt("https://mixed.example.com/x", {}, resolve), "private");
  });
  it("refuses the cloud metadata address 169.254.169.254 and IPv6 link-local (link-local)", async () => {
    expectRefused(await refusedAt("http://169.254.169.254/latest/meta-data/"), "link-local");
    expectRefused(await refusedAt("http://[fe80::1]/"), "link-local");
  });
  it("refuses private ranges 10/8, 172.16/12, 192.168/16, fc00::/7 and their IPv4-mapped forms", async () => {
    for (const url of [
      "http://10.0.0.1/",
      "http://172.16.5.4/",
      "http://172.31.255.255/",
      "http://192.168.1.1/",
      "http://[fc00::1]/",
      "http://[fd12:3456::1]/",
      "http://[::ffff:10.0.0.1]/",
      "http://[::ffff:c0a8:101]/",
    ])
      expectRefused(await refusedAt(url), "private");
  });
  it("refuses CGNAT 100.64/10, 0.0.0.0/8, multicast, and IPv4 inside IPv4-compatible or NAT64 IPv6", async () => {
    expectRefused(await refusedAt("http://100.64.0.1/"), "CGNAT");
    expectRefused(await refusedAt("http://0.0.0.0/"), "this network");
    expectRefused(await refusedAt("http://224.0.0.1/"), "multicast");
    expectRefused(await refusedAt("http://[ff02::1]/"), "multicast");
    expectRefused(await refusedAt("http://[::10.0.0.1]/"), "private");
    expectRefused(await refusedAt("http://[64:ff9b::7f00:1]/"), "loopback");
  });
  it("refuses a URL with a user name or password, and a name that does not resolve", async () => {
    const creds = await refusedAt("https://user:pass@hooks.example.com/", {}, async () => [
      { address: "93.184.216.34", family: 4 },
    ]);
    expect(creds.status).toBe(400);
    expect(JSON.stringify(creds.body)).not.toContain("pass@");
    const unresolved = await refusedAt("https://nowhere.invalid/", {}, async () => []);
    expect(unresolved.status).toBe(400);
    expect(unresolved.body.error.code).toBe("WEBHOOK_URL_REFUSED");
  });
  it("lets through public addresses, and a private range only when --webhooks-allow-private names it", () => {
    expect(refusedAddress("93.184.216.34", [])).toBeUndefined();
    expect(refusedAddress("2606:2800:220:1:248:1893:25c8:1946", [])).toBeUndefined();
    expect(refusedAddress("172.32.0.1", [])).toBeUndefined();
    expect(refusedAddress("10.1.2.3", [])).toBe("a private address");
    expect(refusedAddress("10.1.2.3", [parseIpRange("10.1.2.0/24")])).toBeUndefined();
    expect(refusedAddress("::ffff:10.1.2.3", [parseIpRange("10.1.2.0/24")])).toBeUndefined();
    expect(refusedAddress("10.1.3.3", [parseIpRange("10.1.2.0/24")])).toBe("a private address");
  });

  it("checks the address again at each attempt: a name that now resolves to a private address (DNS rebinding) is refused, never connected to", async () => {
    let answer = "93.184.216.34";
    const resolve = async () => [{ address: answer, family: 4 }];
    const { h, receiver, owner, hooks } = await setup({ resolve });
    const { webhook } = await addHook(h, hooks, owner.token, {
      url: `http://rebind.example.com:${receiver.port}/hook`,
    });
    answer = "127.0.0.2";
    const res = await h.request("POST", `${hooks}/${webhook.id}/ping`, { token: owner.token });
    expect(res.body.delivery).toMatchObject({
      state: "pending",
      lastStatus: null,
      lastError: "REFUSED_ADDRESS",
    });
    expect(receiver.received).toHaveLength(0);
    await stop(receiver);
  });

  it("refuses at each attempt what the server no longer allows: http:// after --webhooks-allow-http is gone, a range no longer allowed", async () => {
    const { h, receiver, owner, hooks } = await setup();
    const { webhook } = await addHook(h, hooks, owner.token, { url: receiver.url });
    const policy = h.ctx.webhooks.policy as { allowHttp: boolean; allowPrivate: unknown[] };
    policy.allowHttp = false;
    const noHttp = await h.request("POST", `${hooks}/${webhook.id}/ping`, { token: owner.token });
    expect(noHttp.body.delivery).toMatchObject({ state: "pending", lastError: "REFUSED_SCHEME" });
    policy.allowHttp = true;
    policy.allowPrivate = [];
    const noLoopback = await h.request("POST", `${hooks}/${webhook.id}/ping`, { token: owner.token });
    expect(noLoopback.body.delivery).toMatchObject({ state: "pending", lastError: "REFUSED_ADDRESS" });
    expect(receiver.received).toHaveLength(0);
    await stop(receiver);
  });

  it("delivers over https with the certificate checked against the URL's host: an untrusted certificate is a failed attempt (TLS)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vault-hooks-tls-"));
    const { cert, key } = selfSignedCert(dir);
    const got: string[] = [];
    const tls = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: Bun.file(cert), key: Bun.file(key) },
      fetch: async (r) => {
        got.push(await r.text());
        return new Response("ok");
      },
    });
    const resolve: Resolve = async (host) =>
      host === "localhost" ? [{ address: "127.0.0.1", family: 4 }] : [];
    const { h, receiver, owner, hooks } = await setup({ resolve, config: { webhooksAllowHttp: false } });
    const { webhook } = await addHook(h, hooks, owner.token, { url: `https://localhost:${tls.port}/hook` });
    const untrusted = await h.request("POST", `${hooks}/${webhook.id}/ping`, { token: owner.token });
    expect(untrusted.body.delivery).toMatchObject({ state: "pending", lastStatus: null, lastError: "TLS" });
    expect(got).toHaveLength(0);
    // The same delivery through a dispatcher that trusts the certificate: delivered, over TLS.
    const trusting = createWebhookDispatcher({
      appdb: h.appdb,
      sealer: h.ctx.sealer,
      log: h.ctx.log,
      now: h.clock.now,
      random: h.ctx.random,
      policy: h.ctx.webhooks.policy,
      resolve,
      ca: readFileSync(cert, "utf8"),
    });
    await trusting.attemptNow(untrusted.body.delivery.id);
    expect(got).toHaveLength(1);
    expect((await h.appdb.webhooks.delivery(untrusted.body.delivery.id))?.state).toBe("delivered");
    tls.stop(true);
    rmSync(dir, { recursive: true, force: true });
    await stop(receiver);
  });

  it("connects to the address it checked, with the URL's host name in the Host header", async () => {
    const resolve = async (host: string) =>
      host === "hooks.test" ? [{ address: "127.0.0.1", family: 4 }] : [];
    const { h, receiver, owner, hooks } = await setup({ resolve });
    const { webhook } = await addHook(h, hooks, owner.token, {
      url: `http://hooks.test:${receiver.port}/hook`,
    });
    const res = await h.request("POST", `${hooks}/${webhook.id}/ping`, { token: owner.token });
    expect(res.body.delivery.state).toBe("delivered");
    expect(receiver.received[0]!.headers.host).toBe(`hooks.test:${receiver.port}`);
    await stop(receiver);
  });
});
