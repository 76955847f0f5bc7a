/**
 * A small, embedded migration runner.
 *
 * A compiled binary cannot read a migrations folder, so each store imports its
 * generated `.sql` files as text and hands them here in order. Applied
 * migrations are recorded by name and SHA-256 in `_migrations`; a recorded
 * migration whose text changed is refused rather than silently skipped.
 */
import { createHash } from "node:crypto";
import type { Transaction } from "@libsql/client";
import type { Database } from "./open";

export interface Migration {
  name: string;
  sql: string;
  /**
   * The migration has a code step (a MigrationHook: data computed with a key
   * the SQL cannot have) and must not be applied without it. Only `sql` is hashed.
   */
  needsHook?: boolean;
}

/**
 * Work that must commit with a migration or not at all: it runs inside the
 * migration's transaction, after its statements (data the SQL alone cannot
 * compute, such as MACs under a key the database does not hold).
 */
export type MigrationHook = (tx: Transaction) => Promise<unknown>;

const BREAKPOINT = "--> statement-breakpoint";

export async function migrate(
  db: Database,
  migrations: readonly Migration[],
  hooks: Readonly<Record<string, MigrationHook>> = {},
): Promise<string[]> {
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
    const record = {
      sql: "INSERT INTO _migrations (name, hash, applied_at) VALUES (?, ?, ?)",
      args: [migration.name, hash, Date.now()],
    };
    const hook = hooks[migration.name];
    if (hook === undefined && migration.needsHook) {
      throw new Error(`${db.label}: migration ${migration.name} has a code step that was not supplied`);
    }
    if (hook === undefined) {
      await client.batch([...statements, record], "write");
    } else {
      const tx = await client.transaction("write");
      try {
        for (const statement of statements) await tx.execute(statement);
        await hook(tx);
        await tx.execute(record);
        await tx.commit();
      } finally {
        tx.close();
      }
    }
    ran.push(migration.name);
  }
  return ran;
}

/** The names of the migrations recorded in a database (for `status`/`doctor`). */
export async function appliedMigrations(db: Database): Promise<string[]> {
  const rows = await db.client.execute("SELECT name FROM _migrations ORDER BY name");
  return rows.rows.map((r) => String(r.name));
}
