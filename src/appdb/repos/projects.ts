import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { environments, grants, memberships, overrides, projects, refs, users } from "../schema";

export type Project = typeof projects.$inferSelect;
export type Environment = typeof environments.$inferSelect;
export type Membership = typeof memberships.$inferSelect;
export type Permission = "none" | "read" | "write";

/** DOTENV_KEY refs are tracked like value refs, in the same transaction as their environment. */
function keyRefsOf(envs: (typeof environments.$inferInsert)[]) {
  return envs.flatMap((e) =>
    e.dotenvKeyRef ? [{ ref: e.dotenvKeyRef, environmentId: e.id, createdAt: e.createdAt }] : [],
  );
}

export function projectsRepo(db: AppDrizzle) {
  // The hot reads of every request, prepared once.
  const id = sql.placeholder("id");
  const byId = db.select().from(projects).where(eq(projects.id, id)).prepare();
  const envsOf = db
    .select()
    .from(environments)
    .where(eq(environments.projectId, id))
    .orderBy(sql`${environments.isMain} DESC`, asc(environments.createdAt), sql`rowid`)
    .prepare();
  const envById = db.select().from(environments).where(eq(environments.id, id)).prepare();
  const membershipOf = db
    .select()
    .from(memberships)
    .where(and(eq(memberships.projectId, id), eq(memberships.userId, sql.placeholder("user"))))
    .prepare();
  const grantsOfUser = db
    .select({ environmentId: grants.environmentId, permission: grants.permission })
    .from(grants)
    .innerJoin(environments, eq(environments.id, grants.environmentId))
    .where(and(eq(grants.userId, sql.placeholder("user")), eq(environments.projectId, id)))
    .prepare();
  return {
    async create(
      project: typeof projects.$inferInsert,
      envs: (typeof environments.$inferInsert)[],
      owner?: { userId: string; at: number },
    ): Promise<void> {
      await db.batch([
        db.insert(projects).values(project),
        db.insert(environments).values(envs),
        db.insert(refs).values(keyRefsOf(envs)),
        ...(owner
          ? [
              db
                .insert(memberships)
                .values({ projectId: project.id, userId: owner.userId, role: "owner", createdAt: owner.at }),
            ]
          : []),
      ]);
    },
    async byId(projectId: string): Promise<Project | undefined> {
      return byId.get({ id: projectId });
    },
    async all(): Promise<Project[]> {
      return db.select().from(projects).orderBy(asc(projects.name), asc(projects.id));
    },
    /** Projects where the user is a project owner or holds at least one grant. */
    async visibleTo(userId: string): Promise<Project[]> {
      return db
        .select()
        .from(projects)
        .where(
          sql`${projects.id} IN (SELECT ${memberships.projectId} FROM ${memberships} WHERE ${memberships.userId} = ${userId} AND ${memberships.role} = 'owner')
            OR ${projects.id} IN (SELECT ${environments.projectId} FROM ${grants} JOIN ${environments} ON ${environments.id} = ${grants.environmentId} WHERE ${grants.userId} = ${userId})`,
        )
        .orderBy(asc(projects.name), asc(projects.id));
    },
    async rename(id: string, name: string): Promise<void> {
      await db.update(projects).set({ name }).where(eq(projects.id, id));
    },
    async delete(id: string): Promise<void> {
      await db.delete(projects).where(eq(projects.id, id));
    },
    async environments(projectId: string): Promise<Environment[]> {
      return envsOf.all({ id: projectId });
    },
    async environment(projectId: string, name: string): Promise<Environment | undefined> {
      return db.query.environments.findFirst({
        where: and(eq(environments.projectId, projectId), eq(environments.name, name)),
      });
    },
    async environmentById(envId: string): Promise<Environment | undefined> {
      return envById.get({ id: envId });
    },
    async addEnvironment(env: typeof environments.$inferInsert): Promise<void> {
      await db.batch([db.insert(environments).values(env), db.insert(refs).values(keyRefsOf([env]))]);
    },
    /** The branches of an environment (environments whose parent it is). */
    async branchesOf(id: string): Promise<Environment[]> {
      return db
        .select()
        .from(environments)
        .where(eq(environments.parentId, id))
        .orderBy(asc(environments.name));
    },
    async deleteEnvironment(id: string): Promise<void> {
      await db.delete(environments).where(eq(environments.id, id));
    },
    /**
     * Rotation: the new key becomes current and the old one previous, in one
     * transaction with the new ref, unless another rotation got there first;
     * the key before that (`dropped`) stops being referenced (its value is
     * deleted from the keeper after the commit).
     */
    async setDotenvKeys(
      envId: string,
      keys: { current: Buffer; previous: Buffer | null; dropped: Buffer | null; expectedCurrent: Buffer },
      at: number,
    ): Promise<boolean> {
      const results = await db.batch([
        db
          .update(environments)
          .set({ dotenvKeyRef: keys.current, previousDotenvKeyRef: keys.previous })
          .where(and(eq(environments.id, envId), eq(environments.dotenvKeyRef, keys.expectedCurrent)))
          .returning({ id: environments.id }),
        db.insert(refs).values({ ref: keys.current, environmentId: envId, createdAt: at }),
        ...(keys.dropped
          ? [
              db
                .delete(refs)
                .where(
                  and(
                    eq(refs.ref, keys.dropped),
                    sql`NOT EXISTS (SELECT 1 FROM ${environments} WHERE ${environments.dotenvKeyRef} = ${keys.dropped} OR ${environments.previousDotenvKeyRef} = ${keys.dropped})`,
                  ),
                ),
            ]
          : []),
      ]);
      return (results[0] as unknown[]).length === 1;
    },
    async membership(projectId: string, userId: string): Promise<Membership | undefined> {
      return membershipOf.get({ id: projectId, user: userId });
    },
    async members(projectId: string) {
      return db
        .select({
          userId: memberships.userId,
          email: users.email,
          role: memberships.role,
          createdAt: memberships.createdAt,
        })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .where(eq(memberships.projectId, projectId))
        .orderBy(asc(users.email));
    },
    async addMember(m: typeof memberships.$inferInsert): Promise<void> {
      await db
        .insert(memberships)
        .values(m)
        .onConflictDoUpdate({
          target: [memberships.projectId, memberships.userId],
          set: { role: m.role },
        });
    },
    async removeMember(projectId: string, userId: string): Promise<void> {
      const envIds = db
        .select({ id: environments.id })
        .from(environments)
        .where(eq(environments.projectId, projectId));
      await db.batch([
        db.delete(grants).where(and(eq(grants.userId, userId), inArray(grants.environmentId, envIds))),
        // Their personal overrides of the project go with them (the blobs to the collector).
        db
          .delete(overrides)
          .where(and(eq(overrides.userId, userId), inArray(overrides.environmentId, envIds))),
        db
          .delete(memberships)
          .where(and(eq(memberships.projectId, projectId), eq(memberships.userId, userId))),
      ]);
    },
    /** The user's permission per environment id of a project (absent = none). */
    async grantsOf(projectId: string, userId: string): Promise<Map<string, "read" | "write">> {
      const rows = await grantsOfUser.all({ id: projectId, user: userId });
      return new Map(rows.map((r) => [r.environmentId, r.permission]));
    },
    /**
     * Who can read what in a project, for a `.env.vault` build's check that everyone who can open
     * an environment's section may read what it holds: the grants of active users, and the
     * project owners who are active.
     */
    async readers(projectId: string) {
      const [granted, owners] = await Promise.all([
        db
          .select({ userId: grants.userId, environmentId: grants.environmentId, role: users.role })
          .from(grants)
          .innerJoin(environments, eq(environments.id, grants.environmentId))
          .innerJoin(users, eq(users.id, grants.userId))
          .where(and(eq(environments.projectId, projectId), sql`${users.disabledAt} IS NULL`)),
        db
          .select({ userId: memberships.userId, role: users.role })
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(
            and(
              eq(memberships.projectId, projectId),
              eq(memberships.role, "owner"),
              sql`${users.disabledAt} IS NULL`,
            ),
          ),
      ]);
      return { granted, owners: owners.map((o) => o.userId) };
    },
    async projectGrants(projectId: string) {
      return db
        .select({ userId: grants.userId, environmentId: grants.environmentId, permission: grants.permission })
        .from(grants)
        .innerJoin(environments, eq(environments.id, grants.environmentId))
        .where(eq(environments.projectId, projectId));
    },
    async setGrant(environmentId: string, userId: string, permission: Permission): Promise<void> {
      if (permission === "none") {
        await db
          .delete(grants)
          .where(and(eq(grants.environmentId, environmentId), eq(grants.userId, userId)));
        return;
      }
      await db
        .insert(grants)
        .values({ environmentId, userId, permission })
        .onConflictDoUpdate({ target: [grants.environmentId, grants.userId], set: { permission } });
    },
  };
}

export type ProjectsRepo = ReturnType<typeof projectsRepo>;
