import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrations } from "../../src/appdb/migrations";
import { migrate, newKey, openDatabase } from "../../src/db";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("a local database", () => {
  it("opens in WAL mode, synchronous=FULL (issue 17: every commit synced), with foreign keys, secure_delete and a checkpoint every 300 pages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vault-open-"));
    dirs.push(dir);
    const db = await openDatabase({ location: join(dir, "x.db"), atRestKey: newKey(), label: "x.db" });
    try {
      const pragma = async (name: string) =>
        Object.values((await db.client.execute(`PRAGMA ${name}`)).rows[0]!)[0];
      expect(await pragma("journal_mode")).toBe("wal");
      expect(await pragma("synchronous")).toBe(2);
      expect(await pragma("foreign_keys")).toBe(1);
      expect(await pragma("wal_autocheckpoint")).toBe(300);
      expect(await pragma("secure_delete")).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe("app.db migrations", () => {
  it("0002 keeps every ref and leaves refs as one WITHOUT ROWID b-tree", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vault-migrate-"));
    dirs.push(dir);
    const db = await openDatabase({ location: join(dir, "app.db"), atRestKey: newKey(), label: "app.db" });
    try {
      const before = migrations.filter((m) => m.name < "0002");
      expect(await migrate(db, before)).toEqual(["0000_init", "0001_handoff_poll_secret"]);
      const rows = Array.from({ length: 50 }, (_, i) => [
        Buffer.alloc(16, i),
        `env_${i % 3}`,
        1_700_000_000_000 + i,
      ]);
      for (const args of rows)
        await db.client.execute({
          sql: "INSERT INTO refs (ref, environment_id, created_at) VALUES (?, ?, ?)",
          args,
        });

      expect(
        await migrate(
          db,
          migrations.filter((m) => m.name < "0003"),
        ),
      ).toEqual(["0002_refs_without_rowid"]);

      const table = await db.client.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'refs'",
      );
      expect(String(table.rows[0]?.sql)).toContain("WITHOUT ROWID");
      const indexes = await db.client.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'refs'",
      );
      expect(indexes.rows.map((r) => String(r.name))).toEqual([]);
      const after = await db.client.execute("SELECT ref, environment_id, created_at FROM refs ORDER BY ref");
      expect(
        after.rows.map((r) => [Buffer.from(r.ref as ArrayBuffer), r.environment_id, Number(r.created_at)]),
      ).toEqual(rows);
      // A ref is still unique.
      expect(
        db.client.execute({ sql: "INSERT INTO refs VALUES (?, 'env_x', 1)", args: [Buffer.alloc(16, 1)] }),
      ).rejects.toThrow(/UNIQUE|PRIMARY KEY|constraint/i);
    } finally {
      db.close();
    }
  });
});

describe("migrations with a code step", () => {
  it("are refused, and nothing of them applied, when their code step is not supplied", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vault-migrate-"));
    dirs.push(dir);
    const db = await openDatabase({ location: join(dir, "app.db"), atRestKey: newKey(), label: "app.db" });
    try {
      // 0003 re-keys stored hashes with app.key: applied without that step, planted SHA-256 rows would work.
      await expect(migrate(db, migrations)).rejects.toThrow(/0003_keyed_hashes has a code step/);
      const applied = (await db.client.execute("SELECT name FROM _migrations")).rows.map((r) =>
        String(r.name),
      );
      expect(applied).toEqual(["0000_init", "0001_handoff_poll_secret", "0002_refs_without_rowid"]);
    } finally {
      db.close();
    }
  });
});
