/**
 * Drafts: the web editor's pending change sets, one per session and
 * environment. The operations themselves are sealed in the keeper; a row
 * holds the blob's ref, which is also listed in `refs` (in the same
 * transaction) so that the garbage collector keeps it while the draft lives.
 * Removing a draft removes both rows; the caller then deletes the blob from
 * the keeper (or leaves it to the collector, as an orphan).
 */
import type { Client } from "@libsql/client";
import { and, eq } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { drafts } from "../schema";

export type Draft = typeof drafts.$inferSelect;

export function draftsRepo(db: AppDrizzle, client: Client) {
  return {
    async forSession(tokenId: string, environmentId: string): Promise<Draft | undefined> {
      return db.query.drafts.findFirst({
        where: and(eq(drafts.tokenId, tokenId), eq(drafts.environmentId, environmentId)),
      });
    },

    /** Every draft of a session (to remove them when it signs out). */
    async ofSession(tokenId: string): Promise<Pick<Draft, "id" | "ref">[]> {
      return db.select({ id: drafts.id, ref: drafts.ref }).from(drafts).where(eq(drafts.tokenId, tokenId));
    },

    /** A new draft and its ref; false when the session already has one for this environment. */
    async create(draft: Draft): Promise<boolean> {
      const tx = await client.transaction("write");
      try {
        const made = await tx.execute({
          sql: "INSERT INTO drafts (id, user_id, token_id, environment_id, base_version, ref, revision, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          args: [
            draft.id,
            draft.userId,
            draft.tokenId,
            draft.environmentId,
            draft.baseVersion,
            draft.ref,
            draft.revision,
            draft.updatedAt,
            draft.expiresAt,
          ],
        });
        if (made.rowsAffected === 0) return false;
        await tx.execute({
          sql: "INSERT INTO refs (ref, environment_id, created_at) VALUES (?, ?, ?)",
          args: [draft.ref, draft.environmentId, draft.updatedAt],
        });
        await tx.commit();
        return true;
      } finally {
        tx.close();
      }
    },

    /**
     * Replaces a draft's blob (and base version), if it is still at `revision`: the new ref
     * joins `refs` and the old one leaves it, in one transaction. False when another change
     * got there first (or the draft is gone); the caller then drops the new blob.
     */
    async replace(
      current: Pick<Draft, "id" | "revision" | "ref" | "environmentId">,
      next: Pick<Draft, "ref" | "baseVersion" | "updatedAt" | "expiresAt">,
    ): Promise<boolean> {
      const tx = await client.transaction("write");
      try {
        const updated = await tx.execute({
          sql: "UPDATE drafts SET ref = ?, base_version = ?, revision = revision + 1, updated_at = ?, expires_at = ? WHERE id = ? AND revision = ?",
          args: [next.ref, next.baseVersion, next.updatedAt, next.expiresAt, current.id, current.revision],
        });
        if (updated.rowsAffected === 0) return false;
        await tx.execute({
          sql: "INSERT INTO refs (ref, environment_id, created_at) VALUES (?, ?, ?)",
          args: [next.ref, current.environmentId, next.updatedAt],
        });
        await tx.execute({ sql: "DELETE FROM refs WHERE ref = ?", args: [current.ref] });
        await tx.commit();
        return true;
      } finally {
        tx.close();
      }
    },

    /** Removes a draft and its ref's row; the ref, for the keeper, or undefined when it was gone. */
    async remove(id: string): Promise<Buffer | undefined> {
      const tx = await client.transaction("write");
      try {
        const gone = await tx.execute({ sql: "DELETE FROM drafts WHERE id = ? RETURNING ref", args: [id] });
        const row = gone.rows[0];
        if (!row) return undefined;
        const ref = Buffer.from(row.ref as ArrayBuffer);
        await tx.execute({ sql: "DELETE FROM refs WHERE ref = ?", args: [ref] });
        await tx.commit();
        return ref;
      } finally {
        tx.close();
      }
    },

    /**
     * Drafts nobody can use any more: expired, or whose session ended (revoked, expired, gone).
     * At most `limit`, oldest first.
     */
    async unusable(now: number, limit: number): Promise<Pick<Draft, "id" | "ref">[]> {
      const rows = await client.execute({
        sql: `SELECT d.id, d.ref FROM drafts d LEFT JOIN tokens t ON t.id = d.token_id
              WHERE d.expires_at <= ? OR t.id IS NULL OR t.revoked_at IS NOT NULL
                 OR (t.expires_at IS NOT NULL AND t.expires_at <= ?)
              ORDER BY d.expires_at LIMIT ?`,
        args: [now, now, limit],
      });
      return rows.rows.map((r) => ({ id: String(r.id), ref: Buffer.from(r.ref as ArrayBuffer) }));
    },
  };
}
