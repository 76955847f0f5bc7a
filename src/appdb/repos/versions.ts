/**
 * Versions: immutable snapshots name -> ref of an environment, each
 * authenticated by a MAC that app.db cannot compute, so that whoever can
 * write app.db (a database server's operator) cannot serve an old value
 * under a current version by swapping a version's refs for an older
 * version's (both open: the app's seal binds a value to its project,
 * environment and name, not to a version, because unchanged values keep
 * their ref from one version to the next).
 *
 *   mac = HMAC-SHA-256(key, canonical form)
 *   key = HKDF-SHA-256(app.key, label "vault/v1/version-mac")
 *   canonical form = the UTF-8 bytes of the JSON text, as ECMAScript's
 *     JSON.stringify writes it (no whitespace), of
 *     ["vault/v1/version", project id, environment id, number (an integer),
 *      [[name, ref (hex, as stored)], ...in file order], layout ref (lowercase hex)]
 *   and, for a version whose values resolve references (migration 0009), one more element at
 *   the end: the string "resolves". A version made before 0009 never resolves, so its form
 *   (and MAC) is unchanged; turning the flag on or off in app.db fails the check.
 *
 * In a branch environment's version an entry whose ref is "" is a removal (a key of the
 * parent the branch does not have); it is part of the form like any entry.
 *
 * The form is computed from the parsed entries, not from the stored JSON, so
 * a later change of storage keeps every MAC. `get` checks the MAC before it
 * returns anything: a missing, wrong or malformed one is a
 * VersionIntegrityError, never a version.
 *
 * Versions made before migration 0005 had no MAC: the app that applies 0005
 * computes one for each of them in the migration's own transaction
 * (`macLegacyVersions`), trusting app.db then and only then. Afterwards a
 * version without a MAC fails to open like a wrong one, so stripping the MAC
 * of a new version gains nothing.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Client, InStatement, Transaction } from "@libsql/client";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { environments, overrides, refs, versions } from "../schema";

export type VersionRow = typeof versions.$inferSelect;
export type VersionSummary = Omit<VersionRow, "entries" | "layoutRef" | "mac" | "resolves">;
export type Entries = [name: string, ref: string][];
/** A version as `get` returns it: its MAC checked, its entries parsed. */
export type Version = Omit<VersionRow, "entries" | "mac"> & { entries: Entries };

export const VERSION_MAC_LABEL = "vault/v1/version-mac";
const FORM_LABEL = "vault/v1/version";
const RESOLVES = "resolves";
const MAC_BYTES = 32;

/** A version whose MAC is missing or does not verify: app.db was changed behind the app's back. */
export class VersionIntegrityError extends Error {
  readonly code = "VERSION_INTEGRITY";
  constructor(
    readonly environmentId: string,
    readonly number: number,
    readonly reason: "missing" | "mismatch" | "malformed",
  ) {
    super(`version ${number} of environment ${environmentId} failed its integrity check (${reason})`);
    this.name = "VersionIntegrityError";
  }
}

export interface Snapshotted {
  projectId: string;
  environmentId: string;
  number: number;
  entries: readonly (readonly [string, string])[];
  layoutRef: Uint8Array;
  /** The version's values resolve references (absent or false: made before migration 0009). */
  resolves?: boolean;
}

/** The MAC of a version's snapshot (see the top of this file for the canonical form). */
export function versionMac(key: Uint8Array, v: Snapshotted): Buffer {
  // JSON of an array of strings and integers is canonical and can be parsed back (JSON.stringify
  // escapes even lone surrogates), and writing it is one native call: a push and a cache fill
  // each compute one, and building a length-prefixed form part by part cost three times as much.
  const parts: unknown[] = [
    FORM_LABEL,
    v.projectId,
    v.environmentId,
    v.number,
    v.entries,
    Buffer.from(v.layoutRef).toString("hex"),
  ];
  if (v.resolves) parts.push(RESOLVES);
  const form = JSON.stringify(parts);
  return createHmac("sha256", key).update(form, "utf8").digest();
}

function parseEntries(text: string): Entries | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  for (const entry of parsed) {
    if (!Array.isArray(entry) || entry.length !== 2) return undefined;
    if (typeof entry[0] !== "string" || typeof entry[1] !== "string") return undefined;
  }
  return parsed as Entries;
}

/**
 * Migration 0005's hook: a MAC for every version that has none, in the
 * migration's transaction. The only time app.db's versions are trusted as
 * they stand; a version whose entries do not parse is left without one.
 */
export async function macLegacyVersions(tx: Transaction, key: Uint8Array): Promise<number> {
  const rows = await tx.execute(
    "SELECT v.environment_id, v.number, v.entries, v.layout_ref, e.project_id FROM versions v JOIN environments e ON e.id = v.environment_id WHERE v.mac IS NULL",
  );
  let done = 0;
  for (const row of rows.rows) {
    const entries = parseEntries(String(row.entries));
    if (entries === undefined) continue;
    const mac = versionMac(key, {
      projectId: String(row.project_id),
      environmentId: String(row.environment_id),
      number: Number(row.number),
      entries,
      layoutRef: new Uint8Array(row.layout_ref as ArrayBuffer),
    });
    await tx.execute({
      sql: "UPDATE versions SET mac = ? WHERE environment_id = ? AND number = ?",
      args: [mac, String(row.environment_id), Number(row.number)],
    });
    done++;
  }
  return done;
}

export class VersionConflictError extends Error {
  constructor(readonly head: number) {
    super(`the environment moved on to version ${head}`);
    this.name = "VersionConflictError";
  }
}

export interface NewVersion {
  /** The environment's project: part of the MAC, so a version moved to another project fails to open. */
  projectId: string;
  environmentId: string;
  /** The head this version was computed from; the commit fails if the environment moved on. */
  expectedHead: number;
  entries: [name: string, ref: string][];
  layoutRef: Buffer;
  summary: { added: string[]; changed: string[]; removed: string[] };
  kind: VersionRow["kind"];
  /** Whether its values resolve references (see the top of this file). */
  resolves: boolean;
  authorId: string | null;
  authorLabel: string;
  createdAt: number;
  /** Refs this version introduces (new values and its layout). */
  newRefs: Buffer[];
}

export interface CommitOptions {
  /** Commits the version's statements in a transaction of the caller's (with its audit event). */
  commitWith?: (statements: InStatement[]) => Promise<void>;
}

function isConstraint(error: unknown): boolean {
  const text = `${(error as Error)?.message ?? ""} ${(error as { code?: string })?.code ?? ""} ${String((error as { cause?: unknown })?.cause ?? "")}`;
  return /SQLITE_CONSTRAINT|UNIQUE constraint|PRIMARY KEY/i.test(text);
}

export function versionsRepo(db: AppDrizzle, client: Client, macKey: Uint8Array) {
  /** Why a stored version fails its MAC, or null when it verifies. */
  const check = (
    projectId: string,
    environmentId: string,
    number: number,
    entries: Entries | string | undefined,
    layoutRef: Uint8Array,
    mac: Uint8Array | null,
    resolves: boolean,
  ): VersionIntegrityError["reason"] | null => {
    if (mac === null || mac.length !== MAC_BYTES) return "missing";
    const parsed = typeof entries === "string" ? parseEntries(entries) : entries;
    if (parsed === undefined) return "malformed";
    const expected = versionMac(macKey, {
      projectId,
      environmentId,
      number,
      entries: parsed,
      layoutRef,
      resolves,
    });
    return timingSafeEqual(expected, mac) ? null : "mismatch";
  };
  const versionAt = db
    .select()
    .from(versions)
    .where(
      and(eq(versions.environmentId, sql.placeholder("env")), eq(versions.number, sql.placeholder("number"))),
    )
    .prepare();
  return {
    /**
     * Commits version expectedHead+1 in one transaction: the version, the new head, and its refs.
     * With `commitWith`, its statements are handed to that instead, to be committed in a
     * transaction it shares with other writes (the version's audit event, and other pushes': see
     * server/audit-log.ts); a constraint failure then means the same as here.
     */
    async commit(v: NewVersion, options: CommitOptions = {}): Promise<number> {
      const number = v.expectedHead + 1;
      const statements: InStatement[] = [
        {
          sql: "INSERT INTO versions (environment_id, number, entries, layout_ref, summary, kind, author_id, author_label, created_at, mac, resolves) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          args: [
            v.environmentId,
            number,
            JSON.stringify(v.entries),
            v.layoutRef,
            JSON.stringify(v.summary),
            v.kind,
            v.authorId,
            v.authorLabel,
            v.createdAt,
            versionMac(macKey, { ...v, number }),
            v.resolves ? 1 : 0,
          ],
        },
        {
          sql: "UPDATE environments SET head = ? WHERE id = ? AND head = ?",
          args: [number, v.environmentId, v.expectedHead],
        },
        ...(v.newRefs.length > 0
          ? [
              {
                // The refs as one JSON array of hex: one short statement, whatever their number
                // (a placeholder per column of each row cost more to prepare than to run).
                sql: "INSERT INTO refs (ref, environment_id, created_at) SELECT unhex(value), ?, ? FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
                args: [v.environmentId, v.createdAt, JSON.stringify(v.newRefs.map((r) => r.toString("hex")))],
              },
            ]
          : []),
      ];
      try {
        // Plain SQL: this runs for every push, and building it through drizzle cost more than running it.
        if (options.commitWith) await options.commitWith(statements);
        else await client.batch(statements, "write");
      } catch (error) {
        if (isConstraint(error)) {
          const [row] = await db
            .select({ head: environments.head })
            .from(environments)
            .where(eq(environments.id, v.environmentId));
          throw new VersionConflictError(row?.head ?? v.expectedHead);
        }
        throw error;
      }
      return number;
    },
    /**
     * A version of an environment of a project, once its MAC verifies;
     * undefined when there is no such version. Throws VersionIntegrityError
     * when the stored snapshot is not the one the app committed.
     */
    async get(projectId: string, environmentId: string, number: number): Promise<Version | undefined> {
      const row = await versionAt.get({ env: environmentId, number });
      if (row === undefined) return undefined;
      const { mac, entries: text, ...rest } = row;
      const entries = parseEntries(text);
      const reason = check(
        projectId,
        row.environmentId,
        row.number,
        entries,
        row.layoutRef,
        mac,
        row.resolves,
      );
      if (reason !== null || entries === undefined)
        throw new VersionIntegrityError(environmentId, number, reason ?? "malformed");
      return { ...rest, entries };
    },
    async list(
      environmentId: string,
      options: { limit: number; before?: number },
    ): Promise<VersionSummary[]> {
      return db
        .select({
          environmentId: versions.environmentId,
          number: versions.number,
          summary: versions.summary,
          kind: versions.kind,
          authorId: versions.authorId,
          authorLabel: versions.authorLabel,
          createdAt: versions.createdAt,
        })
        .from(versions)
        .where(
          options.before === undefined
            ? eq(versions.environmentId, environmentId)
            : and(eq(versions.environmentId, environmentId), lt(versions.number, options.before)),
        )
        .orderBy(desc(versions.number))
        .limit(options.limit);
    },
    /** Which of these refs app.db still uses (versions, keys, drafts, and personal overrides). */
    async referenced(candidates: Buffer[]): Promise<Set<string>> {
      if (candidates.length === 0) return new Set();
      const [listed, personal] = await Promise.all([
        db.select({ ref: refs.ref }).from(refs).where(inArray(refs.ref, candidates)),
        db.select({ ref: overrides.ref }).from(overrides).where(inArray(overrides.ref, candidates)),
      ]);
      return new Set([...listed, ...personal].map((r) => Buffer.from(r.ref).toString("hex")));
    },
    async refsOfEnvironments(environmentIds: string[]): Promise<Buffer[]> {
      if (environmentIds.length === 0) return [];
      const rows = await db
        .select({ ref: refs.ref })
        .from(refs)
        .where(inArray(refs.environmentId, environmentIds));
      return rows.map((r) => Buffer.from(r.ref));
    },
    async forgetRefs(environmentIds: string[]): Promise<void> {
      if (environmentIds.length === 0) return;
      await db.delete(refs).where(inArray(refs.environmentId, environmentIds));
    },
    /**
     * Checks the MAC of every version, page by page (for `vault doctor`):
     * how many were checked, and which failed (ids, numbers and why; never
     * an entry).
     */
    async verifyAll(): Promise<{
      checked: number;
      failed: { environmentId: string; number: number; reason: VersionIntegrityError["reason"] }[];
    }> {
      const failed: { environmentId: string; number: number; reason: VersionIntegrityError["reason"] }[] = [];
      let checked = 0;
      let after: [string, number] = ["", 0];
      for (;;) {
        const page = await client.execute({
          sql: "SELECT v.environment_id, v.number, v.entries, v.layout_ref, v.mac, v.resolves, e.project_id FROM versions v JOIN environments e ON e.id = v.environment_id WHERE (v.environment_id, v.number) > (?, ?) ORDER BY v.environment_id, v.number LIMIT 500",
          args: after,
        });
        for (const row of page.rows) {
          const environmentId = String(row.environment_id);
          const number = Number(row.number);
          checked++;
          const reason = check(
            String(row.project_id),
            environmentId,
            number,
            String(row.entries),
            new Uint8Array(row.layout_ref as ArrayBuffer),
            row.mac === null ? null : new Uint8Array(row.mac as ArrayBuffer),
            Number(row.resolves) === 1,
          );
          if (reason !== null) failed.push({ environmentId, number, reason });
          after = [environmentId, number];
        }
        if (page.rows.length < 500) return { checked, failed };
      }
    },
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)` }).from(versions);
      return Number(row?.n ?? 0);
    },
  };
}

export type VersionsRepo = ReturnType<typeof versionsRepo>;
