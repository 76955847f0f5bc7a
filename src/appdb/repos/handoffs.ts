import { and, eq, isNull, lt } from "drizzle-orm";
import type { AppDrizzle } from "../open";
import { handoffs } from "../schema";

export type Handoff = typeof handoffs.$inferSelect;
export type HandoffKind = Handoff["kind"];

export function handoffsRepo(db: AppDrizzle) {
  return {
    async get(id: string): Promise<Handoff | undefined> {
      return db.query.handoffs.findFirst({ where: eq(handoffs.id, id) });
    },
    /** Records a request id the first time a page shows it; an id already known keeps its first record. */
    async open(h: typeof handoffs.$inferInsert): Promise<void> {
      await db.insert(handoffs).values(h).onConflictDoNothing();
    },
    /**
     * The CLI's first poll claims a request with the hash of its secret (the
     * row is made if no page has shown the id yet); a later claim never
     * replaces it. Returns the row as it stands.
     */
    async claim(h: typeof handoffs.$inferInsert & { pollHash: string }): Promise<Handoff> {
      await db.insert(handoffs).values(h).onConflictDoNothing();
      await db
        .update(handoffs)
        .set({ pollHash: h.pollHash })
        .where(and(eq(handoffs.id, h.id), isNull(handoffs.pollHash)));
      return (await db.query.handoffs.findFirst({ where: eq(handoffs.id, h.id) }))!;
    },
    /** Binds a result to a request that has none yet; false when it was bound already. */
    async bind(id: string, result: string, projectId: string | null): Promise<boolean> {
      const rows = await db
        .update(handoffs)
        .set({ result, projectId })
        .where(and(eq(handoffs.id, id), isNull(handoffs.result)))
        .returning({ id: handoffs.id });
      return rows.length === 1;
    },
    /** Hands the result over once: the row keeps only that it was collected. */
    async collect(id: string, at: number): Promise<boolean> {
      const rows = await db
        .update(handoffs)
        .set({ collectedAt: at, result: "" })
        .where(and(eq(handoffs.id, id), isNull(handoffs.collectedAt)))
        .returning({ id: handoffs.id });
      return rows.length === 1;
    },
    async purgeExpired(before: number): Promise<void> {
      await db.delete(handoffs).where(lt(handoffs.expiresAt, before));
    },
  };
}

export type HandoffsRepo = ReturnType<typeof handoffsRepo>;
