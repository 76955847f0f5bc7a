/**
 * vault.db's tables (drizzle schema; the migrations in ./migrations are
 * generated from it with drizzle-kit and imported as text by ./migrations.ts).
 *
 * A sealed value's row holds its random ref, the term that sealed it, the
 * envelope and a creation time: nothing that names a project, an
 * environment, a user or a key name.
 */
import { sql } from "drizzle-orm";
import { blob, check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const sealedValues = sqliteTable(
  "sealed_values",
  {
    ref: blob("ref", { mode: "buffer" }).primaryKey(),
    term: integer("term").notNull(),
    blob: blob("blob", { mode: "buffer" }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("sealed_values_term").on(t.term),
    check("sealed_values_ref_length", sql`length(${t.ref}) = 16`),
  ],
);

/** The one sealed keyring (see keyring.ts). */
export const keyring = sqliteTable(
  "keyring",
  {
    id: integer("id").primaryKey(),
    sealed: blob("sealed", { mode: "buffer" }).notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [check("keyring_one_row", sql`${t.id} = 1`)],
);

/** Seals performed under each term, so the encryption cap survives restarts. */
export const termCounters = sqliteTable("term_counters", {
  term: integer("term").primaryKey(),
  /** Every seal under this term: new values and re-sealed ones. */
  seals: integer("seals").notNull().default(0),
  /** Of those, values re-sealed into this term from older terms. */
  resealed: integer("resealed").notNull().default(0),
});

/**
 * Leases on scheduled work (rotation, re-seal, retirement): when several
 * keepers share one vault.db on a libsql server, the one holding the
 * unexpired lease does the work. See lease.ts.
 */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: integer("expires_at").notNull(),
});
