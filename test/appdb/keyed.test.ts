/**
 * Upgrading app.db to keyed hashes (migration 0003, src/appdb/keyed.ts): a
 * database of the previous release keeps its credentials and its audit chain,
 * and a database rolled back to look like one is refused where it was seen
 * keyed. The "previous release" database is built here the way that release
 * wrote it: migrations 0000-0002, credential rows holding SHA-256 hex, audit
 * rows chained with plain SHA-256 and a head without a MAC.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditEvent, appDbAtRestKey, GENESIS, hashEvent, macEvent, openAppDb } from "../../src/appdb";
import { hashKeys } from "../../src/appdb/keyed";
import { migrations } from "../../src/appdb/migrations";
import { appliedMigrations, migrate, newKey, openDatabase, readKeyFile, writeKeyFile } from "../../src/db";
import { authenticate } from "../../src/server/auth/caller";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const T0 = Date.UTC(2030, 0, 1);
const SESSION = `vss_${"a1".repeat(32)}`;
const ME = `me_${"b2".repeat(32)}`;
const SERVICE = `vst_${"c3".repeat(32)}`;

const event = (i: number): AuditEvent => ({
  at: T0 + i,
  action: i === 1 ? "user.add" : "auth.login",
  actorKind: "user",
  actorId: "usr_000000000000000000000001",
  actorLabel: "old@example.com",
  projectId: null,
  environmentId: null,
  detail: JSON.stringify({ n: i }),
  ip: "127.0.0.1",
});

/** A data directory whose app.db is as the previous release left it. */
async function previousRelease(): Promise<{ dataDir: string; appDb: string; appKeyFile: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "vault-keyed-"));
  dirs.push(dataDir);
  mkdirSync(join(dataDir, "app"), { mode: 0o700 });
  const appKeyFile = join(dataDir, "app", "app.key");
  const appDb = join(dataDir, "app", "app.db");
  writeKeyFile(appKeyFile, newKey());
  const db = await openDatabase({
    location: appDb,
    atRestKey: appDbAtRestKey(readKeyFile(appKeyFile, "app key")),
    label: "app.db",
  });
  try {
    await migrate(
      db,
      migrations.filter((m) => m.name < "0003"),
    );
    const run = (sql: string, args: (string | number | null)[]) => db.client.execute({ sql, args });
    await run(
      "INSERT INTO users (id, email, password_hash, role, must_change_password, created_at) VALUES (?, ?, ?, 'owner', 0, ?)",
      ["usr_000000000000000000000001", "old@example.com", "$argon2id$unused", T0],
    );
    await run("INSERT INTO projects (id, name, created_at) VALUES (?, 'old', ?)", [
      `vlt_${"0".repeat(64)}`,
      T0,
    ]);
    const token = (id: string, kind: string, secret: string, user: string | null, project: string | null) =>
      run(
        "INSERT INTO tokens (id, kind, hash, user_id, project_id, environments, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
          id,
          kind,
          sha256(secret),
          user,
          project,
          kind === "service" ? "[]" : null,
          "usr_000000000000000000000001",
          T0,
          kind === "session" ? T0 + 3_600_000 : null,
        ],
      );
    await token("tok_000000000000000000000001", "session", SESSION, "usr_000000000000000000000001", null);
    await token(
      "tok_000000000000000000000002",
      "me",
      ME,
      "usr_000000000000000000000001",
      `vlt_${"0".repeat(64)}`,
    );
    await token("tok_000000000000000000000003", "service", SERVICE, null, `vlt_${"0".repeat(64)}`);
    let prev = GENESIS;
    for (let seq = 1; seq <= 3; seq++) {
      const e = event(seq);
      const hash = hashEvent(seq, prev, e);
      await run(
        "INSERT INTO audit (seq, at, action, actor_kind, actor_id, actor_label, project_id, environment_id, detail, ip, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, e.at, e.action, e.actorKind, e.actorId, e.actorLabel, null, null, e.detail, e.ip, prev, hash],
      );
      prev = hash;
    }
    await run("INSERT INTO meta (key, value, updated_at) VALUES ('audit_head', ?, ?)", [
      JSON.stringify({ seq: 3, hash: prev }),
      T0,
    ]);
  } finally {
    db.close();
  }
  return { dataDir, appDb, appKeyFile };
}

describe("upgrading app.db to keyed hashes", () => {
  it("keeps the previous release's sessions, me_ credentials and service tokens working, and its audit chain verifying", async () => {
    const files = await previousRelease();
    const appdb = await openAppDb({ ...files, appDbAuthTokenFile: undefined });
    try {
      expect(await appliedMigrations(appdb.database)).toContain("0003_keyed_hashes");
      const ctx = { appdb, now: () => T0 + 1_000 };
      expect((await authenticate(ctx, `Bearer ${SESSION}`)).kind).toBe("session");
      expect((await authenticate(ctx, `Bearer ${ME}`)).kind).toBe("me");
      expect((await authenticate(ctx, `Bearer ${SERVICE}`)).kind).toBe("service");
      // No row holds the bare SHA-256 any more: planting one is what the keying stops.
      for (const secret of [SESSION, ME, SERVICE])
        expect(await appdb.tokens.byHash(sha256(secret))).toBeUndefined();

      expect(await appdb.audit.verify()).toEqual({ ok: true, rows: 3 });
      await appdb.audit.append([event(4), event(5)], T0 + 5);
      expect(await appdb.audit.verify()).toEqual({ ok: true, rows: 5 });
      // The old rows kept their SHA-256 hashes; the new ones are keyed.
      const rows = (await appdb.audit.list({ limit: 10 })).reverse();
      expect(rows[2]!.hash).toBe(hashEvent(3, rows[2]!.prevHash, rows[2]!));
      const key = hashKeys(readKeyFile(files.appKeyFile, "app key")).audit;
      expect(rows[3]!.hash).toBe(macEvent(key, 4, rows[3]!.prevHash, rows[3]!));
      expect(rows[3]!.prevHash).toBe(rows[2]!.hash);
    } finally {
      appdb.close();
    }
  });

  it("freezes the unkeyed rows: rewriting them after the upgrade with SHA-256 fails verify", async () => {
    const files = await previousRelease();
    const appdb = await openAppDb({ ...files, appDbAuthTokenFile: undefined });
    try {
      const client = appdb.database.client;
      // Edit row 2 and recompute rows 2..3 the way the old chain was computed: consistent, but not what was anchored.
      let prev = String((await client.execute("SELECT hash FROM audit WHERE seq = 1")).rows[0]!.hash);
      for (const seq of [2, 3]) {
        const e = { ...event(seq), detail: JSON.stringify({ n: seq, forged: true }) };
        const hash = hashEvent(seq, prev, e);
        await client.execute({
          sql: "UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
          args: [e.detail, prev, hash, seq],
        });
        prev = hash;
      }
      expect(await appdb.audit.verify()).toMatchObject({
        ok: false,
        seq: 3,
        problem: expect.stringContaining("rewritten"),
      });
    } finally {
      appdb.close();
    }
  });

  it("leaves tampering done before the upgrade as visible as it was", async () => {
    const files = await previousRelease();
    const db = await openDatabase({
      location: files.appDb,
      atRestKey: appDbAtRestKey(readKeyFile(files.appKeyFile, "app key")),
      label: "app.db",
    });
    await db.client.execute("UPDATE audit SET action = 'forged' WHERE seq = 2");
    db.close();
    const appdb = await openAppDb({ ...files, appDbAuthTokenFile: undefined });
    try {
      expect(await appdb.audit.verify()).toMatchObject({ ok: false, seq: 2, problem: "row 2 was edited" });
    } finally {
      appdb.close();
    }
  });

  it("refuses an app.db rolled back to look unkeyed where this data directory saw it keyed, and changes nothing", async () => {
    const files = await previousRelease();
    const config = { ...files, appDbAuthTokenFile: undefined };
    const note = join(files.dataDir, "app", "app-db.keyed");
    (await openAppDb(config)).close();
    expect(existsSync(note)).toBe(true);

    // The writer removes every trace of 0003 and plants a session row of their own, as the old release stored it.
    const db = await openDatabase({
      location: files.appDb,
      atRestKey: appDbAtRestKey(readKeyFile(files.appKeyFile, "app key")),
      label: "app.db",
    });
    const planted = `vss_${"d4".repeat(32)}`;
    await db.client.batch(
      [
        "DELETE FROM _migrations WHERE name = '0003_keyed_hashes'",
        "DELETE FROM meta WHERE key IN ('audit_anchor', 'hash_scheme')",
        {
          sql: "UPDATE meta SET value = json_remove(value, '$.mac') WHERE key = 'audit_head'",
          args: [],
        },
        {
          sql: "INSERT INTO tokens (id, kind, hash, user_id, created_at, expires_at) VALUES ('tok_00000000000000000000000f', 'session', ?, 'usr_000000000000000000000001', ?, ?)",
          args: [sha256(planted), T0, T0 + 3_600_000],
        },
      ],
      "write",
    );
    const before = JSON.stringify((await db.client.execute("SELECT id, hash FROM tokens ORDER BY id")).rows);
    db.close();

    await expect(openAppDb(config)).rejects.toThrow(/has seen it keyed .*app-db\.keyed/);
    const after = await openDatabase({
      location: files.appDb,
      atRestKey: appDbAtRestKey(readKeyFile(files.appKeyFile, "app key")),
      label: "app.db",
    });
    try {
      expect(await appliedMigrations(after)).not.toContain("0003_keyed_hashes");
      expect(
        JSON.stringify((await after.client.execute("SELECT id, hash FROM tokens ORDER BY id")).rows),
      ).toBe(before);
    } finally {
      after.close();
    }
  });

  it("a new, empty app.db is fine in a data directory that saw the old one keyed", async () => {
    const files = await previousRelease();
    const config = { ...files, appDbAuthTokenFile: undefined };
    (await openAppDb(config)).close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(files.appDb + suffix, { force: true });
    const appdb = await openAppDb(config);
    try {
      expect(await appdb.audit.verify()).toEqual({ ok: true, rows: 0 });
    } finally {
      appdb.close();
    }
  });
});
