/**
 * Migration 0011 (webhooks) on a database of the previous release: its audit log stays as it
 * was, and the dispatcher's cursor starts at its end, so nothing that happened before webhooks
 * existed is ever delivered.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appDbAtRestKey, appDbMigrationHooks, openAppDb } from "../../src/appdb";
import { migrations } from "../../src/appdb/migrations";
import { migrate, newKey, openDatabase, writeKeyFile } from "../../src/db";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function previousRelease(events: number) {
  const dir = mkdtempSync(join(tmpdir(), "vault-migrate-0011-"));
  dirs.push(dir);
  mkdirSync(join(dir, "app"), { recursive: true });
  const appKey = newKey();
  const keyFile = join(dir, "app", "app.key");
  writeKeyFile(keyFile, appKey);
  const location = join(dir, "app", "app.db");
  const db = await openDatabase({ location, atRestKey: appDbAtRestKey(appKey), label: "app.db" });
  try {
    await migrate(
      db,
      migrations.filter((m) => m.name < "0011"),
      appDbMigrationHooks(appKey),
    );
    for (let seq = 1; seq <= events; seq++) {
      await db.client.execute({
        sql: "INSERT INTO audit (seq, at, action, actor_kind, project_id, detail, prev_hash, hash) VALUES (?, 1, 'secrets.push', 'user', 'vlt_x', '{\"version\":1}', 'p', 'h')",
        args: [seq],
      });
    }
  } finally {
    db.close();
  }
  return { location, keyFile };
}

describe("app.db migration 0011", () => {
  it("starts the webhook cursor at the end of the existing audit log, and queues nothing from it", async () => {
    const { location, keyFile } = await previousRelease(3);
    const appdb = await openAppDb({ appDb: location, appKeyFile: keyFile, appDbAuthTokenFile: undefined });
    try {
      expect(await appdb.webhooks.cursor()).toBe(3);
      expect(await appdb.webhooks.eventsAfter(await appdb.webhooks.cursor(), 10)).toEqual([]);
      const rows = await appdb.database.client.execute("SELECT COUNT(*) AS n FROM webhook_deliveries");
      expect(Number(rows.rows[0]!.n)).toBe(0);
    } finally {
      appdb.close();
    }
  });

  it("starts the cursor at 0 on an empty audit log", async () => {
    const { location, keyFile } = await previousRelease(0);
    const appdb = await openAppDb({ appDb: location, appKeyFile: keyFile, appDbAuthTokenFile: undefined });
    try {
      expect(await appdb.webhooks.cursor()).toBe(0);
    } finally {
      appdb.close();
    }
  });
});
