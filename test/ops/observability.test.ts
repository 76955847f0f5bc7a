/**
 * /metrics and the request log, in process: the Prometheus text parses, its
 * labels are route templates (no project, environment or key name, no id),
 * requests carry an id that is echoed, and no log line at any level holds a
 * pushed value or a token.
 */
import { describe, expect, it } from "bun:test";
import { createLogger, type LogLevel } from "../../src/log";
import { createServer } from "../../src/server";
import {
  countAuditEvents,
  createServerMetrics,
  instrumentKeeper,
  serverGauges,
} from "../../src/server/metrics";
import { observedHandler } from "../../src/server/request-log";
import { type Json, PASSWORD, startHarness } from "../server/harness";
import { parsePrometheus } from "./prometheus";

const PROJECT = "zebra-orchard-project";
const ENV = "quokkastage";
const KEYS = ["PLATYPUS_DSN", "NARWHAL_SECRET"];
const VALUES = ["v4lue-marmot-91f2", "v4lue-lynx-77aa"];

async function observed(level: LogLevel = "debug", format: "json" | "pretty" = "json") {
  const lines: string[] = [];
  const h = await startHarness({
    keeper: (k) => k,
  });
  const log = createLogger({ level, format, write: (line) => lines.push(line) });
  const metrics = createServerMetrics();
  const ctx = { ...h.ctx, log, keeper: instrumentKeeper(h.ctx.keeper, metrics) };
  serverGauges(metrics, ctx);
  countAuditEvents(metrics, ctx.audit);
  const app = createServer(ctx, metrics);
  const handle = observedHandler({ handle: (r) => app.handle(r), metrics, log });
  const call = async (
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const res = await handle(
      new Request(`http://localhost${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      }),
    );
    const text = await res.text();
    let body: Json = text;
    try {
      body = JSON.parse(text);
    } catch {
      // text
    }
    return { status: res.status, body, headers: res.headers };
  };
  return { h, lines, call, logs: () => [...h.logs, ...lines].join("") };
}

/** A realistic session: sign-in, a project, an environment, a push, pulls, a wrong password, a rotation. */
async function exercise(o: Awaited<ReturnType<typeof observed>>) {
  await o.h.user("owner@example.com", "owner");
  const login = await o.call("POST", "/api/v1/auth/login", {
    body: { email: "owner@example.com", password: PASSWORD },
  });
  expect(login.status).toBe(200);
  const token = login.body.token as string;
  const project = await o.call("POST", "/api/v1/projects", { token, body: { name: PROJECT } });
  expect(project.status).toBe(201);
  const id = project.body.id as string;
  const base = `/api/v1/projects/${id}/environments`;
  expect((await o.call("POST", base, { token, body: { name: ENV } })).status).toBe(201);
  const dotenv = KEYS.map((k, i) => `${k}=${VALUES[i]}\n`).join("");
  const push = await o.call("PUT", `${base}/${ENV}/secrets`, { token, body: { dotenv } });
  expect(push.status).toBeLessThan(300);
  const pull = await o.call("GET", `${base}/${ENV}/secrets`, { token });
  expect(pull.status).toBe(200);
  expect(JSON.stringify(pull.body)).toContain(VALUES[0]!);
  await o.call("GET", `${base}/${ENV}/secrets?format=json`, { token });
  await o.call("GET", `${base}/${ENV}/versions`, { token });
  await o.call("GET", `/api/v1/projects/${id}/environments/${KEYS[0]}/secrets`, { token });
  await o.call("GET", `/no/such/${PROJECT}/route`, { token });
  await o.call("POST", "/api/v1/auth/login", {
    body: { email: "owner@example.com", password: `${VALUES[1]}-wrong` },
  });
  await o.h.keeper.rotate();
  return { token, id };
}

describe("/metrics", () => {
  it("parses as Prometheus text and labels requests by route template, method and status", async () => {
    const o = await observed();
    const { id } = await exercise(o);
    const res = await o.call("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const samples = parsePrometheus(res.body as string);
    const requests = samples.filter((s) => s.name === "vault_http_requests_total");
    expect(requests.length).toBeGreaterThan(3);
    const routes = new Set(requests.map((s) => s.labels.route));
    expect(routes.has("/api/v1/projects/:projectId/environments/:env/secrets")).toBe(true);
    expect(routes.has("(unmatched)")).toBe(true);
    const statuses = new Set(requests.map((s) => s.labels.status));
    expect(statuses.has("200")).toBe(true);
    expect(statuses.has("401")).toBe(true);
    expect(statuses.has("404")).toBe(true);
    const histogram = samples.filter((s) => s.name === "vault_http_request_duration_seconds_bucket");
    expect(histogram.some((s) => s.labels.le === "+Inf")).toBe(true);
    const keeperCalls = samples.filter((s) => s.name === "vault_keeper_round_trips_total");
    expect(keeperCalls.some((s) => s.labels.op === "put" && s.labels.outcome === "ok")).toBe(true);
    const value = (name: string) => samples.find((s) => s.name === name)?.value;
    expect(value("vault_keeper_up")).toBe(1);
    expect(value("vault_keeper_rotations")).toBe(1);
    expect(value("vault_keeper_values")).toBeGreaterThan(0);
    expect(value("vault_audit_queue_depth")).toBe(0);
    expect(value("vault_snapshot_cache_entries")).toBeGreaterThanOrEqual(0);
    expect(samples.some((s) => s.name === "vault_keeper_reseal_remaining")).toBe(true);
    const failed = samples.find(
      (s) => s.name === "vault_audit_events_total" && s.labels.action === "auth.login_failed",
    );
    expect(failed?.value).toBe(1);

    for (const secret of [PROJECT, ENV, ...KEYS, ...VALUES, id, id.slice(4)]) {
      expect(res.body as string).not.toContain(secret);
    }
  });

  it("counts lockouts", async () => {
    const o = await observed();
    await o.h.user("lock@example.com");
    for (let i = 0; i < 5; i++) {
      await o.call("POST", "/api/v1/auth/login", {
        body: { email: "lock@example.com", password: "nope-nope" },
      });
    }
    const samples = parsePrometheus((await o.call("GET", "/metrics")).body as string);
    const lockouts = samples.find(
      (s) => s.name === "vault_audit_events_total" && s.labels.action === "auth.lockout",
    );
    expect(lockouts?.value).toBe(1);
    expect(
      samples.find(
        (s) =>
          s.name === "vault_http_requests_total" && s.labels.status === "423" && s.labels.method === "POST",
      )?.labels.route,
    ).toBe("/api/v1/auth/login");
  });
});

describe("the request log", () => {
  it("gives each request an id, echoes a client's id, and logs it with the route template", async () => {
    const o = await observed("info");
    const mine = await o.call("GET", "/healthz", { headers: { "x-request-id": "trace-0123456789" } });
    expect(mine.headers.get("x-request-id")).toBe("trace-0123456789");
    const made = await o.call("GET", "/api/v1/projects", {
      headers: { "x-request-id": "bad id with spaces" },
    });
    const id = made.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    const line = o.lines.map((l) => JSON.parse(l)).find((l) => l.requestId === id);
    expect(line).toMatchObject({
      level: "info",
      msg: "request",
      method: "GET",
      route: "/api/v1/projects",
      status: 401,
    });
    expect(typeof line.ms).toBe("number");
  });

  for (const level of ["debug", "info", "warn", "error"] as const) {
    for (const format of ["json", "pretty"] as const) {
      it(`holds no pushed value, token or name in a URL at level ${level} (${format})`, async () => {
        const o = await observed(level, format);
        const { token } = await exercise(o);
        const text = o.logs();
        if (level === "debug") expect(text).toContain("request");
        for (const secret of [...VALUES, token, PASSWORD, `${VALUES[1]}-wrong`, token.slice(-16)]) {
          expect(text).not.toContain(secret);
        }
        if (format === "json") for (const l of o.lines) JSON.parse(l);
      });
    }
  }
});
