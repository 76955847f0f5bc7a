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
 * A keeper reloads the keyring when it changed under it (at each tick), so
 * it seals under the new term soon after another keeper rotated; retirement
 * of a drained term waits `RETIRE_GRACE_MS` after the rotation on a shared
 * database, so that every keeper has reloaded before an old key is destroyed.
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

/** Replaces the keyring only if the stored one is still `expected`; false when another keeper changed it. */
export async function swapKeyring(
  db: Database,
  expected: Uint8Array | null,
  sealed: Uint8Array,
  at: number,
  newTerm?: number,
): Promise<boolean> {
  const blob = Buffer.from(sealed);
  const first =
    expected === null
      ? {
          sql: "INSERT INTO keyring (id, sealed, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
          args: [blob, at],
        }
      : {
          sql: "UPDATE keyring SET sealed = ?, updated_at = ? WHERE id = 1 AND sealed = ?",
          args: [blob, at, Buffer.from(expected)],
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
