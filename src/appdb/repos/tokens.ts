import { and, desc, eq, gt, inArray, isNull, ne, or, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { projects, tokens, users } from "../schema";

export type Token = typeof tokens.$inferSelect;
export type TokenKind = Token["kind"];

export function tokensRepo(db: AppDrizzle) {
  const byHash = db
    .select()
    .from(tokens)
    .where(eq(tokens.hash, sql.placeholder("hash")))
    .prepare();
  return {
    async byHash(hash: string): Promise<Token | undefined> {
      return byHash.get({ hash });
    },
    async byId(id: string): Promise<Token | undefined> {
      return db.query.tokens.findFirst({ where: eq(tokens.id, id) });
    },
    async insert(token: typeof tokens.$inferInsert): Promise<void> {
      await db.insert(tokens).values(token);
    },
    async revoke(id: string, at: number): Promise<boolean> {
      const rows = await db
        .update(tokens)
        .set({ revokedAt: at })
        .where(and(eq(tokens.id, id), isNull(tokens.revokedAt)))
        .returning({ id: tokens.id });
      return rows.length > 0;
    },
    /** Revokes a user's sessions and `me_` credentials (all, or all but one); returns how many. */
    async revokeAllOfUser(userId: string, at: number, options: { except?: string } = {}): Promise<number> {
      const rows = await db
        .update(tokens)
        .set({ revokedAt: at })
        .where(
          and(
            eq(tokens.userId, userId),
            isNull(tokens.revokedAt),
            options.except === undefined ? undefined : ne(tokens.id, options.except),
          ),
        )
        .returning({ id: tokens.id });
      return rows.length;
    },
    /** Revokes a user's `me_` credentials for a project; returns their display prefixes, newest first. */
    async revokeMe(userId: string, projectId: string, at: number): Promise<string[]> {
      const rows = await db
        .update(tokens)
        .set({ revokedAt: at })
        .where(
          and(
            eq(tokens.userId, userId),
            eq(tokens.projectId, projectId),
            eq(tokens.kind, "me"),
            isNull(tokens.revokedAt),
          ),
        )
        .returning({ name: tokens.name, createdAt: tokens.createdAt });
      return rows.sort((a, b) => b.createdAt - a.createdAt).map((r) => r.name ?? "me_");
    },
    /**
     * A user's live sessions and `me_` credentials (neither revoked nor
     * expired), newest first, each `me_` credential with its project's name.
     * Never the hash.
     */
    async liveOfUser(userId: string, at: number, limit = 200) {
      return db
        .select({
          id: tokens.id,
          kind: tokens.kind,
          projectId: tokens.projectId,
          projectName: projects.name,
          createdAt: tokens.createdAt,
          expiresAt: tokens.expiresAt,
          lastUsedAt: tokens.lastUsedAt,
        })
        .from(tokens)
        .leftJoin(projects, eq(projects.id, tokens.projectId))
        .where(
          and(
            eq(tokens.userId, userId),
            inArray(tokens.kind, ["session", "me"]),
            isNull(tokens.revokedAt),
            or(isNull(tokens.expiresAt), gt(tokens.expiresAt, at)),
          ),
        )
        .orderBy(desc(tokens.createdAt), desc(tokens.id))
        .limit(limit);
    },
    /** A project's service tokens, each with whether its creator is still an active user. */
    async listServiceTokens(projectId: string): Promise<(Token & { creatorActive: boolean })[]> {
      const rows = await db
        .select({ token: tokens, creatorDisabledAt: users.disabledAt, creatorId: users.id })
        .from(tokens)
        .leftJoin(users, eq(users.id, tokens.createdBy))
        .where(and(eq(tokens.projectId, projectId), eq(tokens.kind, "service")))
        .orderBy(desc(tokens.createdAt));
      return rows.map((r) => ({
        ...r.token,
        creatorActive: r.creatorId !== null && r.creatorDisabledAt === null,
      }));
    },
    /** Records when tokens were last used, in one statement; a later time already stored wins. */
    async touchMany(entries: readonly (readonly [id: string, at: number])[]): Promise<void> {
      if (entries.length === 0) return;
      await db.run(
        sql`UPDATE tokens SET last_used_at = max(coalesce(last_used_at, 0), j.value ->> 1) FROM json_each(${JSON.stringify(entries)}) AS j WHERE tokens.id = j.value ->> 0`,
      );
    },
  };
}

export type TokensRepo = ReturnType<typeof tokensRepo>;
