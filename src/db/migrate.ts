/**
 * A small, embedded migration runner.
 *
 * A compiled binary cannot read a migrations folder, so each store imports its
 * generated `.sql` files as text and hands them here in order. Applied
 * migrations are recorded by name and SHA-256 in `_migrations`; a recorded
 * migration whose text changed is refused rather than silently skipped.
 */
import { createHash } from "node:crypto";
import type { Client, InStatement } from "@libsql/client";
import type { Database } from "./open";

export interface Migration {
  name: string;
  sql: string;
  /**
   * Statements computed in code (from what the database holds, with a key
   * the SQL cannot have), run after `sql` in the same transaction, so the
   * migration is recorded if and only if they ran. Only `sql` is hashed.
   */
  prepare?: (client: Client) => Promise<InStatement[]>;
}

const BREAKPOINT = "--> statement-breakpoint";

export async function migrate(db: Database, migrations: readonly Migration[]): Promise<string[]> {
  const { client } = db;
  await client.execute(
    "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, hash TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  const applied = new Map<string, string>();
  for (const row of (await client.execute("SELECT name, hash FROM _migrations")).rows) {
    applied.set(String(row.name), String(row.hash));
  }
  const known = new Set(migrations.map((m) => m.name));
  for (const name of applied.keys()) {
    if (!known.has(name)) {
      throw new Error(
        `${db.label}: the database has migration ${name}, which this binary does not know (newer schema?)`,
      );
    }
  }
  const ran: string[] = [];
  for (const migration of migrations) {
    const hash = createHash("sha256").update(migration.sql).digest("hex");
    const previous = applied.get(migration.name);
    if (previous !== undefined) {
      if (previous !== hash)
        throw new Error(`${db.label}: migration ${migration.name} was changed after it was applied`);
      continue;
    }
    const statements = migration.sql
      .split(BREAKPOINT)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const computed = migration.prepare ? await migration.prepare(client) : [];
    await client.batch(
      [
        ...statements,
        ...computed,
        {
          sql: "INSERT INTO _migrations (name, hash, applied_at) VALUES (?, ?, ?)",
          args: [migration.name, hash, Date.now()],
        },
      ],
      "write",
    );
    ran.push(migration.name);
  }
  return ran;
}

/** The names of the migrations recorded in a database (for `status`/`doctor`). */
export async function appliedMigrations(db: Database): Promise<string[]> {
  const rows = await db.client.execute("SELECT name FROM _migrations ORDER BY name");
  return rows.rows.map((r) => String(r.name));
}
