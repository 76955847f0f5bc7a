/**
 * A consistent copy of a database while it is in use: SQLite's `VACUUM INTO`
 * is one read transaction (in WAL mode it blocks no writer) and writes a
 * plain database encrypted with the connection's own at-rest key.
 */
import type { Database } from "./open";

const sqlString = (path: string) => `'${path.replaceAll("'", "''")}'`;

/** Writes a snapshot of the database to `path`, which must not exist. */
export async function snapshotInto(db: Database, path: string): Promise<void> {
  await db.client.execute(`VACUUM INTO ${sqlString(path)}`);
}

/** Leaves WAL mode, so that a copy is one self-contained file (no -wal or -shm beside it). */
export async function leaveWal(db: Database): Promise<void> {
  await db.client.execute("PRAGMA journal_mode=DELETE");
}
