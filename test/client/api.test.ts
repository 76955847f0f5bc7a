/**
 * The typed API client against the real application in process
 * (test/server/harness.ts), and against sockets that misbehave.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { ClientError, createApiClient, normalizeBaseUrl } from "../../src/client";
import { EXIT, exitCodeOf } from "../../src/exit-codes";
import { freePort } from "../helpers/serve";
import { type Harness, PASSWORD, startHarness } from "../server/harness";

let h: Harness;
let token: string;
const api = (t?: string) =>
  createApiClient({ baseUrl: "http://localhost", token: t, fetch: (request) => h.app.handle(request) });

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ClientError);
    return error as ClientError;
  }
  throw new Error("expected a ClientError");
}

beforeAll(async () => {
  h = await startHarness();
  token = (await h.user("owner@example.com", "owner")).token;
});

describe("createApiClient", () => {
  it("signs in, and answers typed values with the session", async () => {
    const login = await api().auth.login("owner@example.com", PASSWORD);
    expect(login.token).toMatch(/^vss_[0-9a-f]{64}$/);
    expect(login.user.email).toBe("owner@example.com");
    const me = await api(login.token).auth.me();
    expect(me.kind).toBe("session");
    const project = await api(token).projects.create("shop");
    expect(project.id).toMatch(/^vlt_/);
    expect(project.environments.map((e) => e.name)).toContain("development");
    const pushed = await api(token).secrets.push(project.id, "development", {
      dotenv: "A=1\nB=2\n",
      baseVersion: 0,
    });
    expect(pushed).toMatchObject({ environment: "development", version: 1, unchanged: false });
    expect((await api(token).secrets.pullFile(project.id, "development")).dotenv).toBe("A=1\nB=2\n");
    expect((await api(token).secrets.pullValues(project.id, "development")).values).toEqual({
      A: "1",
      B: "2",
    });
    expect((await api(token).secrets.getKey(project.id, "development", "B")).values).toEqual({ B: "2" });
  });

  it("maps a wrong password to INVALID_CREDENTIALS with its status and hint, and exit code 3", async () => {
    const error = await failure(api().auth.login("owner@example.com", "wrong password"));
    expect(error.code).toBe("INVALID_CREDENTIALS");
    expect(error.status).toBe(401);
    expect(error.hint).toBeString();
    expect(error.message).not.toContain("wrong password");
    expect(exitCodeOf(error)).toBe(EXIT.auth);
  });

  it("maps an unknown project to NOT_FOUND (exit code 4) and a stale base version to VERSION_CONFLICT (exit code 5)", async () => {
    const missing = await failure(api(token).projects.get(`vlt_${"0".repeat(64)}`));
    expect(missing.code).toBe("NOT_FOUND");
    expect(exitCodeOf(missing)).toBe(EXIT.notFound);
    const project = await api(token).projects.create("conflicts");
    await api(token).secrets.push(project.id, "development", { dotenv: "A=1\n", baseVersion: 0 });
    const stale = await failure(
      api(token).secrets.push(project.id, "development", { dotenv: "A=2\n", baseVersion: 0 }),
    );
    expect(stale.code).toBe("VERSION_CONFLICT");
    expect(stale.status).toBe(409);
    expect(exitCodeOf(stale)).toBe(EXIT.conflict);
    expect(stale.details.method).toBe("PUT");
    expect(stale.details.path).toContain("/environments/development/secrets");
  });

  it("says UNAUTHENTICATED without a credential, and sends none when it has none", async () => {
    const seen: (string | null)[] = [];
    const spy = createApiClient({
      baseUrl: "http://localhost",
      fetch: (request) => {
        seen.push(request.headers.get("authorization"));
        return h.app.handle(request);
      },
    });
    const error = await failure(spy.projects.list());
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(exitCodeOf(error)).toBe(EXIT.auth);
    expect(seen).toEqual([null]);
  });

  it("reports a server that cannot be reached as NETWORK (exit code 6), a fallback case", async () => {
    const port = await freePort();
    const error = await failure(
      createApiClient({ baseUrl: `http://127.0.0.1:${port}`, token }).projects.list(),
    );
    expect(error.code).toBe("NETWORK");
    expect(error.unreachable).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(exitCodeOf(error)).toBe(EXIT.network);
  });

  it("gives up on a server that never answers after the timeout, as TIMEOUT", async () => {
    const stuck = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
    try {
      const t0 = Date.now();
      const error = await failure(
        createApiClient({ baseUrl: `http://127.0.0.1:${stuck.port}`, timeoutMs: 200 }).projects.list(),
      );
      expect(error.code).toBe("TIMEOUT");
      expect(error.unreachable).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      stuck.stop(true);
    }
  });

  it("calls an answer that is not the API's a BAD_RESPONSE, and a proxy's 502 page unreachable", async () => {
    const proxy = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) =>
        new URL(req.url).pathname.includes("projects")
          ? new Response("<html>ok</html>", { status: 200 })
          : new Response("<html>Bad Gateway</html>", { status: 502 }),
    });
    try {
      const client = createApiClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, token });
      const html = await failure(client.projects.list());
      expect(html.code).toBe("BAD_RESPONSE");
      expect(exitCodeOf(html)).toBe(EXIT.server);
      const gateway = await failure(client.auth.me());
      expect(gateway.status).toBe(502);
      expect(gateway.unreachable).toBe(true);
    } finally {
      proxy.stop(true);
    }
  });
});

describe("normalizeBaseUrl", () => {
  it("keeps a path prefix and drops trailing slashes", () => {
    expect(normalizeBaseUrl("https://vault.example.com/")).toBe("https://vault.example.com");
    expect(normalizeBaseUrl("https://example.com/vault//")).toBe("https://example.com/vault");
    expect(normalizeBaseUrl("http://127.0.0.1:8750")).toBe("http://127.0.0.1:8750");
  });

  it("refuses what is not an http(s) URL, and URLs that carry a password", () => {
    expect(() => normalizeBaseUrl("vault.example.com")).toThrow(ClientError);
    expect(() => normalizeBaseUrl("ftp://vault.example.com")).toThrow(/http/);
    expect(() => normalizeBaseUrl("https://user:pw@vault.example.com")).toThrow(/password/);
  });
});
