/**
 * Each version's snapshot carries a MAC under a key derived from app.key:
 * its canonical form, the upgrade that gives the versions made before it a
 * MAC (once, in the migration's transaction), and what a missing MAC means
 * afterwards.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appDbAtRestKey, appDbMigrationHooks, openAppDb, VersionIntegrityError } from "../../src/appdb";
import { migrations } from "../../src/appdb/migrations";
import { type Snapshotted, VERSION_MAC_LABEL, versionMac } from "../../src/appdb/repos/versions";
import {
  type Database,
  hkdf32,
  migrate,
  newKey,
  openDatabase,
  readKeyFile,
  writeKeyFile,
} from "../../src/db";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** HMAC-SHA-256 of a canonical form written out by hand (see the top of src/appdb/repos/versions.ts). */
const hmac = (key: Uint8Array, form: string) =>
  createHmac("sha256", key).update(Buffer.from(form, "utf8")).digest();

/** The canonical form built as specified, independently of versionMac's code. */
function specMac(key: Uint8Array, v: Snapshotted): Buffer {
  const str = (s: string) => `"${s}"`; // the tests' strings need no escaping
  const entries = `[${v.entries.map(([name, ref]) => `[${str(name)},${str(ref)}]`).join(",")}]`;
  const parts = [
    str("vault/v1/version"),
    str(v.projectId),
    str(v.environmentId),
    String(v.number),
    entries,
    str(Buffer.from(v.layoutRef).toString("hex")),
  ];
  return hmac(key, `[${parts.join(",")}]`);
}

const snapshot: Snapshotted = {
  projectId: `vlt_${"a".repeat(64)}`,
  environmentId: "env_1",
  number: 7,
  entries: [
    ["DATABASE_URL", "0a".repeat(16)],
    ["KEY_ü_日本", "0b".repeat(16)],
  ],
  layoutRef: Buffer.alloc(16, 0x0c),
};

describe("a version's MAC", () => {
  it("is HMAC-SHA-256 over the canonical JSON form", () => {
    const key = randomBytes(32);
    const form = `["vault/v1/version","vlt_${"a".repeat(64)}","env_1",7,[["DATABASE_URL","${"0a".repeat(16)}"],["KEY_ü_日本","${"0b".repeat(16)}"]],"${"0c".repeat(16)}"]`;
    expect(versionMac(key, snapshot)).toEqual(hmac(key, form));
    expect(versionMac(key, snapshot)).toEqual(specMac(key, snapshot));
    expect(versionMac(key, { ...snapshot, entries: [] })).toEqual(specMac(key, { ...snapshot, entries: [] }));
  });

  it("changes with every part: project, environment, number, each name and ref, their order, the layout ref, the key", () => {
    const key = randomBytes(32);
    const base = versionMac(key, snapshot);
    const [a, b] = snapshot.entries as [[string, string], [string, string]];
    const variants: Snapshotted[] = [
      { ...snapshot, projectId: `vlt_${"b".repeat(64)}` },
      { ...snapshot, environmentId: "env_2" },
      { ...snapshot, number: 6 },
      { ...snapshot, entries: [["DATABASE_URl", a[1]], b] },
      { ...snapshot, entries: [[a[0], "0c".repeat(16)], b] },
      { ...snapshot, entries: [b, a] },
      { ...snapshot, entries: [a] },
      // A boundary moved between a name and its ref, or between two parts.
      { ...snapshot, entries: [[`${a[0]}0a`, a[1].slice(2)], b] },
      { ...snapshot, projectId: `${snapshot.projectId}","env_1`, environmentId: "" },
      { ...snapshot, entries: [[`${a[0]}","${a[1]}`, b[0]]] },
      { ...snapshot, layoutRef: Buffer.alloc(16, 0x0d) },
    ];
    for (const variant of variants) expect(versionMac(key, variant)).not.toEqual(base);
    expect(versionMac(randomBytes(32), snapshot)).not.toEqual(base);
  });
});

/** An app.db as the previous release left it: migrated up to 0002, versions without a MAC. */
async function legacyDataDir() {
  const dir = mkdtempSync(join(tmpdir(), "vault-upgrade-"));
  dirs.push(dir);
  mkdirSync(join(dir, "app"), { mode: 0o700 });
  const config = {
    appDb: join(dir, "app", "app.db"),
    appKeyFile: join(dir, "app", "app.key"),
    appDbAuthTokenFile: undefined,
  };
  const appKey = newKey();
  writeKeyFile(config.appKeyFile, appKey);
  const db = await openDatabase({
    location: config.appDb,
    atRestKey: appDbAtRestKey(appKey),
    label: "app.db",
  });
  await migrate(
    db,
    migrations.filter((m) => m.name < "0003"),
  );
  const projectId = `vlt_${"1".repeat(64)}`;
  const environmentId = "env_legacy";
  await db.client.execute({
    sql: "INSERT INTO projects (id, name, created_at) VALUES (?, 'legacy', 1)",
    args: [projectId],
  });
  await db.client.execute({
    sql: "INSERT INTO environments (id, project_id, name, is_main, head, created_at) VALUES (?, ?, 'development', 1, 3, 1)",
    args: [environmentId, projectId],
  });
  const made: { number: number; entries: [string, string][]; layoutRef: Buffer }[] = [];
  for (let number = 1; number <= 3; number++) {
    const entries: [string, string][] = [
      ["A", randomBytes(16).toString("hex")],
      ["B", randomBytes(16).toString("hex")],
    ];
    const layoutRef = randomBytes(16);
    made.push({ number, entries, layoutRef });
    await db.client.execute({
      sql: "INSERT INTO versions (environment_id, number, entries, layout_ref, summary, kind, author_label, created_at) VALUES (?, ?, ?, ?, '{}', 'push', 'legacy', 1)",
      args: [environmentId, number, JSON.stringify(entries), layoutRef],
    });
  }
  db.close();
  return { dir, config, appKey, projectId, environmentId, made };
}

const macsOf = async (db: Database) =>
  (await db.client.execute("SELECT number, mac FROM versions ORDER BY number")).rows.map((r) => [
    Number(r.number),
    r.mac === null ? null : Buffer.from(r.mac as ArrayBuffer).toString("hex"),
  ]);

describe("the upgrade to version MACs (0005)", () => {
  it("gives every version made before it a MAC in the startup that applies it, and they open", async () => {
    const legacy = await legacyDataDir();
    const appdb = await openAppDb(legacy.config);
    try {
      const key = hkdf32(readKeyFile(legacy.config.appKeyFile, "app key"), VERSION_MAC_LABEL);
      expect(await macsOf(appdb.database)).toEqual(
        legacy.made.map((v) => [
          v.number,
          specMac(key, { projectId: legacy.projectId, environmentId: legacy.environmentId, ...v }).toString(
            "hex",
          ),
        ]),
      );
      for (const v of legacy.made) {
        const opened = await appdb.versions.get(legacy.projectId, legacy.environmentId, v.number);
        expect(opened?.entries).toEqual(v.entries);
      }
    } finally {
      appdb.close();
    }
  });

  it("trusts app.db only then: a MAC stripped after the upgrade is not given back at the next start", async () => {
    const legacy = await legacyDataDir();
    const first = await openAppDb(legacy.config);
    await first.database.client.execute("UPDATE versions SET mac = NULL WHERE number = 3");
    await expect(first.versions.get(legacy.projectId, legacy.environmentId, 3)).rejects.toThrow(
      VersionIntegrityError,
    );
    first.close();
    const again = await openAppDb(legacy.config);
    try {
      const stripped = await again.versions.get(legacy.projectId, legacy.environmentId, 3).catch((e) => e);
      expect(stripped).toBeInstanceOf(VersionIntegrityError);
      expect((stripped as VersionIntegrityError).reason).toBe("missing");
      expect((await again.versions.get(legacy.projectId, legacy.environmentId, 2))?.entries).toEqual(
        legacy.made[1]!.entries,
      );
    } finally {
      again.close();
    }
  });

  it("commits nothing when the MACs cannot be computed: 0005 stays unapplied and the column absent", async () => {
    const legacy = await legacyDataDir();
    const db = await openDatabase({
      location: legacy.config.appDb,
      atRestKey: appDbAtRestKey(legacy.appKey),
      label: "app.db",
    });
    try {
      const failing = migrate(db, migrations, {
        ...appDbMigrationHooks(legacy.appKey),
        "0005_version_mac": async () => {
          throw new Error("injected failure while computing the MACs");
        },
      });
      await expect(failing).rejects.toThrow("injected failure");
      const applied = (await db.client.execute("SELECT name FROM _migrations")).rows.map((r) =>
        String(r.name),
      );
      expect(applied).not.toContain("0005_version_mac");
      const columns = (await db.client.execute("PRAGMA table_info(versions)")).rows.map((r) =>
        String(r.name),
      );
      expect(columns).not.toContain("mac");
    } finally {
      db.close();
    }
    // The next start applies it with the MACs.
    const appdb = await openAppDb(legacy.config);
    try {
      expect((await macsOf(appdb.database)).every(([, mac]) => mac !== null)).toBe(true);
    } finally {
      appdb.close();
    }
  });
});
