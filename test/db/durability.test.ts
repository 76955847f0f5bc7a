/**
 * `--durability`: both databases sync every commit by default (PRAGMA
 * synchronous=FULL, read back as 2), and `--durability fast` keeps NORMAL (1).
 * Read back on the connections the product itself opens: app.db through
 * openAppDb and vault.db through openKeeper (its stats report the pragma of the
 * keeper's own connection; the pragma holds per connection, so a second
 * connection would prove nothing).
 */
import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openAppDb } from "../../src/appdb";
import { ConfigError, loadConfig } from "../../src/config";
import { newKey, openDatabase } from "../../src/db";
import { openKeeper } from "../../src/vault";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function pragmas(flags: Record<string, string>, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "vault-durability-"));
  dirs.push(dir);
  const config = loadConfig({ data: join(dir, "data"), ...flags }, env, dir);
  const appdb = await openAppDb(config);
  const keeper = await openKeeper({ config });
  try {
    const app = Number((await appdb.database.client.execute("PRAGMA synchronous")).rows[0]?.[0]);
    const vault = (await keeper.stats()).synchronous;
    return { durability: config.durability, app, vault };
  } finally {
    await keeper.close();
    appdb.close();
  }
}

describe("durability", () => {
  it("syncs every commit in app.db and vault.db by default (synchronous FULL = 2)", async () => {
    expect(await pragmas({})).toEqual({ durability: "full", app: 2, vault: 2 });
  });

  it("keeps synchronous NORMAL (1) in both databases with --durability fast", async () => {
    expect(await pragmas({ durability: "fast" })).toEqual({ durability: "fast", app: 1, vault: 1 });
  });

  it("takes VAULT_DURABILITY, and the flag wins over it", async () => {
    expect(await pragmas({}, { VAULT_DURABILITY: "fast" })).toEqual({ durability: "fast", app: 1, vault: 1 });
    expect(loadConfig({ durability: "full" }, { VAULT_DURABILITY: "fast" }, "/srv").durability).toBe("full");
  });

  it("refuses another value with a hint", () => {
    let error: unknown;
    try {
      loadConfig({ durability: "none" }, {}, "/srv");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('--durability: "none" is not full or fast');
    expect((error as ConfigError).hint).toContain("power cut");
  });

  it("a durable commit (NORMAL for the commit, the WAL synced off the event loop) lets no other statement run under NORMAL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vault-durability-"));
    dirs.push(dir);
    const db = await openDatabase({ location: join(dir, "x.db"), atRestKey: newKey(), label: "x.db" });
    try {
      await db.client.execute("CREATE TABLE t (n INTEGER)");
      const level = async () => Number((await db.client.execute("PRAGMA synchronous")).rows[0]?.[0]);
      // Asked for while each commit is under way: served after it, under FULL again.
      const during = await Promise.all(
        Array.from({ length: 5 }, (_, n) => {
          const committed = db.commit([{ sql: "INSERT INTO t VALUES (?)", args: [n] }], {
            sync: n % 2 === 0 ? "wait" : "after",
          });
          return Promise.all([committed, level()]).then(([, l]) => l);
        }),
      );
      expect(during).toEqual([2, 2, 2, 2, 2]);
      expect(await level()).toBe(2);
      expect(Number((await db.client.execute("SELECT count(*) FROM t")).rows[0]?.[0])).toBe(5);
    } finally {
      db.close();
    }
  });
});
