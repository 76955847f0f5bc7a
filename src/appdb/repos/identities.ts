import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { identities, oidcLogins } from "../schema";

export type Identity = typeof identities.$inferSelect;
export type OidcLogin = typeof oidcLogins.$inferSelect;

/** What single sign-on stores: identities (issuer + subject -> user) and the sign-ins in flight. */
export function identitiesRepo(db: AppDrizzle) {
  return {
    async bySubject(issuer: string, subject: string): Promise<Identity | undefined> {
      return db.query.identities.findFirst({
        where: and(eq(identities.issuer, issuer), eq(identities.subject, subject)),
      });
    },
    async ofUser(issuer: string, userId: string): Promise<Identity | undefined> {
      return db.query.identities.findFirst({
        where: and(eq(identities.issuer, issuer), eq(identities.userId, userId)),
      });
    },
    /**
     * Links a subject to a user; false when the subject, or another subject of this issuer for
     * that user, is linked already (two first sign-ins at once: the unique keys decide).
     */
    async link(identity: typeof identities.$inferInsert): Promise<boolean> {
      const rows = await db
        .insert(identities)
        .values(identity)
        .onConflictDoNothing()
        .returning({ subject: identities.subject });
      return rows.length === 1;
    },
    async signedIn(issuer: string, subject: string, email: string, at: number): Promise<void> {
      await db
        .update(identities)
        .set({ email, lastSignInAt: at })
        .where(and(eq(identities.issuer, issuer), eq(identities.subject, subject)));
    },
    /** Records a sign-in started through the provider; removes those that ended long ago. */
    async openLogin(login: typeof oidcLogins.$inferInsert, purgeBefore: number): Promise<void> {
      await db.delete(oidcLogins).where(lt(oidcLogins.expiresAt, purgeBefore));
      await db.insert(oidcLogins).values(login);
    },
    async login(id: string): Promise<OidcLogin | undefined> {
      return db.query.oidcLogins.findFirst({ where: eq(oidcLogins.id, id) });
    },
    /**
     * Uses a sign-in once, atomically: the row as it was, or undefined when it is unknown, used
     * or expired (two callbacks with one `state` at once: only one gets it).
     */
    async takeLogin(id: string, at: number): Promise<OidcLogin | undefined> {
      const rows = await db
        .update(oidcLogins)
        .set({ usedAt: at })
        .where(and(eq(oidcLogins.id, id), isNull(oidcLogins.usedAt), sql`${oidcLogins.expiresAt} > ${at}`))
        .returning();
      return rows[0];
    },
  };
}

export type IdentitiesRepo = ReturnType<typeof identitiesRepo>;
