/**
 * vault.db's physical layer: the few queries the keeper runs, nothing more.
 * Every multi-statement write is one `batch` (one transaction). Rows are
 * (ref, term, envelope, created_at); the keyring is one sealed row.
 */
import type { InStatement } from "@libsql/client";
import { and, asc, count, eq, gt, inArray, lt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/libsql";
import type { Database } from "../db";
import { REF_BYTES } from "./envelope";
import { KeeperError } from "./errors";
import { keyring, sealedValues, termCounters } from "./schema";

/** Rows per statement, well under SQLite's limit on bound variables. */
const CHUNK = 500;
/** A ref's length in hex. */
const REF_HEX = 2 * REF_BYTES;
/** A write's guard: the stored keyring is still the one (its sealed bytes, bound next) the writer sealed under. */
const KEYRING_IS = "(SELECT sealed FROM keyring WHERE id = 1) = ?";

export interface NewValue {
  ref: Uint8Array;
  term: number;
  blob: Uint8Array;
}

export interface ResealedValue {
  ref: Uint8Array;
  fromTerm: number;
  blob: Uint8Array;
}

export type Store = ReturnType<typeof createStore>;

export function createStore(db: Database) {
  const d = drizzle(db.client);
  const buf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const batch = async (items: BatchItem<"sqlite">[]) => {
    if (items.length === 0) return [];
    return d.batch(items as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  };
  const countSeals = (term: number, seals: number, resealed: number) =>
    d
      .insert(termCounters)
      .values({ term, seals, resealed })
      .onConflictDoUpdate({
        target: termCounters.term,
        set: {
          seals: sql`${termCounters.seals} + ${seals}`,
          resealed: sql`${termCounters.resealed} + ${resealed}`,
        },
      });

  /**
   * Several puts' values in one transaction (the keeper's group commit), each
   * group guarded by the keyring it was sealed under: true for a group whose
   * rows all went in, false for one whose keyring another keeper replaced
   * (none of its rows went in). Plain SQL: these run for every push, and
   * building them through drizzle cost more than running them.
   */
  async function insertValueGroups(
    groups: readonly { values: readonly NewValue[]; sealedKeyring: Uint8Array }[],
    now: number,
  ): Promise<boolean[]> {
    const statements: InStatement[] = [];
    /** Per group: the statements' range (its inserts are the even ones), and its size. */
    const spans: { from: number; to: number; size: number }[] = [];
    for (const { values, sealedKeyring } of groups) {
      const from = statements.length;
      const current = buf(sealedKeyring);
      // One short statement per term, its rows passed as one JSON array of
      // hex (ref then blob): preparing it costs the same for 1 or 10,000
      // values, where a statement with a placeholder per column of each row
      // cost more to prepare than to run.
      const byTerm = new Map<number, string[]>();
      for (const v of values) {
        const rows = byTerm.get(v.term) ?? [];
        byTerm.set(v.term, rows);
        rows.push(v.ref.toHex() + v.blob.toHex());
      }
      for (const [term, rows] of byTerm) {
        statements.push(
          {
            sql: `INSERT INTO sealed_values (ref, term, blob, created_at) SELECT unhex(substr(value, 1, ${REF_HEX})), ?, unhex(substr(value, ${REF_HEX + 1})), ? FROM json_each(?) WHERE ${KEYRING_IS}`,
            args: [term, now, JSON.stringify(rows), current],
          },
          {
            sql: `INSERT INTO term_counters (term, seals, resealed) SELECT ?, ?, 0 WHERE ${KEYRING_IS} ON CONFLICT (term) DO UPDATE SET seals = seals + excluded.seals`,
            args: [term, rows.length, current],
          },
        );
      }
      spans.push({ from, to: statements.length, size: values.length });
    }
    if (statements.length === 0) return groups.map(() => true);
    const results = await db.commit(statements);
    return spans.map(({ from, to, size }) => {
      let inserted = 0;
      for (let i = from; i < to; i += 2) inserted += results[i]?.rowsAffected ?? 0;
      // One transaction, one keyring per group: every row went in, or (another keeper changed it) none.
      return inserted === size;
    });
  }

  return {
    insertValueGroups,

    async loadKeyring(): Promise<Uint8Array | null> {
      const rows = await d.select({ sealed: keyring.sealed }).from(keyring).where(eq(keyring.id, 1));
      return rows[0]?.sealed ?? null;
    },

    /** Saves the sealed keyring; `newTerm` also starts that term's counter in the same transaction. */
    async saveKeyring(sealed: Uint8Array, now: number, newTerm?: number): Promise<void> {
      const save = d
        .insert(keyring)
        .values({ id: 1, sealed: buf(sealed), updatedAt: now })
        .onConflictDoUpdate({ target: keyring.id, set: { sealed: buf(sealed), updatedAt: now } });
      await batch(newTerm === undefined ? [save] : [save, countSeals(newTerm, 0, 0)]);
    },

    /**
     * Inserts new values and adds their seals to the counters, in one
     * transaction, only if the stored keyring is still `sealedKeyring` (the
     * bytes the values' term was taken from): false, and nothing written,
     * when another keeper replaced it meanwhile (a rotation or a retirement).
     */
    async insertValues(
      values: readonly NewValue[],
      now: number,
      sealedKeyring: Uint8Array,
    ): Promise<boolean> {
      return (await insertValueGroups([{ values, sealedKeyring }], now))[0]!;
    },

    /** The stored envelopes of the refs that exist, by ref (hex), read in one transaction. */
    async getValues(refs: readonly Uint8Array[]): Promise<Map<string, Uint8Array>> {
      const statements: InStatement[] = [];
      for (let i = 0; i < refs.length; i += CHUNK) {
        const chunk = refs.slice(i, i + CHUNK).map(buf);
        statements.push({
          sql: `SELECT ref, blob FROM sealed_values WHERE ref IN (${chunk.map(() => "?").join(", ")})`,
          args: chunk,
        });
      }
      const found = new Map<string, Uint8Array>();
      if (statements.length === 0) return found;
      for (const result of await db.client.batch(statements, "read")) {
        for (const row of result.rows) {
          found.set(
            Buffer.from(row[0] as ArrayBuffer).toString("hex"),
            new Uint8Array(row[1] as ArrayBuffer),
          );
        }
      }
      return found;
    },

    async deleteValues(refs: readonly Uint8Array[]): Promise<number> {
      const items: BatchItem<"sqlite">[] = [];
      for (let i = 0; i < refs.length; i += CHUNK) {
        items.push(
          d.delete(sealedValues).where(inArray(sealedValues.ref, refs.slice(i, i + CHUNK).map(buf))),
        );
      }
      const results = (await batch(items)) as { rowsAffected: number }[];
      return results.reduce((sum, r) => sum + r.rowsAffected, 0);
    },

    async listRefs(
      createdBefore: number,
      after: Uint8Array | undefined,
      limit: number,
    ): Promise<Uint8Array[]> {
      const older = lt(sealedValues.createdAt, createdBefore);
      const rows = await d
        .select({ ref: sealedValues.ref })
        .from(sealedValues)
        .where(after === undefined ? older : and(older, gt(sealedValues.ref, buf(after))))
        .orderBy(asc(sealedValues.ref))
        .limit(limit);
      return rows.map((r) => new Uint8Array(r.ref));
    },

    async valuesByTerm(): Promise<Map<number, number>> {
      const rows = await d
        .select({ term: sealedValues.term, n: count() })
        .from(sealedValues)
        .groupBy(sealedValues.term);
      return new Map(rows.map((r) => [r.term, r.n]));
    },

    async valuesUnder(term: number): Promise<number> {
      const rows = await d.select({ n: count() }).from(sealedValues).where(eq(sealedValues.term, term));
      return rows[0]?.n ?? 0;
    },

    async counters(): Promise<Map<number, { seals: number; resealed: number }>> {
      const rows = await d.select().from(termCounters);
      return new Map(rows.map((r) => [r.term, { seals: r.seals, resealed: r.resealed }]));
    },

    /** Up to `limit` values sealed under terms older than the active one. */
    async readStale(
      activeTerm: number,
      limit: number,
    ): Promise<{ ref: Uint8Array; term: number; blob: Uint8Array }[]> {
      return d
        .select({ ref: sealedValues.ref, term: sealedValues.term, blob: sealedValues.blob })
        .from(sealedValues)
        .where(lt(sealedValues.term, activeTerm))
        .orderBy(asc(sealedValues.term))
        .limit(limit);
    },

    /**
     * Writes re-sealed values in one transaction. Each update is guarded by the
     * term it was read under, so a value deleted or changed meanwhile is left
     * alone, and by the keyring the new seals were made under
     * (`sealedKeyring`), so a keeper that lost the race to another keeper's
     * rotation or retirement writes nothing. Null when the keyring changed.
     */
    async writeResealed(
      values: readonly ResealedValue[],
      toTerm: number,
      sealedKeyring: Uint8Array,
    ): Promise<number | null> {
      const current = buf(sealedKeyring);
      const statements: InStatement[] = [
        { sql: "SELECT count(*) FROM keyring WHERE id = 1 AND sealed = ?", args: [current] },
        ...values.map((v) => ({
          sql: `UPDATE sealed_values SET term = ?, blob = ? WHERE ref = ? AND term = ? AND ${KEYRING_IS}`,
          args: [toTerm, buf(v.blob), buf(v.ref), v.fromTerm, current],
        })),
        {
          sql: `INSERT INTO term_counters (term, seals, resealed) SELECT ?, ?, ? WHERE ${KEYRING_IS} ON CONFLICT (term) DO UPDATE SET seals = seals + excluded.seals, resealed = resealed + excluded.resealed`,
          args: [toTerm, values.length, values.length, current],
        },
      ];
      const [check, ...rest] = await db.client.batch(statements, "write");
      if (Number(check?.rows[0]?.[0] ?? 0) !== 1) return null;
      return rest.slice(0, values.length).reduce((sum, r) => sum + r.rowsAffected, 0);
    },
  };
}

/**
 * Re-keys a local vault.db at rest. libsql cannot re-key in WAL mode, so the
 * file leaves WAL for the re-key and goes back to it. Leaving WAL needs the
 * only connection to the file: the keeper opens vault.db with concurrency 1.
 */
export async function rekeyAtRest(db: Database, atRestKey: Uint8Array): Promise<void> {
  const { client } = db;
  if (!(await leaveWal(db))) {
    throw new KeeperError(
      "INTERNAL",
      "vault.db could not leave WAL mode to be re-keyed (is another process using it?)",
    );
  }
  try {
    // A pragma takes no bound parameters; the key is hex, so it cannot break out of the quotes.
    await client.execute(`PRAGMA rekey='${Buffer.from(atRestKey).toString("hex")}'`);
  } catch {
    // The cause is dropped on purpose: the failed statement holds the new key.
    throw new KeeperError("INTERNAL", "re-keying vault.db at rest failed");
  } finally {
    await client.execute("PRAGMA journal_mode=WAL");
  }
}

/**
 * Switches a local file out of WAL mode, which folds the WAL into the file
 * and removes the -wal and -shm files. Used to re-key, and at close so that a
 * stopped keeper leaves one file behind, which a later start with a wrong key
 * can fail to open without rewriting anything.
 *
 * A libsql connection closed earlier in this process (a failed start-up
 * attempt, a previous keeper in a test) keeps its lock on the file until its
 * prepared statements are garbage-collected, so a busy answer is retried
 * after a collection.
 */
export async function leaveWal(db: Database, attempts = 20): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    let mode = "";
    try {
      mode = String((await db.client.execute("PRAGMA journal_mode=DELETE")).rows[0]?.[0]).toLowerCase();
    } catch (error) {
      if (!/BUSY|locked/i.test(String((error as Error)?.message))) throw error;
    }
    if (mode === "delete") return true;
    if (attempt >= attempts) return false;
    Bun.gc(true);
    await Bun.sleep(25);
  }
}
