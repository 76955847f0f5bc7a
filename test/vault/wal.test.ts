/**
 * A retired data key must be gone from the files, not only from the keyring
 * row: the old keyring (which held it) and the values sealed under it stay in
 * `vault.db-wal` until the WAL wraps around, and in the main file's free
 * space after a checkpoint copies the page, unless the keeper truncates the
 * WAL after the retirement and the file overwrites freed space.
 *
 * Both files are encrypted at rest, so grepping them proves nothing: the
 * first test runs the keeper on a plaintext vault.db opened with the same
 * connection settings as the product (configureLocal), where a leftover byte
 * would be visible; the second checks the real, encrypted file's WAL.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { configureLocal, type Database } from "../../src/db";
import { createKeeper, openKeeper } from "../../src/vault";
import { freshKeeper, keeperConfig, tempDir, text, utf8 } from "./helpers";

async function plaintextDatabase(path: string): Promise<Database> {
  const client = createClient({ url: `file:${path}` });
  await configureLocal(client);
  return {
    client,
    remote: false,
    label: "vault.db",
    commit: (statements) => client.batch(statements, "write"),
    close: () => client.close(),
  };
}

const column = async (db: Database, sql: string): Promise<Buffer[]> =>
  (await db.client.execute(sql)).rows.map((r) => Buffer.from(Object.values(r)[0] as ArrayBuffer));

const bytesOf = (path: string) => (existsSync(path) ? readFileSync(path) : Buffer.alloc(0));

describe("the WAL after a retirement", () => {
  it("a retired data key leaves no trace in vault.db or its WAL: neither the keyrings that held it nor the values sealed under it", async () => {
    const dir = tempDir("vault-wal-");
    mkdirSync(join(dir, "keeper"), { recursive: true });
    const path = join(dir, "keeper", "vault.db");
    const db = await plaintextDatabase(path);
    const config = keeperConfig(dir, { resealBatch: 1_000 });
    const keeper = await createKeeper({ db, rootKey: randomBytes(32), config });
    try {
      const values = Array.from({ length: 40 }, (_, i) => `value ${i} ${"x".repeat(200)}`);
      const refs = await keeper.put(values.map(utf8));
      // What holds term 1's key, or opens with it: the keyring rows and the blobs sealed under it.
      const held = [
        ...(await column(db, "SELECT sealed FROM keyring")),
        ...(await column(db, "SELECT blob FROM sealed_values")),
      ];
      await keeper.rotate();
      held.push(...(await column(db, "SELECT sealed FROM keyring"))); // term 1 draining, key still inside
      const report = await keeper.tick();
      expect(report.retired).toEqual([1]);

      expect(statSync(`${path}-wal`).size).toBe(0);
      const files = { "vault.db": bytesOf(path), "vault.db-wal": bytesOf(`${path}-wal`) };
      // The check can see: the current keyring and the re-sealed values are in the plain file.
      for (const current of await column(db, "SELECT sealed FROM keyring")) {
        expect(files["vault.db"].includes(current)).toBe(true);
      }
      for (const [name, bytes] of Object.entries(files)) {
        const found = held.filter((old) => bytes.includes(old)).length;
        expect({ file: name, oldBlobsFound: found }).toEqual({ file: name, oldBlobsFound: 0 });
      }
      expect((await keeper.get(refs)).map(text)).toEqual(values);
    } finally {
      await keeper.close();
    }
  });

  it("the encrypted vault.db's WAL is empty right after a retirement", async () => {
    const { keeper, config } = await freshKeeper({ resealBatch: 1_000 });
    try {
      await keeper.put(Array.from({ length: 40 }, (_, i) => utf8(`value ${i}`)));
      await keeper.rotate();
      expect(statSync(`${config.vaultDb}-wal`).size).toBeGreaterThan(0);
      expect((await keeper.tick()).retired).toEqual([1]);
      expect(statSync(`${config.vaultDb}-wal`).size).toBe(0);
    } finally {
      await keeper.close();
    }
  });

  it("reopens after the truncation with every value", async () => {
    const dir = tempDir("vault-wal-reopen-");
    const config = keeperConfig(dir, { resealBatch: 1_000 });
    const first = await openKeeper({ config });
    const refs = await first.put([utf8("one"), utf8("two")]);
    await first.rotate();
    await first.tick();
    await first.close();
    const again = await openKeeper({ config, create: false });
    try {
      expect((await again.get(refs)).map(text)).toEqual(["one", "two"]);
    } finally {
      await again.close();
    }
  });
});
