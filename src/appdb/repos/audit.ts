/**
 * The audit log: append-only, hash-chained. Each row stores the hash of the
 * row before it, and `meta.audit_head` stores the last row's seq and hash, so
 * an edited, inserted or removed row (the last one too) breaks the chain at a
 * row that `verify` names.
 *
 * The chain is keyed (migration 0003, see ../keyed.ts): a row's hash is an
 * HMAC-SHA-256 under a key derived from app.key, which app.db does not hold,
 * so whoever can only write app.db cannot recompute the chain after deleting
 * or editing a row. The head carries a MAC too, so it cannot be moved back
 * over removed last rows. Rows written before the upgrade keep their SHA-256
 * hashes: `meta.audit_anchor` says from which seq rows are keyed and the hash
 * the unkeyed part ended with, under a MAC, so that part cannot be rewritten
 * either, and the anchor cannot be moved to pass keyed rows off as unkeyed.
 * What a MAC cannot tell is an older copy of the whole log put back (the
 * head as it was then, with the rows after it removed).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Client, InStatement } from "@libsql/client";
import { and, asc, desc, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { audit, meta } from "../schema";

export type AuditRow = typeof audit.$inferSelect;
export type AuditEvent = Omit<AuditRow, "seq" | "prevHash" | "hash">;

export const GENESIS = "0".repeat(64);
export const HEAD_KEY = "audit_head";
export const ANCHOR_KEY = "audit_anchor";

/** The head of the chain: the last row's seq and hash, and a MAC over both. */
export interface Head {
  seq: number;
  hash: string;
}
/** Rows from `from` on are keyed; the unkeyed rows before them ended with hash `prev`. */
export interface Anchor {
  from: number;
  prev: string;
}

/** Thrown when appending on a head that app.db does not vouch for (its MAC is missing or wrong). */
export class AuditIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditIntegrityError";
  }
}

function canonical(seq: number, prevHash: string, e: AuditEvent): string {
  return JSON.stringify([
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
}

/** A row's hash before migration 0003: plain SHA-256 (anyone can recompute it). */
export function hashEvent(seq: number, prevHash: string, e: AuditEvent): string {
  return createHash("sha256")
    .update(canonical(seq, prevHash, e))
    .digest("hex");
}

/** A row's hash from the anchor on: HMAC-SHA-256 under the audit key. */
export function macEvent(key: Uint8Array, seq: number, prevHash: string, e: AuditEvent): string {
  return createHmac("sha256", key)
    .update(canonical(seq, prevHash, e))
    .digest("hex");
}

// The MACs of the head and the anchor start with a label, a row's with a number: they never coincide.
const macOf = (key: Uint8Array, parts: unknown[]) =>
  createHmac("sha256", key).update(JSON.stringify(parts)).digest("hex");
const headMac = (key: Uint8Array, h: Head) => macOf(key, ["vault/v1/audit-head", h.seq, h.hash]);
const anchorMac = (key: Uint8Array, a: Anchor) => macOf(key, ["vault/v1/audit-anchor", a.from, a.prev]);

function sameHex(a: unknown, b: string): boolean {
  if (typeof a !== "string" || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** A meta value as JSON, or undefined when it is missing or not an object. */
function parsed(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as unknown;
    return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A head as stored before 0003 ({seq, hash}, no MAC); GENESIS when there is none. */
export function legacyHead(value: string | undefined): Head {
  const v = parsed(value);
  return typeof v?.seq === "number" && typeof v.hash === "string"
    ? { seq: v.seq, hash: v.hash }
    : { seq: 0, hash: GENESIS };
}

/**
 * Migration 0003's statements for the audit log: the anchor at the current
 * head (rows after it are keyed), and the head again with its MAC. Nothing
 * before the anchor is re-hashed: tampering done before the upgrade stays
 * as visible to verify as it was.
 */
export function anchorStatements(key: Uint8Array, head: Head, at: number): InStatement[] {
  const anchor: Anchor = { from: head.seq + 1, prev: head.hash };
  const upsert =
    "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
  return [
    { sql: upsert, args: [ANCHOR_KEY, JSON.stringify({ ...anchor, mac: anchorMac(key, anchor) }), at] },
    { sql: upsert, args: [HEAD_KEY, JSON.stringify({ ...head, mac: headMac(key, head) }), at] },
  ];
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

/**
 * `commit` runs an append's transaction: the database's durable commit (src/db/open.ts, the sync
 * off the event loop) in the product; a plain write batch by default. An append with riders (a
 * new version) resolves once synced to disk; one of events alone (reads, sign-ins) once
 * committed, its sync started right after and not waited for: a read is answered after its event
 * is committed (it survives a crash of the process, as before), and a power cut within the one
 * sync that follows can lose the last such events, never a version.
 */
export function auditRepo(
  db: AppDrizzle,
  client: Client,
  key: Uint8Array,
  commit: (statements: InStatement[], options?: { sync?: "wait" | "after" }) => Promise<unknown> = (
    statements,
  ) => client.batch(statements, "write"),
) {
  const metaValue = async (name: string): Promise<string | undefined> =>
    (await db.query.meta.findFirst({ where: eq(meta.key, name) }))?.value;
  /** The stored head, and whether its MAC holds. */
  const storedHead = async (): Promise<{ head: Head; vouched: boolean }> => {
    const v = parsed(await metaValue(HEAD_KEY));
    if (typeof v?.seq !== "number" || typeof v.hash !== "string")
      return { head: { seq: 0, hash: GENESIS }, vouched: false };
    const head = { seq: v.seq, hash: v.hash };
    return { head, vouched: sameHex(v.mac, headMac(key, head)) };
  };
  const trustedHead = async (): Promise<Head> => {
    const { head, vouched } = await storedHead();
    if (!vouched)
      throw new AuditIntegrityError(
        "the audit log's head (meta audit_head) was changed outside vault; run vault audit verify",
      );
    return head;
  };
  let known: Head | undefined;
  return {
    head: async (): Promise<Head> => (await storedHead()).head,
    /**
     * Appends events in order, in one transaction. The caller serializes
     * appends; the chain's head is kept in memory between them, and read again
     * when another writer moved it (the insert then fails on the seq). A head
     * read from app.db must carry its MAC: appending after a head moved back
     * over removed rows would hide their removal. `riders` are statements
     * committed before the events in the same transaction (a new version with
     * its event): all of it is committed, or none.
     */
    async append(events: AuditEvent[], at: number, riders: InStatement[] = []): Promise<void> {
      if (events.length === 0) return;
      for (let attempt = 0; ; attempt++) {
        let { seq, hash } = known ?? (await trustedHead());
        const rows: AuditRow[] = events.map((event) => {
          const e = wellFormed(event);
          seq += 1;
          const prevHash = hash;
          hash = macEvent(key, seq, prevHash, e);
          return { ...e, seq, prevHash, hash };
        });
        const next = { seq, hash };
        try {
          // Plain SQL, the rows as one JSON array: one short statement for any number of events
          // (drizzle building a placeholder per column of each row cost more than the insert).
          await commit(
            [
              ...riders,
              {
                sql: `INSERT INTO audit (seq, at, action, actor_kind, actor_id, actor_label, project_id, environment_id, detail, ip, prev_hash, hash) SELECT ${COLUMNS.map((_, i) => `value->>${i}`).join(", ")} FROM json_each(?)`,
                args: [JSON.stringify(rows.map((r) => COLUMNS.map((c) => r[c] ?? null)))],
              },
              {
                sql: "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                args: [HEAD_KEY, JSON.stringify({ ...next, mac: headMac(key, next) }), at],
              },
            ],
            { sync: riders.length > 0 ? "wait" : "after" },
          );
          known = next;
          return;
        } catch (error) {
          known = undefined;
          // Tried again when the chain moved (the seq was taken); a rider's own failure is its own.
          const chain = /audit/i.test(String((error as Error)?.message ?? error));
          if (attempt >= 2 || (riders.length > 0 && !chain)) throw error;
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
    /**
     * Walks the whole chain; names the first row where it breaks. Rows
     * before the anchor are checked with SHA-256, rows from it on with the
     * key; the anchor and the head must carry their MACs.
     */
    async verify(): Promise<VerifyResult> {
      const a = parsed(await metaValue(ANCHOR_KEY));
      if (typeof a?.from !== "number" || typeof a.prev !== "string") {
        return {
          ok: false,
          rows: 0,
          seq: 1,
          problem:
            "the audit log's anchor (meta audit_anchor) is missing: app.db was changed outside vault, the chain cannot be trusted",
        };
      }
      const anchor: Anchor = { from: a.from, prev: a.prev };
      if (!sameHex(a.mac, anchorMac(key, anchor))) {
        return {
          ok: false,
          rows: 0,
          seq: anchor.from,
          problem: "the audit log's anchor (meta audit_anchor) was changed outside vault",
        };
      }
      const { head: expectedHead, vouched } = await storedHead();
      let prevHash = GENESIS;
      let expectedSeq = 1;
      let rows = 0;
      /** At the anchor, the unkeyed rows must end where they ended at the upgrade. */
      const beforeAnchorRewritten = (): VerifyResult | undefined =>
        expectedSeq === anchor.from && prevHash !== anchor.prev
          ? {
              ok: false,
              rows,
              seq: anchor.from - 1,
              problem: `rows up to ${anchor.from - 1}, from before the log was keyed, were rewritten`,
            }
          : undefined;
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
          const rewritten = beforeAnchorRewritten();
          if (rewritten) return rewritten;
          if (row.prevHash !== prevHash) {
            return {
              ok: false,
              rows,
              seq: row.seq,
              problem: `row ${row.seq} does not follow row ${row.seq - 1} (inserted or reordered)`,
            };
          }
          const hash =
            row.seq >= anchor.from
              ? macEvent(key, row.seq, row.prevHash, row)
              : hashEvent(row.seq, row.prevHash, row);
          if (!sameHex(row.hash, hash)) {
            return { ok: false, rows, seq: row.seq, problem: `row ${row.seq} was edited` };
          }
          prevHash = row.hash;
          expectedSeq++;
        }
        if (page.length < PAGE) break;
      }
      const rewritten = beforeAnchorRewritten();
      if (rewritten) return rewritten;
      const lastSeq = expectedSeq - 1;
      if (!vouched) {
        return {
          ok: false,
          rows,
          seq: lastSeq + 1,
          problem:
            "the audit log's head (meta audit_head) was changed outside vault (rows may be missing from the end)",
        };
      }
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
