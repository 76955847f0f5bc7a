/**
 * Remote mode: app.db and vault.db on two libsql servers (Hrana-over-HTTP
 * fixtures standing in for sqld/Turso), one reached by `http://` and one by
 * `libsql://` (with `?tls=0`), with auth tokens from files. The application
 * flow runs unchanged: the same migrations, push, pull, versions, rotation
 * with re-seal and retirement, garbage collection.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openAppDb } from "../../src/appdb";
import { openDatabase } from "../../src/db";
import { createLogger } from "../../src/log";
import { collectGarbage, createAppContext, createServer, createUserService } from "../../src/server";
import { openKeeper } from "../../src/vault";
import { RETIRE_GRACE_MS } from "../../src/vault/lease";
import { type HranaServer, startHranaServer } from "../fixtures/hrana";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "vault-remote-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function remotePair() {
  const dir = tempDir();
  const appServer = startHranaServer({ file: join(dir, "sqld-app.db") });
  const vaultServer = startHranaServer({ file: join(dir, "sqld-vault.db") });
  cleanups.push(
    () => appServer.stop(),
    () => vaultServer.stop(),
  );
  const tokenFile = (server: HranaServer, name: string) => {
    const path = join(dir, name);
    writeFileSync(path, `${server.token}\n`, { mode: 0o600 });
    return path;
  };
  return {
    dir,
    appServer,
    vaultServer,
    appDb: appServer.url,
    appDbAuthTokenFile: tokenFile(appServer, "app-db.token"),
    vaultDb: `libsql://127.0.0.1:${vaultServer.port}?tls=0`,
    vaultDbAuthTokenFile: tokenFile(vaultServer, "vault-db.token"),
  };
}

const PASSWORD = "remote mode password 123";

describe("remote libsql (Hrana over HTTP)", () => {
  it("runs the application flow against two remote databases", async () => {
    const pair = await remotePair();
    const appdb = await openAppDb({
      appDb: pair.appDb,
      appKeyFile: join(pair.dir, "app.key"),
      appDbAuthTokenFile: pair.appDbAuthTokenFile,
    });
    cleanups.push(() => appdb.close());
    let clock = Date.now();
    const keeper = await openKeeper({
      now: () => clock,
      config: {
        rootKeyFile: join(pair.dir, "root.key"),
        vaultDb: pair.vaultDb,
        vaultDbAuthTokenFile: pair.vaultDbAuthTokenFile,
        rotateMinMs: 7 * 86_400_000,
        rotateMaxMs: 30 * 86_400_000,
        rotateCap: 100_000_000,
        resealBatch: 2,
      },
    });
    cleanups.push(() => keeper.close());
    expect(appdb.database.remote).toBe(true);
    expect(pair.appServer.pipelines()).toBeGreaterThan(0);
    expect(pair.vaultServer.pipelines()).toBeGreaterThan(0);

    const log = createLogger({ level: "error", format: "json", write: () => {} });
    const ctx = createAppContext({
      appdb,
      keeper,
      log,
      config: {
        publicUrl: "http://localhost:8750",
        tlsCertFile: undefined,
        behindProxy: false,
        gcGraceMs: 0,
        rateLimitAddress: 0,
        rateLimitCredential: 0,
        cacheTtlMs: 0,
      },
    });
    const app = createServer(ctx);
    const call = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
      // biome-ignore lint/suspicious/noExplicitAny: the test reads answers by path.
      return { status: res.status, body: (await res.json()) as any };
    };
    await createUserService({ appdb, audit: ctx.audit, now: Date.now, random: ctx.random }).add({
      email: "owner@example.com",
      role: "owner",
      password: PASSWORD,
    });
    const login = await call("POST", "/api/v1/auth/login", undefined, {
      email: "owner@example.com",
      password: PASSWORD,
    });
    expect(login.status).toBe(200);
    const token = login.body.token as string;
    const project = await call("POST", "/api/v1/projects", token, { name: "remote" });
    expect(project.status).toBe(201);
    const base = `/api/v1/projects/${project.body.id}/environments/production`;

    const v1 = "# first\nA=1\nB='two'\nC=\"three\"\n";
    const v2 = "# second\nA=1\nB='zwei'\nD=4\n";
    expect((await call("PUT", `${base}/secrets`, token, { dotenv: v1 })).status).toBe(200);
    expect((await call("PUT", `${base}/secrets`, token, { dotenv: v2, baseVersion: 1 })).status).toBe(200);
    expect((await call("GET", `${base}/secrets`, token)).body.dotenv).toBe(v2);
    expect((await call("GET", `${base}/secrets?version=1`, token)).body.dotenv).toBe(v1);
    const versions = await call("GET", `${base}/versions`, token);
    expect(versions.status).toBe(200);
    expect(JSON.stringify(versions.body)).toContain('"version":2');

    // Rotation with re-seal (batches of 2) and retirement, all on the remote vault.db.
    const before = await keeper.stats();
    expect(before.values).toBeGreaterThan(2);
    expect((await keeper.rotate()).term).toBe(2);
    for (let i = 0; i < 20; i++) {
      const report = await keeper.tick();
      if (!report.pending) break;
    }
    // On a shared vault.db the drained term is retired only after a grace (other keepers reload first).
    const drained = await keeper.stats();
    expect(drained.reseal?.remaining).toBe(0);
    expect(drained.terms.find((t) => t.term === 1)?.state).toBe("draining");
    clock += RETIRE_GRACE_MS + 1;
    expect((await keeper.tick()).retired).toEqual([1]);
    const after = await keeper.stats();
    expect(after.reseal).toBeNull();
    expect(after.terms.find((t) => t.term === 1)?.state).toBe("retired");
    expect(after.terms.find((t) => t.term === 2)?.values).toBe(after.values);
    expect((await call("GET", `${base}/secrets`, token)).body.dotenv).toBe(v2);
    expect((await call("GET", `${base}/secrets?version=1`, token)).body.dotenv).toBe(v1);

    // GC: an orphan (a put that no version names) is removed; nothing in use is.
    await keeper.put([new Uint8Array([9, 9, 9])]);
    const gc = await collectGarbage({ appdb, keeper, now: () => clock + 1, graceMs: 0 });
    expect(gc.removed).toBe(1);
    expect((await call("GET", `${base}/secrets`, token)).body.dotenv).toBe(v2);
    expect((await call("GET", `${base}/secrets?version=1`, token)).body.dotenv).toBe(v1);
    const audit = await appdb.audit.verify();
    expect(audit.ok).toBe(true);
  });

  it("refuses a wrong auth token", async () => {
    const pair = await remotePair();
    writeFileSync(pair.appDbAuthTokenFile, "wrong-token\n");
    await expect(
      openAppDb({
        appDb: pair.appDb,
        appKeyFile: join(pair.dir, "app.key"),
        appDbAuthTokenFile: pair.appDbAuthTokenFile,
      }),
    ).rejects.toThrow();
    const db = await openDatabase({ location: pair.appDb, authToken: pair.appServer.token, label: "app.db" });
    expect((await db.client.execute("SELECT 1 AS one")).rows[0]?.one).toBe(1);
    db.close();
  });
});
