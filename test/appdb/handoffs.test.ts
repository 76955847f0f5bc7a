/**
 * A hand-off's bound result is a credential (sealed): once collected, or
 * expired, it must be gone from app.db's files, not only from its row. The
 * old page stays in `app.db-wal` until the WAL wraps around, and in the main
 * file's free space after a checkpoint, unless the repository truncates the
 * WAL and the file overwrites freed space.
 *
 * app.db is encrypted at rest, so grepping it proves nothing: the first tests
 * use a plaintext app.db opened with the product's connection settings
 * (configureLocal), where a leftover byte would be visible; the last checks
 * the real, encrypted file's WAL.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { appDbMigrationHooks, openAppDb } from "../../src/appdb";
import { migrations } from "../../src/appdb/migrations";
import { handoffsRepo } from "../../src/appdb/repos/handoffs";
import * as schema from "../../src/appdb/schema";
import { configureLocal, type Database, migrate, newKey } from "../../src/db";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "vault-handoffs-"));
  dirs.push(dir);
  return dir;
};

async function plaintextAppDb() {
  const path = join(tempDir(), "app.db");
  const client = createClient({ url: `file:${path}` });
  await configureLocal(client);
  const database: Database = {
    client,
    remote: false,
    label: "app.db",
    commit: (statements) => client.batch(statements, "write"),
    close: () => client.close(),
  };
  await migrate(database, migrations, appDbMigrationHooks(newKey()));
  const repo = handoffsRepo(drizzle(client, { schema }), database);
  const files = () => ({
    "app.db": readFileSync(path),
    "app.db-wal": existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0),
  });
  return { path, client, repo, files };
}

const T0 = Date.UTC(2030, 0, 1);
const TTL = 10 * 60_000;
const requestId = () => `req_${randomBytes(32).toString("hex")}`;
/** Stands for the sealed credential: distinctive bytes a leftover page would show. */
const sealedResult = () => `SEALED-RESULT-${randomBytes(24).toString("base64")}`;

describe("a hand-off's result in app.db's files", () => {
  it("a collected hand-off's result leaves no trace in app.db or its WAL", async () => {
    const { path, client, repo, files } = await plaintextAppDb();
    try {
      const id = requestId();
      const result = sealedResult();
      await repo.open({ id, kind: "cli", createdAt: T0, expiresAt: T0 + TTL });
      expect(await repo.bind(id, result, null)).toBe(true);
      // The check can see: before the pickup the result is in the plain files.
      const before = files();
      expect(before["app.db"].includes(result) || before["app.db-wal"].includes(result)).toBe(true);

      expect(await repo.collect(id, T0 + 1_000)).toBe(true);
      expect(statSync(`${path}-wal`).size).toBe(0);
      for (const [name, bytes] of Object.entries(files())) {
        expect({ file: name, holdsResult: bytes.includes(result) }).toEqual({
          file: name,
          holdsResult: false,
        });
      }
      expect((await repo.get(id))?.collectedAt).toBe(T0 + 1_000);
      expect(await repo.collect(id, T0 + 2_000)).toBe(false); // once
    } finally {
      client.close();
    }
  });

  it("an expired hand-off's result is wiped from app.db and its WAL, and its id is still refused", async () => {
    const { path, client, repo, files } = await plaintextAppDb();
    try {
      const [stale, fresh] = [requestId(), requestId()];
      const [staleResult, freshResult] = [sealedResult(), sealedResult()];
      await repo.open({ id: stale, kind: "login", createdAt: T0, expiresAt: T0 + TTL });
      await repo.open({ id: fresh, kind: "login", createdAt: T0 + TTL, expiresAt: T0 + 2 * TTL });
      await repo.bind(stale, staleResult, null);
      await repo.bind(fresh, freshResult, null);

      expect(await repo.wipeExpired(T0 + TTL + 1)).toBe(1);
      expect(statSync(`${path}-wal`).size).toBe(0);
      for (const [name, bytes] of Object.entries(files())) {
        expect({ file: name, holdsResult: bytes.includes(staleResult) }).toEqual({
          file: name,
          holdsResult: false,
        });
      }
      // The row stays, marked used, so the id is never taken as a new request.
      expect((await repo.get(stale))?.result).toBe("");
      expect(await repo.bind(stale, sealedResult(), null)).toBe(false);
      // A request that has not expired keeps its result until it is collected.
      expect((await repo.get(fresh))?.result).toBe(freshResult);
      expect(await repo.wipeExpired(T0 + TTL + 2)).toBe(0);
    } finally {
      client.close();
    }
  });

  it("a pickup wipes the results of requests that expired uncollected", async () => {
    const { client, repo, files } = await plaintextAppDb();
    try {
      const [abandoned, picked] = [requestId(), requestId()];
      const abandonedResult = sealedResult();
      await repo.open({ id: abandoned, kind: "cli", createdAt: T0, expiresAt: T0 + TTL });
      await repo.bind(abandoned, abandonedResult, null);
      await repo.open({ id: picked, kind: "cli", createdAt: T0 + TTL, expiresAt: T0 + 2 * TTL });
      await repo.bind(picked, sealedResult(), null);
      expect(await repo.collect(picked, T0 + TTL + 5)).toBe(true);
      expect((await repo.get(abandoned))?.result).toBe("");
      for (const bytes of Object.values(files())) expect(bytes.includes(abandonedResult)).toBe(false);
    } finally {
      client.close();
    }
  });

  it("the encrypted app.db's WAL is empty right after a pickup", async () => {
    const dir = tempDir();
    const appdb = await openAppDb({
      appDb: join(dir, "app", "app.db"),
      appKeyFile: join(dir, "app", "app.key"),
      appDbAuthTokenFile: undefined,
    });
    try {
      const id = requestId();
      await appdb.handoffs.open({ id, kind: "cli", createdAt: T0, expiresAt: T0 + TTL });
      await appdb.handoffs.bind(id, sealedResult(), null);
      const wal = join(dir, "app", "app.db-wal");
      expect(statSync(wal).size).toBeGreaterThan(0);
      expect(await appdb.handoffs.collect(id, T0 + 1)).toBe(true);
      expect(statSync(wal).size).toBe(0);
    } finally {
      appdb.close();
    }
  });
});

describe("purging old hand-offs", () => {
  it("removes requests that expired and first-poll origins seen before the cutoff, and keeps the later ones", async () => {
    const { client, repo } = await plaintextAppDb();
    try {
      const [old, recent] = [requestId(), requestId()];
      await repo.open({ id: old, kind: "login", createdAt: T0, expiresAt: T0 + TTL });
      await repo.open({ id: recent, kind: "login", createdAt: T0 + 3 * TTL, expiresAt: T0 + 4 * TTL });
      // Origins are recorded for any id polled, known or not: an anonymous caller can make many.
      const unknown = requestId();
      await repo.recordOrigin({ requestId: unknown, seenAt: T0, ip: "203.0.113.9", userAgent: null });
      await repo.recordOrigin({
        requestId: recent,
        seenAt: T0 + 3 * TTL,
        ip: "203.0.113.9",
        userAgent: null,
      });

      expect(await repo.purgeExpired(T0 + 2 * TTL)).toBe(2);
      expect(await repo.get(old)).toBeUndefined();
      expect(await repo.origin(unknown)).toBeUndefined();
      expect((await repo.get(recent))?.id).toBe(recent);
      expect((await repo.origin(recent))?.ip).toBe("203.0.113.9");
    } finally {
      client.close();
    }
  });
});
