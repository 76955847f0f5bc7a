/**
 * Personal overrides: a user's own values on top of an environment, one row
 * per (user, environment, name) holding the ref of the sealed value in the
 * keeper. Rows go with their user or environment (foreign keys, cascade);
 * their blobs then become orphans for the garbage collector, which counts a
 * ref as used only while its row lives (versions.referenced).
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { environments, overrides } from "../schema";

export type Override = typeof overrides.$inferSelect;

export function overridesRepo(db: AppDrizzle) {
  const ofUser = db
    .select({ name: overrides.name, ref: overrides.ref, updatedAt: overrides.updatedAt })
    .from(overrides)
    .where(
      and(eq(overrides.userId, sql.placeholder("user")), eq(overrides.environmentId, sql.placeholder("env"))),
    )
    .orderBy(overrides.name)
    .prepare();
  return {
    /** A user's overrides of one environment, by name. */
    async list(
      userId: string,
      environmentId: string,
    ): Promise<Pick<Override, "name" | "ref" | "updatedAt">[]> {
      return ofUser.all({ user: userId, env: environmentId });
    },
    /** A user's overrides in every environment of a project (names and times; no ref). */
    async inProject(userId: string, projectId: string) {
      return db
        .select({
          environmentId: overrides.environmentId,
          name: overrides.name,
          updatedAt: overrides.updatedAt,
        })
        .from(overrides)
        .innerJoin(environments, eq(environments.id, overrides.environmentId))
        .where(and(eq(overrides.userId, userId), eq(environments.projectId, projectId)))
        .orderBy(environments.name, overrides.name);
    },
    /**
     * Sets overrides (name -> new ref) in one transaction; the refs they replace, which nothing
     * uses any more (the caller deletes them from the keeper after the commit).
     */
    async put(
      userId: string,
      environmentId: string,
      refs: ReadonlyMap<string, Buffer>,
      at: number,
    ): Promise<Buffer[]> {
      if (refs.size === 0) return [];
      const names = [...refs.keys()];
      const before = await db
        .select({ ref: overrides.ref })
        .from(overrides)
        .where(
          and(
            eq(overrides.userId, userId),
            eq(overrides.environmentId, environmentId),
            inArray(overrides.name, names),
          ),
        );
      await db
        .insert(overrides)
        .values([...refs].map(([name, ref]) => ({ userId, environmentId, name, ref, updatedAt: at })))
        .onConflictDoUpdate({
          target: [overrides.userId, overrides.environmentId, overrides.name],
          set: { ref: sql`excluded.ref`, updatedAt: at },
        });
      return before.map((r) => Buffer.from(r.ref));
    },
    /** Removes overrides by name; the refs removed (to delete from the keeper). */
    async remove(
      userId: string,
      environmentId: string,
      names: readonly string[],
    ): Promise<{ name: string; ref: Buffer }[]> {
      if (names.length === 0) return [];
      const rows = await db
        .delete(overrides)
        .where(
          and(
            eq(overrides.userId, userId),
            eq(overrides.environmentId, environmentId),
            inArray(overrides.name, [...names]),
          ),
        )
        .returning({ name: overrides.name, ref: overrides.ref });
      return rows.map((r) => ({ name: r.name, ref: Buffer.from(r.ref) }));
    },
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)` }).from(overrides);
      return Number(row?.n ?? 0);
    },
  };
}

export type OverridesRepo = ReturnType<typeof overridesRepo>;
