/**
 * Migrations 0009 (layers) and 0010 (personal overrides) on a database of
 * the previous release: its versions keep their MACs and never resolve (a
 * stored file does not change meaning), its environments are no branches,
 * and nobody has an override.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appDbAtRestKey, appDbMigrationHooks, openAppDb } from "../../src/appdb";
import { migrations } from "../../src/appdb/migrations";
import { VERSION_MAC_LABEL, versionMac } from "../../src/appdb/repos/versions";
import { hkdf32, migrate, newKey, openDatabase, writeKeyFile } from "../../src/db";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("app.db migrations 0009 and 0010", () => {
  it("keep every version of the previous release readable, its MAC valid, and not resolving", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vault-migrate-0009-"));
    dirs.push(dir);
    mkdirSync(join(dir, "app"), { recursive: true });
    const appKey = newKey();
    const keyFile = join(dir, "app", "app.key");
    writeKeyFile(keyFile, appKey);
    const location = join(dir, "app", "app.db");
    const db = await openDatabase({ location, atRestKey: appDbAtRestKey(appKey), label: "app.db" });
    const project = `vlt_${"a".repeat(64)}`;
    const entries: [string, string][] = [["PASS", "ab".repeat(16)]];
    const layoutRef = Buffer.alloc(16, 7);
    try {
      await migrate(
        db,
        migrations.filter((m) => m.name < "0009"),
        appDbMigrationHooks(appKey),
      );
      await db.client.execute({
        sql: "INSERT INTO projects (id, name, created_at) VALUES (?, 'old', 1)",
        args: [project],
      });
      await db.client.execute({
        sql: "INSERT INTO environments (id, project_id, name, is_main, head, created_at) VALUES ('env_old', ?, 'development', 1, 1, 1)",
        args: [project],
      });
      // As the previous release committed it: its MAC has no resolves flag.
      const mac = versionMac(hkdf32(appKey, VERSION_MAC_LABEL), {
        projectId: project,
        environmentId: "env_old",
        number: 1,
        entries,
        layoutRef,
      });
      await db.client.execute({
        sql: "INSERT INTO versions (environment_id, number, entries, layout_ref, summary, kind, author_label, created_at, mac) VALUES ('env_old', 1, ?, ?, '{}', 'push', 'old', 1, ?)",
        args: [JSON.stringify(entries), layoutRef, mac],
      });
    } finally {
      db.close();
    }
    const appdb = await openAppDb({ appDb: location, appKeyFile: keyFile, appDbAuthTokenFile: undefined });
    try {
      const version = await appdb.versions.get(project, "env_old", 1);
      expect(version?.entries).toEqual(entries);
      expect(version?.resolves).toBe(false);
      expect((await appdb.projects.environmentById("env_old"))?.parentId).toBeNull();
      expect(await appdb.overrides.count()).toBe(0);
      expect((await appdb.versions.verifyAll()).failed).toEqual([]);
    } finally {
      appdb.close();
    }
  });
});
