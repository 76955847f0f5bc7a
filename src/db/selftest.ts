/**
 * The libsql self-test `vault selftest` runs in a compiled binary: in a fresh
 * temporary directory, an encrypted database is written, read back after
 * reopening, does not start with the plain SQLite header, and refuses a
 * wrong key as WRONG_KEY. It throws an Error saying what failed.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseError, openDatabase } from "./open";

const SQLITE_HEADER = "SQLite format 3\0";

export async function checkEncryptedDatabase(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vault-selftest-"));
  try {
    const location = join(dir, "selftest.db");
    const key = new Uint8Array(randomBytes(32));
    const db = await openDatabase({ location, atRestKey: key, label: "selftest.db" });
    try {
      await db.client.execute("CREATE TABLE t (v TEXT NOT NULL)");
      await db.client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["selftest"] });
    } finally {
      db.close();
    }

    const again = await openDatabase({ location, atRestKey: key, label: "selftest.db" });
    try {
      const rows = await again.client.execute("SELECT v FROM t");
      if (rows.rows.length !== 1 || rows.rows[0]?.v !== "selftest")
        throw new Error("the row did not survive reopening");
    } finally {
      again.close();
    }

    const header = readFileSync(location).subarray(0, SQLITE_HEADER.length).toString("latin1");
    if (header === SQLITE_HEADER) throw new Error("the database file is not encrypted");

    const wrong = new Uint8Array(randomBytes(32));
    const refused = await openDatabase({ location, atRestKey: wrong, label: "selftest.db" }).then(
      (db) => {
        db.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    if (!(refused instanceof DatabaseError) || refused.code !== "WRONG_KEY") {
      throw new Error("a wrong key was not refused as WRONG_KEY");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
