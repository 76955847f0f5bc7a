/**
 * Several keepers on one vault.db (a libsql server): two rules keep them
 * from undoing each other.
 *
 * 1. Scheduled work (rotation, re-seal, retirement) runs only under the
 *    `scheduled-work` lease: one row (name, holder, expires_at), taken or
 *    renewed in one statement that succeeds only when the row is free,
 *    expired, or already ours. A keeper that dies loses it at expiry.
 * 2. The keyring row is replaced by compare-and-swap on its sealed bytes: a
 *    keeper whose copy is stale cannot overwrite a newer keyring (which
 *    would destroy the keys of values sealed under it); it reloads instead.
 *
 * 3. Every write of sealed values (a put, a re-seal batch) is guarded by the
 *    keyring it sealed under: it commits only if the stored keyring is still
 *    those sealed bytes, in the same transaction. A keeper whose keyring went
 *    stale (it stalled past a rotation, or past a retirement) writes nothing,
 *    reloads and seals again under the current active term. So no value is
 *    written under a term another keeper has made draining or retired, and
 *    a retirement (whose swap also requires that no value uses the term)
 *    never destroys a key a value still needs.
 *
 * A keeper also reloads the keyring at each tick, so it usually seals under
 * the new term before any write fails its guard; retirement of a drained term
 * still waits `RETIRE_GRACE_MS` after the rotation on a shared database, so
 * that every keeper has reloaded and reads of re-sealed values rarely meet a
 * term they do not know yet (a get that does reloads once).
 */
import { timingSafeEqual } from "node:crypto";
import type { Database } from "../db";

export const SCHEDULED_WORK = "scheduled-work";
export const LEASE_TTL_MS = 60_000;
/** Longer than a few idle ticks (15 s) of every other keeper. */
export const RETIRE_GRACE_MS = 120_000;

export interface Lease {
  readonly holder: string;
  /** Takes or renews the lease; false when another keeper holds an unexpired one. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

export function createLease(
  db: Database,
  options: { name: string; holder: string; ttlMs?: number; now: () => number },
): Lease {
  const { name, holder, now } = options;
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  return {
    holder,
    async acquire() {
      const t = now();
      const [, read] = await db.client.batch(
        [
          {
            sql: `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
                  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                  WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
            args: [name, holder, t + ttlMs, t],
          },
          { sql: "SELECT holder FROM leases WHERE name = ?", args: [name] },
        ],
        "write",
      );
      return read?.rows[0]?.holder === holder;
    },
    async release() {
      await db.client.execute({
        sql: "DELETE FROM leases WHERE name = ? AND holder = ?",
        args: [name, holder],
      });
    },
  };
}

/**
 * Replaces the keyring only if the stored one is still `expected`; false when
 * another keeper changed it. With `retiring`, also only if no value is sealed
 * under those terms at that moment: the count and the swap are one statement,
 * so no write can slip in between them.
 */
export async function swapKeyring(
  db: Database,
  expected: Uint8Array | null,
  sealed: Uint8Array,
  at: number,
  newTerm?: number,
  retiring: readonly number[] = [],
): Promise<boolean> {
  const blob = Buffer.from(sealed);
  const unused =
    retiring.length === 0
      ? ""
      : ` AND NOT EXISTS (SELECT 1 FROM sealed_values WHERE term IN (${retiring.map(() => "?").join(", ")}))`;
  const first =
    expected === null
      ? {
          sql: "INSERT INTO keyring (id, sealed, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
          args: [blob, at],
        }
      : {
          sql: `UPDATE keyring SET sealed = ?, updated_at = ? WHERE id = 1 AND sealed = ?${unused}`,
          args: [blob, at, Buffer.from(expected), ...retiring],
        };
  const counter =
    newTerm === undefined
      ? []
      : [
          {
            sql: "INSERT INTO term_counters (term, seals, resealed) SELECT ?, 0, 0 WHERE (SELECT sealed FROM keyring WHERE id = 1) = ? ON CONFLICT (term) DO NOTHING",
            args: [newTerm, blob],
          },
        ];
  const [result] = await db.client.batch([first, ...counter], "write");
  return (result?.rowsAffected ?? 0) === 1;
}

export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && timingSafeEqual(a, b);
}
