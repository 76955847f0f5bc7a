/** What a snapshot of vault.db is checked by: the refs of the sealed values it holds. */
import type { Database } from "../db";

/** Every ref vault.db holds a sealed value for, in hex. */
export async function refsHeld(db: Database): Promise<Set<string>> {
  const rows = await db.client.execute("SELECT ref FROM sealed_values");
  return new Set(rows.rows.map((r) => Buffer.from(r[0] as ArrayBuffer).toString("hex")));
}
