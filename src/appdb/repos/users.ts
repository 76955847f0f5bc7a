import { asc, eq, sql } from "drizzle-orm";
import type { AppDrizzle } from "../open";
import { users } from "../schema";

export type User = typeof users.$inferSelect;
export type Role = User["role"];

export function usersRepo(db: AppDrizzle) {
  const byId = db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare();
  return {
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)` }).from(users);
      return Number(row?.n ?? 0);
    },
    async byEmail(email: string): Promise<User | undefined> {
      return db.query.users.findFirst({ where: eq(users.email, email.toLowerCase()) });
    },
    async byId(id: string): Promise<User | undefined> {
      return byId.get({ id });
    },
    async list(): Promise<User[]> {
      return db.select().from(users).orderBy(asc(users.createdAt), asc(users.email));
    },
    async insert(user: typeof users.$inferInsert): Promise<void> {
      await db.insert(users).values({ ...user, email: user.email.toLowerCase() });
    },
    async update(id: string, changes: Partial<typeof users.$inferInsert>): Promise<void> {
      await db.update(users).set(changes).where(eq(users.id, id));
    },
  };
}

export type UsersRepo = ReturnType<typeof usersRepo>;
