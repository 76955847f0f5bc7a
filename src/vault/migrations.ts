/**
 * vault.db's migrations, embedded as text (a compiled binary cannot read a
 * folder). Generated from ./schema.ts with drizzle-kit; append, never edit.
 */
import type { Migration } from "../db";
import init from "./migrations/0000_init.sql" with { type: "text" };
import leases from "./migrations/0001_leases.sql" with { type: "text" };

export const vaultMigrations: readonly Migration[] = [
  { name: "0000_init", sql: init },
  { name: "0001_leases", sql: leases },
];
