/**
 * An application server in process, on real libsql files and a real keeper
 * in a fresh temporary directory, driven through `app.handle(request)`.
 * Both roles in one process is for tests only; the product never does it.
 */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AppDb, openAppDb } from "../../src/appdb";
import { createLogger } from "../../src/log";
import { type AppContext, createAppContext, createServer, createUserService } from "../../src/server";
import { type KeeperApi, openKeeper } from "../../src/vault";
import { keeperConfig } from "../helpers/keeper-config";

const made: string[] = [];
const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Parsed JSON answers, read loosely by the tests. */
// biome-ignore lint/suspicious/noExplicitAny: tests read answers by path and assert on them.
export type Json = any;

export interface Harness {
  dir: string;
  appdb: AppDb;
  keeper: KeeperApi;
  ctx: AppContext;
  app: ReturnType<typeof createServer>;
  /** Log lines the server wrote. */
  logs: string[];
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Json; headers: Headers }>;
  /** Creates a user directly and signs them in; returns their session token. */
  user(
    email: string,
    role?: "owner" | "admin" | "member",
  ): Promise<{ token: string; id: string; email: string }>;
  clock: { now: () => number; advance(ms: number): void };
}

export const PASSWORD = "correct horse battery staple";

export async function startHarness(
  options: {
    keeper?: (k: KeeperApi) => KeeperApi;
    cacheTtlMs?: number;
    /** More configuration (single sign-on, --password-login). */
    config?: Partial<AppContext["config"]>;
    /** Where the clock starts (default 2030-01-01). */
    start?: number;
    /** The app's outgoing requests (to an OpenID provider). */
    fetch?: typeof fetch;
    /** Told of each keeper transaction that stores new values, with the number of puts it holds. */
    onKeeperCommit?: (puts: number) => void;
    /** How webhook hosts resolve (node's DNS by default). */
    resolve?: Parameters<typeof createAppContext>[0]["resolve"];
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "vault-app-"));
  made.push(dir);
  let t = options.start ?? Date.UTC(2030, 0, 1);
  const clock = {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
  const appdb = await openAppDb({
    appDb: join(dir, "app", "app.db"),
    appKeyFile: join(dir, "app", "app.key"),
    appDbAuthTokenFile: undefined,
  });
  const realKeeper = await openKeeper({
    config: keeperConfig(dir),
    onCommit: options.onKeeperCommit,
  });
  closers.push(
    () => realKeeper.close(),
    () => appdb.close(),
  );
  const keeper = options.keeper ? options.keeper(realKeeper) : realKeeper;
  const logs: string[] = [];
  const log = createLogger({ level: "debug", format: "json", write: (line) => logs.push(line) });
  const ctx = createAppContext({
    appdb,
    keeper,
    log,
    now: clock.now,
    config: {
      publicUrl: "http://localhost:8750",
      tlsCertFile: undefined,
      behindProxy: false,
      gcGraceMs: 3_600_000,
      rateLimitAddress: 200,
      rateLimitCredential: 100,
      cacheTtlMs: options.cacheTtlMs ?? 60_000,
      ...options.config,
    },
    fetch: options.fetch,
    resolve: options.resolve,
  });
  const app = createServer(ctx);
  const request: Harness["request"] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | Uint8Array | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      headers["content-type"] ??= "application/json";
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  const users = createUserService({ appdb, audit: ctx.audit, now: clock.now, random: ctx.random });
  const user: Harness["user"] = async (email, role = "member") => {
    const { user } = await users.add({ email, role, password: PASSWORD });
    const res = await request("POST", "/api/v1/auth/login", { body: { email, password: PASSWORD } });
    if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
    return { token: res.body.token as string, id: user.id, email };
  };
  return { dir, appdb, keeper, ctx, app, logs, request, user, clock };
}
