/**
 * The audit log: append-only, hash-chained. Each row stores the hash of the
 * row before it, and `meta.audit_head` stores the last row's seq and hash, so
 * an edited, inserted or removed row (the last one too) breaks the chain at a
 * row that `verify` names.
 */
import { createHash } from "node:crypto";
import type { Client } from "@libsql/client";
import { and, asc, desc, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import type { AppDrizzle } from "../open";
import { audit, meta } from "../schema";

export type AuditRow = typeof audit.$inferSelect;
export type AuditEvent = Omit<AuditRow, "seq" | "prevHash" | "hash">;

export const GENESIS = "0".repeat(64);
const HEAD_KEY = "audit_head";

export function hashEvent(seq: number, prevHash: string, e: AuditEvent): string {
  const canonical = JSON.stringify([
    seq,
    prevHash,
    e.at,
    e.action,
    e.actorKind,
    e.actorId ?? null,
    e.actorLabel ?? null,
    e.projectId ?? null,
    e.environmentId ?? null,
    e.detail ?? null,
    e.ip ?? null,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

export interface AuditFilter {
  projectId?: string;
  actorId?: string;
  action?: string;
  since?: number;
  until?: number;
  limit: number;
  /** Return events with seq below this (paging backwards). */
  before?: number;
}

export type VerifyResult =
  | { ok: true; rows: number }
  | { ok: false; rows: number; seq: number; problem: string };

/**
 * An event whose text is well-formed Unicode. A client can put a lone
 * surrogate in what an event records (an email it signed in with); stored as
 * is, it would not be the UTF-8 the hash was computed over, and libsql aborts
 * the process when it reads such text back. U+FFFD takes its place before the
 * hash, so the stored row and its hash agree.
 */
function wellFormed(e: AuditEvent): AuditEvent {
  const out = { ...e } as Record<string, unknown>;
  for (const [key, value] of Object.entries(out)) {
    if (typeof value === "string" && !value.isWellFormed()) out[key] = value.toWellFormed();
  }
  return out as AuditEvent;
}

/** The columns of an audit row, in the order the insert reads them. */
const COLUMNS = [
  "seq",
  "at",
  "action",
  "actorKind",
  "actorId",
  "actorLabel",
  "projectId",
  "environmentId",
  "detail",
  "ip",
  "prevHash",
  "hash",
] as const satisfies readonly (keyof AuditRow)[];

export function auditRepo(db: AppDrizzle, client: Client) {
  const head = async (): Promise<{ seq: number; hash: string }> => {
    const row = await db.query.meta.findFirst({ where: eq(meta.key, HEAD_KEY) });
    return row ? (JSON.parse(row.value) as { seq: number; hash: string }) : { seq: 0, hash: GENESIS };
  };
  let known: { seq: number; hash: string } | undefined;
  return {
    head,
    /** Appends events in order, in one transaction. The caller serializes appends. */
    /**
     * Appends events in order, in one transaction. The caller serializes
     * appends; the chain's head is kept in memory between them, and read again
     * when another writer moved it (the insert then fails on the seq).
     */
    async append(events: AuditEvent[], at: number): Promise<void> {
      if (events.length === 0) return;
      for (let attempt = 0; ; attempt++) {
        let { seq, hash } = known ?? (await head());
        const rows: AuditRow[] = events.map((event) => {
          const e = wellFormed(event);
          seq += 1;
          const prevHash = hash;
          hash = hashEvent(seq, prevHash, e);
          return { ...e, seq, prevHash, hash };
        });
        try {
          // Plain SQL, the rows as one JSON array: one short statement for any number of events
          // (drizzle building a placeholder per column of each row cost more than the insert).
          await client.batch(
            [
              {
                sql: `INSERT INTO audit (seq, at, action, actor_kind, actor_id, actor_label, project_id, environment_id, detail, ip, prev_hash, hash) SELECT ${COLUMNS.map((_, i) => `value->>${i}`).join(", ")} FROM json_each(?)`,
                args: [JSON.stringify(rows.map((r) => COLUMNS.map((c) => r[c] ?? null)))],
              },
              {
                sql: "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                args: [HEAD_KEY, JSON.stringify({ seq, hash }), at],
              },
            ],
            "write",
          );
          known = { seq, hash };
          return;
        } catch (error) {
          known = undefined;
          if (attempt >= 2) throw error;
        }
      }
    },
    async list(filter: AuditFilter): Promise<AuditRow[]> {
      const where: SQL[] = [];
      if (filter.projectId) where.push(eq(audit.projectId, filter.projectId));
      if (filter.actorId) where.push(eq(audit.actorId, filter.actorId));
      if (filter.action) where.push(eq(audit.action, filter.action));
      if (filter.since !== undefined) where.push(gte(audit.at, filter.since));
      if (filter.until !== undefined) where.push(lte(audit.at, filter.until));
      if (filter.before !== undefined) where.push(sql`${audit.seq} < ${filter.before}`);
      return db
        .select()
        .from(audit)
        .where(where.length > 0 ? and(...where) : undefined)
        .orderBy(desc(audit.seq))
        .limit(filter.limit);
    },
    /** Walks the whole chain; names the first row where it breaks. */
    async verify(): Promise<VerifyResult> {
      const expectedHead = await head();
      let prevHash = GENESIS;
      let expectedSeq = 1;
      let rows = 0;
      const PAGE = 5_000;
      for (;;) {
        const page = await db
          .select()
          .from(audit)
          .where(sql`${audit.seq} >= ${expectedSeq}`)
          .orderBy(asc(audit.seq))
          .limit(PAGE);
        for (const row of page) {
          rows++;
          if (row.seq !== expectedSeq) {
            return {
              ok: false,
              rows,
              seq: expectedSeq,
              problem: `row ${expectedSeq} is missing (the next row is ${row.seq})`,
            };
          }
          if (row.prevHash !== prevHash) {
            return {
              ok: false,
              rows,
              seq: row.seq,
              problem: `row ${row.seq} does not follow row ${row.seq - 1} (inserted or reordered)`,
            };
          }
          if (hashEvent(row.seq, row.prevHash, row) !== row.hash) {
            return { ok: false, rows, seq: row.seq, problem: `row ${row.seq} was edited` };
          }
          prevHash = row.hash;
          expectedSeq++;
        }
        if (page.length < PAGE) break;
      }
      const lastSeq = expectedSeq - 1;
      if (lastSeq !== expectedHead.seq || prevHash !== expectedHead.hash) {
        return {
          ok: false,
          rows,
          seq: lastSeq + 1,
          problem:
            lastSeq < expectedHead.seq
              ? `rows ${lastSeq + 1}..${expectedHead.seq} were removed from the end`
              : `rows after ${expectedHead.seq} were added outside the log`,
        };
      }
      return { ok: true, rows };
    },
  };
}

export type AuditRepo = ReturnType<typeof auditRepo>;
