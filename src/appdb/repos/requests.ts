/**
 * Protected environments and their change requests (migration 0012). A
 * request's proposed change is sealed in the keeper; its ref is listed in
 * `refs` while the request is open (same transaction), so the garbage
 * collector keeps it, and leaves `refs` when the request is closed or
 * rebased (the caller then deletes the blob, or leaves it to the collector).
 */
import type { Client } from "@libsql/client";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { changeRequests, environmentProtections } from "../schema";

export type Protection = typeof environmentProtections.$inferSelect;
export type ChangeRequest = typeof changeRequests.$inferSelect;
export type RequestState = ChangeRequest["state"];

export function requestsRepo(db: AppDrizzle, client: Client) {
  // Asked on every change (is the environment protected?): prepared once.
  const protectionOf = db
    .select()
    .from(environmentProtections)
    .where(eq(environmentProtections.environmentId, sql.placeholder("id")))
    .prepare();
  return {
    async protection(environmentId: string): Promise<Protection | undefined> {
      return protectionOf.get({ id: environmentId });
    },

    async protections(environmentIds: string[]): Promise<Protection[]> {
      if (environmentIds.length === 0) return [];
      return db
        .select()
        .from(environmentProtections)
        .where(inArray(environmentProtections.environmentId, environmentIds));
    },

    async protect(protection: Protection): Promise<void> {
      await db
        .insert(environmentProtections)
        .values(protection)
        .onConflictDoUpdate({
          target: environmentProtections.environmentId,
          set: { approvers: protection.approvers, allowTokenBypass: protection.allowTokenBypass },
        });
    },

    /** True when the environment was protected. */
    async unprotect(environmentId: string): Promise<boolean> {
      const gone = await db
        .delete(environmentProtections)
        .where(eq(environmentProtections.environmentId, environmentId))
        .returning({ id: environmentProtections.environmentId });
      return gone.length > 0;
    },

    /**
     * A new open request, numbered next in its project, with its ref listed in `refs`, in one
     * transaction. Returns its number.
     */
    async open(request: Omit<ChangeRequest, "number">): Promise<number> {
      const tx = await client.transaction("write");
      try {
        const next = await tx.execute({
          sql: "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM change_requests WHERE project_id = ?",
          args: [request.projectId],
        });
        const number = Number(next.rows[0]!.n);
        await tx.execute({
          sql: `INSERT INTO change_requests (id, project_id, environment_id, number, author_kind, author_id,
                author_label, kind, base_version, ref, summary, state, revision, reason, decided_by_id,
                decided_by_label, decided_at, applied_version, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [
            request.id,
            request.projectId,
            request.environmentId,
            number,
            request.authorKind,
            request.authorId,
            request.authorLabel,
            request.kind,
            request.baseVersion,
            request.ref,
            request.summary,
            request.state,
            request.revision,
            request.reason,
            request.decidedById,
            request.decidedByLabel,
            request.decidedAt,
            request.appliedVersion,
            request.createdAt,
            request.updatedAt,
          ],
        });
        if (request.ref) {
          await tx.execute({
            sql: "INSERT INTO refs (ref, environment_id, created_at) VALUES (?, ?, ?)",
            args: [request.ref, request.environmentId, request.createdAt],
          });
        }
        await tx.commit();
        return number;
      } finally {
        tx.close();
      }
    },

    async byNumber(projectId: string, number: number): Promise<ChangeRequest | undefined> {
      return db.query.changeRequests.findFirst({
        where: and(eq(changeRequests.projectId, projectId), eq(changeRequests.number, number)),
      });
    },

    /** A project's requests, newest first: open ones only, or every one; of some environments. */
    async list(
      projectId: string,
      options: { environmentIds?: string[]; open: boolean; limit: number },
    ): Promise<ChangeRequest[]> {
      const where = [eq(changeRequests.projectId, projectId)];
      if (options.environmentIds) where.push(inArray(changeRequests.environmentId, options.environmentIds));
      if (options.open) where.push(eq(changeRequests.state, "open"));
      return db
        .select()
        .from(changeRequests)
        .where(and(...where))
        .orderBy(desc(changeRequests.number))
        .limit(options.limit);
    },

    /**
     * Closes an open request at `revision` (rejected, withdrawn, applied): its ref leaves `refs`.
     * False when it was not open at that revision any more (someone else got there first).
     */
    async close(
      current: Pick<ChangeRequest, "id" | "revision" | "ref">,
      next: Pick<
        ChangeRequest,
        "state" | "reason" | "decidedById" | "decidedByLabel" | "decidedAt" | "appliedVersion" | "updatedAt"
      >,
    ): Promise<boolean> {
      const tx = await client.transaction("write");
      try {
        const updated = await tx.execute({
          sql: `UPDATE change_requests SET state = ?, reason = ?, decided_by_id = ?, decided_by_label = ?,
                decided_at = ?, applied_version = ?, updated_at = ?, ref = NULL
                WHERE id = ? AND state = 'open' AND revision = ?`,
          args: [
            next.state,
            next.reason,
            next.decidedById,
            next.decidedByLabel,
            next.decidedAt,
            next.appliedVersion,
            next.updatedAt,
            current.id,
            current.revision,
          ],
        });
        if (updated.rowsAffected === 0) return false;
        if (current.ref) await tx.execute({ sql: "DELETE FROM refs WHERE ref = ?", args: [current.ref] });
        await tx.commit();
        return true;
      } finally {
        tx.close();
      }
    },

    /** Replaces an open request's change (a rebase): new ref, base, kind and summary; false if it moved. */
    async rebase(
      current: Pick<ChangeRequest, "id" | "revision" | "ref" | "environmentId">,
      next: Pick<ChangeRequest, "ref" | "baseVersion" | "kind" | "summary" | "updatedAt">,
    ): Promise<boolean> {
      const tx = await client.transaction("write");
      try {
        const updated = await tx.execute({
          sql: `UPDATE change_requests SET ref = ?, base_version = ?, kind = ?, summary = ?, updated_at = ?,
                revision = revision + 1 WHERE id = ? AND state = 'open' AND revision = ?`,
          args: [
            next.ref,
            next.baseVersion,
            next.kind,
            next.summary,
            next.updatedAt,
            current.id,
            current.revision,
          ],
        });
        if (updated.rowsAffected === 0) return false;
        if (next.ref) {
          await tx.execute({
            sql: "INSERT INTO refs (ref, environment_id, created_at) VALUES (?, ?, ?)",
            args: [next.ref, current.environmentId, next.updatedAt],
          });
        }
        if (current.ref) await tx.execute({ sql: "DELETE FROM refs WHERE ref = ?", args: [current.ref] });
        await tx.commit();
        return true;
      } finally {
        tx.close();
      }
    },
  };
}
