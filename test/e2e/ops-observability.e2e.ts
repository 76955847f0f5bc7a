/**
 * Observability of the compiled server: the start-up summary, JSON logs with
 * request ids at every level holding no value or token, and /metrics.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { addUser, type Installed, installBinary, runVault } from "../helpers/binary";
import { freePort, startServe, stopAllServers } from "../helpers/serve";
import { parsePrometheus } from "../ops/prometheus";

let vault: Installed;

beforeAll(() => {
  vault = installBinary();
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

afterEach(stopAllServers);

const PASSWORD = "a long operator password 42";
const VALUE = "pushed-value-okapi-5531";
const KEY = "OKAPI_DATABASE_URL";

let sessions = 0;

async function session(level: string, format: string) {
  const data = join(vault.dir, `data-${level}-${format}-${++sessions}`);
  const server = await startServe({
    bin: vault.bin,
    cwd: vault.dir,
    data,
    args: ["--log-level", level, "--log-format", format],
  });
  await server.waitReady();
  addUser(vault.bin, { cwd: vault.dir, data, email: "owner@example.com", password: PASSWORD, role: "owner" });
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers };
  };
  const login = await call("POST", "/api/v1/auth/login", undefined, {
    email: "owner@example.com",
    password: PASSWORD,
  });
  expect(login.status).toBe(200);
  const token = JSON.parse(login.text).token as string;
  const project = JSON.parse((await call("POST", "/api/v1/projects", token, { name: "walrus-inc" })).text);
  const base = `/api/v1/projects/${project.id}/environments/production/secrets`;
  expect((await call("PUT", base, token, { dotenv: `${KEY}=${VALUE}\n` })).status).toBeLessThan(300);
  const pull = await call("GET", base, token);
  expect(pull.text).toContain(VALUE);
  await call("GET", `${base}?token=${token}`, token);
  await call("POST", "/api/v1/auth/login", undefined, { email: "owner@example.com", password: VALUE });
  return { server, token, call, project };
}

describe("the compiled server's logs", () => {
  it("start with a summary of listeners, data directory, TLS and roles", async () => {
    const { server } = await session("info", "json");
    const lines = server.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    const starting = lines.find((l) => l.msg === "starting");
    expect(starting).toMatchObject({ roles: "keeper, app (supervised)", tls: "off (loopback only)" });
    expect(starting.data).toContain("data-info-json");
    expect(starting.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(lines.some((l) => l.msg === "keeper listening")).toBe(true);
    expect(lines.some((l) => l.msg === "app listening" && l.listen === starting.listen)).toBe(true);
    const requests = lines.filter((l) => l.msg === "request");
    expect(requests.length).toBeGreaterThan(3);
    for (const r of requests) expect(r.requestId).toMatch(/^[0-9a-f]{24}$/);
  });

  for (const level of ["debug", "info", "warn", "error"]) {
    it(`hold no pushed value and no token at level ${level}`, async () => {
      const { server, token } = await session(level, level === "debug" ? "pretty" : "json");
      await server.stop();
      const text = server.stdout + server.stderr;
      for (const secret of [VALUE, token, token.slice(-20), PASSWORD]) expect(text).not.toContain(secret);
      if (level === "debug") expect(text).toContain("request");
    });
  }
});

describe("/metrics on the compiled server", () => {
  it("parses, counts the session's requests, and names no project, environment or key", async () => {
    const { server, call, project } = await session("warn", "json");
    const res = await call("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f]{24}$/);
    const samples = parsePrometheus(res.text);
    expect(samples.find((s) => s.name === "vault_keeper_up")?.value).toBe(1);
    expect(
      samples.some(
        (s) =>
          s.name === "vault_http_requests_total" &&
          s.labels.route === "/api/v1/projects/:projectId/environments/:env/secrets" &&
          s.labels.method === "PUT",
      ),
    ).toBe(true);
    for (const name of ["walrus-inc", "production", KEY, VALUE, project.id])
      expect(res.text).not.toContain(name);
    await server.stop();
  });
});

describe("vault healthcheck (for container health checks)", () => {
  it("exits 0 when the URL answers 200 and 1 when nothing answers", async () => {
    const { server } = await session("error", "json");
    expect(runVault(vault.bin, ["healthcheck", `${server.url}/readyz`], { cwd: vault.dir }).code).toBe(0);
    const closed = runVault(vault.bin, ["healthcheck", `http://127.0.0.1:${await freePort()}/readyz`], {
      cwd: vault.dir,
    });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain("did not answer");
    await server.stop();
  });
});
