/**
 * Migration 0004 (where hand-off requests came from, and the verification
 * code of `vault login --browser`) on a database of the previous release:
 * pending requests keep every field, and get no code and no origin.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KEYED_HASHES, migrations } from "../../src/appdb/migrations";
import { migrate, newKey, openDatabase } from "../../src/db";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("app.db migration 0004", () => {
  it("keeps the hand-off requests of the previous release, with no code, no attempts and no origin", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vault-migrate-0004-"));
    dirs.push(dir);
    const db = await openDatabase({ location: join(dir, "app.db"), atRestKey: newKey(), label: "app.db" });
    try {
      await migrate(
        db,
        migrations.filter((m) => m.name < "0003"),
      );
      const rows = [
        [`req_${"a".repeat(64)}`, "cli", null, null, 1, 600_001, null, "f".repeat(64)],
        [`req_${"b".repeat(64)}`, "login", `vlt_${"c".repeat(64)}`, "sealed", 2, 600_002, null, null],
      ];
      for (const args of rows) {
        await db.client.execute({
          sql: "INSERT INTO handoffs (id, kind, project_id, result, created_at, expires_at, collected_at, poll_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          args,
        });
      }
      // 0003's code step re-keys hashes with app.key (test/appdb/keyed.test.ts covers it); here it does nothing.
      const upTo0004 = migrations.filter((m) => m.name < "0005");
      expect(await migrate(db, upTo0004, { [KEYED_HASHES]: async () => {} })).toContain(
        "0004_handoff_origin",
      );
      const after = await db.client.execute(
        "SELECT id, kind, project_id, result, created_at, expires_at, collected_at, poll_hash, code_hash, code_attempts, refused_at FROM handoffs ORDER BY id",
      );
      expect(
        after.rows.map((r) => Object.values(r).map((v) => (typeof v === "bigint" ? Number(v) : v))),
      ).toEqual(rows.map((r) => [...r, null, 0, null]));
      const origins = await db.client.execute("SELECT count(*) AS n FROM handoff_origins");
      expect(Number(origins.rows[0]!.n)).toBe(0);
    } finally {
      db.close();
    }
  });
});
