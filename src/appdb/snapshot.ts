/** What a snapshot of app.db is checked by: every ref it names, which the keeper must hold. */
import type { Database } from "../db";

const hexOf = (value: unknown) => Buffer.from(value as ArrayBuffer).toString("hex");

/**
 * Every ref app.db names, in hex: the versions' refs, and personal
 * overrides' (migration 0010 keeps those on their own rows, not in refs). A
 * database from before 0010 has no overrides table.
 */
export async function refsNamed(db: Database): Promise<Set<string>> {
  const overrides = await db.client.execute(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'overrides'",
  );
  const rows = await db.client.execute(
    overrides.rows.length > 0
      ? "SELECT ref FROM refs UNION SELECT ref FROM overrides"
      : "SELECT ref FROM refs",
  );
  return new Set(rows.rows.map((r) => hexOf(r[0])));
}
