import type { Client } from "@libsql/client";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { AppDrizzle } from "../open";
import { environments, refs, versions } from "../schema";

export type VersionRow = typeof versions.$inferSelect;
export type VersionSummary = Omit<VersionRow, "entries" | "layoutRef">;

export class VersionConflictError extends Error {
  constructor(readonly head: number) {
    super(`the environment moved on to version ${head}`);
    this.name = "VersionConflictError";
  }
}

export interface NewVersion {
  environmentId: string;
  /** The head this version was computed from; the commit fails if the environment moved on. */
  expectedHead: number;
  entries: [name: string, ref: string][];
  layoutRef: Buffer;
  summary: { added: string[]; changed: string[]; removed: string[] };
  kind: VersionRow["kind"];
  authorId: string | null;
  authorLabel: string;
  createdAt: number;
  /** Refs this version introduces (new values and its layout). */
  newRefs: Buffer[];
}

function isConstraint(error: unknown): boolean {
  const text = `${(error as Error)?.message ?? ""} ${(error as { code?: string })?.code ?? ""} ${String((error as { cause?: unknown })?.cause ?? "")}`;
  return /SQLITE_CONSTRAINT|UNIQUE constraint|PRIMARY KEY/i.test(text);
}

export function versionsRepo(db: AppDrizzle, client: Client) {
  const versionAt = db
    .select()
    .from(versions)
    .where(
      and(eq(versions.environmentId, sql.placeholder("env")), eq(versions.number, sql.placeholder("number"))),
    )
    .prepare();
  return {
    /** Commits version expectedHead+1 in one transaction: the version, the new head, and its refs. */
    async commit(v: NewVersion): Promise<number> {
      const number = v.expectedHead + 1;
      try {
        // Plain SQL: this runs for every push, and building it through drizzle cost more than running it.
        await client.batch(
          [
            {
              sql: "INSERT INTO versions (environment_id, number, entries, layout_ref, summary, kind, author_id, author_label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    args: [
                      v.environmentId,
                      v.createdAt,
                      JSON.stringify(v.newRefs.map((r) => r.toString("hex"))),
                    ],
                  },
                ]
              : []),
          ],
          "write",
        );
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
    async get(environmentId: string, number: number): Promise<VersionRow | undefined> {
      return versionAt.get({ env: environmentId, number });
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
    /** Which of these refs app.db still uses. */
    async referenced(candidates: Buffer[]): Promise<Set<string>> {
      if (candidates.length === 0) return new Set();
      const rows = await db.select({ ref: refs.ref }).from(refs).where(inArray(refs.ref, candidates));
      return new Set(rows.map((r) => Buffer.from(r.ref).toString("hex")));
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
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)` }).from(versions);
      return Number(row?.n ?? 0);
    },
  };
}

export type VersionsRepo = ReturnType<typeof versionsRepo>;
