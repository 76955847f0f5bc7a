import { asc, eq, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { users } from "../schema";

export type User = typeof users.$inferSelect;
export type Role = User["role"];

/** When repeated wrong passwords lock an account. */
export interface LockoutRule {
  failures: number;
  windowMs: number;
  lockMs: number;
}

/** What one wrong password did to the account's counters. */
export type FailureOutcome =
  | { kind: "counted"; failures: number }
  /** This failure reached the limit: the account is locked until `lockedUntil`. */
  | { kind: "locked"; failures: number; lockedUntil: number }
  /** The account was already locked (by a failure that finished first): nothing was counted. */
  | { kind: "already-locked"; lockedUntil: number };

export function usersRepo(db: AppDrizzle) {
  const byId = db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare();
  return {
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)` }).from(users);
      return Number(row?.n ?? 0);
    },
    async byEmail(email: string): Promise<User | undefined> {
      return db.query.users.findFirst({ where: eq(users.email, email.toLowerCase()) });
    },
    async byId(id: string): Promise<User | undefined> {
      return byId.get({ id });
    },
    async list(): Promise<User[]> {
      return db.select().from(users).orderBy(asc(users.createdAt), asc(users.email));
    },
    async insert(user: typeof users.$inferInsert): Promise<void> {
      await db.insert(users).values({ ...user, email: user.email.toLowerCase() });
    },
    async update(id: string, changes: Partial<typeof users.$inferInsert>): Promise<void> {
      await db.update(users).set(changes).where(eq(users.id, id));
    },
    /**
     * Applies changes (a disabling, a new role) unless they would leave the
     * instance without an active owner, in one statement: two owners
     * demoting each other at once cannot both succeed. False when `id` is
     * the last active owner (nothing changed) or does not exist.
     */
    async updateKeepingAnOwner(id: string, changes: Partial<typeof users.$inferInsert>): Promise<boolean> {
      const rows = await db
        .update(users)
        .set(changes)
        .where(
          sql`"users"."id" = ${id} AND ("users"."role" != 'owner' OR "users"."disabled_at" IS NOT NULL OR EXISTS (SELECT 1 FROM "users" AS "o" WHERE "o"."role" = 'owner' AND "o"."disabled_at" IS NULL AND "o"."id" != ${id}))`,
        )
        .returning({ id: users.id });
      return rows.length > 0;
    },
    /**
     * Counts one wrong password, in one statement: parallel failures are
     * serialized by the database, so each one counts (a read and a write
     * back would let them all read the same count). The count restarts when
     * the window has passed; reaching the limit locks the account and clears
     * the count. While the account is locked nothing is counted.
     */
    async recordFailure(id: string, at: number, rule: LockoutRule): Promise<FailureOutcome> {
      const fresh = sql`(${users.failedWindowStart} IS NULL OR ${at} - ${users.failedWindowStart} > ${rule.windowMs})`;
      const next = sql`(CASE WHEN ${fresh} THEN 1 ELSE ${users.failedLogins} + 1 END)`;
      const locks = sql`(${next} >= ${rule.failures})`;
      const [row] = await db
        .update(users)
        .set({
          failedLogins: sql`CASE WHEN ${locks} THEN 0 ELSE ${next} END`,
          failedWindowStart: sql`CASE WHEN ${locks} THEN NULL WHEN ${fresh} THEN ${at} ELSE ${users.failedWindowStart} END`,
          lockedUntil: sql`CASE WHEN ${locks} THEN ${at + rule.lockMs} ELSE ${users.lockedUntil} END`,
        })
        .where(sql`${users.id} = ${id} AND (${users.lockedUntil} IS NULL OR ${users.lockedUntil} <= ${at})`)
        .returning({ failedLogins: users.failedLogins, lockedUntil: users.lockedUntil });
      if (!row) {
        const now = await byId.get({ id });
        return { kind: "already-locked", lockedUntil: now?.lockedUntil ?? at + rule.lockMs };
      }
      if (row.lockedUntil !== null && row.lockedUntil > at)
        return { kind: "locked", failures: rule.failures, lockedUntil: row.lockedUntil };
      return { kind: "counted", failures: row.failedLogins };
    },
    /**
     * Clears the failure count after a right password, unless the account
     * was locked meanwhile (by failures that finished while this password
     * was being checked): then false, and the sign-in must be refused.
     */
    async recordSuccess(id: string, at: number): Promise<boolean> {
      const rows = await db
        .update(users)
        .set({ failedLogins: 0, failedWindowStart: null, lockedUntil: null })
        .where(sql`${users.id} = ${id} AND (${users.lockedUntil} IS NULL OR ${users.lockedUntil} <= ${at})`)
        .returning({ id: users.id });
      return rows.length > 0;
    },
  };
}

export type UsersRepo = ReturnType<typeof usersRepo>;
