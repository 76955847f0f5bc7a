import { and, eq, isNull, lt, lte, ne, sql } from "drizzle-orm";
import { type Database, truncateWal } from "../../db";
import type { AppDrizzle } from "../orm";
import { handoffOrigins, handoffs } from "../schema";

export type Handoff = typeof handoffs.$inferSelect;
export type HandoffKind = Handoff["kind"];
export type HandoffOrigin = typeof handoffOrigins.$inferSelect;

/**
 * A bound result is a credential (sealed): once it is collected or expired it
 * must be gone from the files too, not only from the row. app.db overwrites
 * freed space (secure_delete, src/db/open.ts), and after those rare writes
 * the WAL, whose older frames still hold the page with the result, is folded
 * into the file and truncated. Best effort: a reader elsewhere (a backup)
 * can keep it from finishing, and the next one tries again.
 */
export function handoffsRepo(db: AppDrizzle, database: Pick<Database, "client" | "remote">) {
  const forget = () => truncateWal(database).catch(() => false);
  const wipe = async (at: number) =>
    (
      await db
        .update(handoffs)
        .set({ result: "" })
        .where(and(lte(handoffs.expiresAt, at), ne(handoffs.result, "")))
        .returning({ id: handoffs.id })
    ).length;
  return {
    async get(id: string): Promise<Handoff | undefined> {
      return db.query.handoffs.findFirst({ where: eq(handoffs.id, id) });
    },
    /** Records a request id the first time a page shows it; an id already known keeps its first record. */
    async open(h: typeof handoffs.$inferInsert): Promise<void> {
      await db.insert(handoffs).values(h).onConflictDoNothing();
    },
    /**
     * The CLI's first poll claims a request with the hash of its secret and
     * of its verification code (the row is made if no page has shown the id
     * yet); a later claim never replaces them. Returns the row as it stands.
     */
    async claim(
      h: typeof handoffs.$inferInsert & { pollHash: string; codeHash: string | null },
    ): Promise<Handoff> {
      await db.insert(handoffs).values(h).onConflictDoNothing();
      await db
        .update(handoffs)
        .set({ pollHash: h.pollHash, codeHash: h.codeHash })
        // Never once approved: a poll hash cleared behind the app's back must not let another secret collect.
        .where(
          and(
            eq(handoffs.id, h.id),
            eq(handoffs.kind, h.kind),
            isNull(handoffs.pollHash),
            isNull(handoffs.result),
          ),
        );
      return (await db.query.handoffs.findFirst({ where: eq(handoffs.id, h.id) }))!;
    },
    /**
     * Takes one of a request's `limit` code attempts, atomically (parallel attempts cannot share
     * one): the attempt's number, or undefined when none is left or the request is settled.
     */
    async takeCodeAttempt(id: string, limit: number): Promise<number | undefined> {
      const rows = await db
        .update(handoffs)
        .set({ codeAttempts: sql`${handoffs.codeAttempts} + 1` })
        .where(
          and(
            eq(handoffs.id, id),
            lt(handoffs.codeAttempts, limit),
            isNull(handoffs.result),
            isNull(handoffs.refusedAt),
          ),
        )
        .returning({ attempts: handoffs.codeAttempts });
      return rows[0]?.attempts;
    },
    /** Refuses a pending request for good (too many wrong codes). */
    async refuse(id: string, at: number): Promise<void> {
      await db
        .update(handoffs)
        .set({ refusedAt: at })
        .where(and(eq(handoffs.id, id), isNull(handoffs.result)));
    },
    /** Records where a request came from, the first time it is polled; later polls change nothing. */
    async recordOrigin(origin: HandoffOrigin): Promise<void> {
      await db.insert(handoffOrigins).values(origin).onConflictDoNothing();
    },
    async origin(id: string): Promise<HandoffOrigin | undefined> {
      return db.query.handoffOrigins.findFirst({ where: eq(handoffOrigins.requestId, id) });
    },
    /** Binds a result to a request that has none yet; false when it was bound (or refused) already. */
    async bind(id: string, result: string, projectId: string | null): Promise<boolean> {
      const rows = await db
        .update(handoffs)
        .set({ result, projectId })
        .where(and(eq(handoffs.id, id), isNull(handoffs.result), isNull(handoffs.refusedAt)))
        .returning({ id: handoffs.id });
      return rows.length === 1;
    },
    /**
     * Hands the result over once: the row keeps only that it was collected.
     * The results of requests that expired meanwhile are wiped with it.
     */
    async collect(id: string, at: number): Promise<boolean> {
      const rows = await db
        .update(handoffs)
        .set({ collectedAt: at, result: "" })
        .where(and(eq(handoffs.id, id), isNull(handoffs.collectedAt)))
        .returning({ id: handoffs.id });
      if (rows.length !== 1) return false;
      await wipe(at);
      await forget();
      return true;
    },
    /**
     * Wipes the results of requests that expired by a time: a result bound
     * but never collected is a credential waiting for nobody. The rows stay,
     * so an expired request id is still refused, never taken as new.
     */
    async wipeExpired(at: number): Promise<number> {
      const wiped = await wipe(at);
      if (wiped > 0) await forget();
      return wiped;
    },
    /** Deletes the requests that expired before a time; returns how many. */
    /**
     * Removes requests that expired before `before`, and the origins of first
     * polls seen before it (an origin is recorded for any id polled, known or
     * not): without this, anonymous polls would grow app.db without bound.
     */
    async purgeExpired(before: number): Promise<number> {
      const rows = await db
        .delete(handoffs)
        .where(lt(handoffs.expiresAt, before))
        .returning({ id: handoffs.id });
      const origins = await db
        .delete(handoffOrigins)
        .where(lt(handoffOrigins.seenAt, before))
        .returning({ id: handoffOrigins.requestId });
      if (rows.length > 0) await forget();
      return rows.length + origins.length;
    },
  };
}

export type HandoffsRepo = ReturnType<typeof handoffsRepo>;
