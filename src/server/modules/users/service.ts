/**
 * Users: argon2id passwords (Bun.password), instance roles, disabling, and
 * the sign-in rules (lockout after repeated failures, one-time passwords that
 * must be changed at first sign-in). Every check of a password counts toward
 * the same lockout: a sign-in (API or web page) and the current password of
 * a password change, so a stolen session cannot guess the password either.
 */
import { type AppDb, newId, type Random, type Role, type User } from "../../../appdb";
import { newPasswordProblem } from "../../../password-rules";
import type { AuditLog } from "../../audit-log";
import { ApiError } from "../../errors";

export { PASSWORD_MAX, PASSWORD_MIN } from "../../../password-rules";
export const LOCKOUT = { failures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 } as const;
export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export interface UserServiceDeps {
  appdb: Pick<AppDb, "users" | "tokens">;
  audit: Pick<AuditLog, "record">;
  now: () => number;
  random: Random;
}

export function generatePassword(random: Random): string {
  // 20 characters from an unambiguous alphabet: about 110 bits.
  const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
  const bytes = random(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** The rules of src/password-rules.ts (shared with the CLI, which checks them as soon as one is typed). */
export function checkPassword(password: string, current?: string): void {
  const problem = newPasswordProblem(password, current);
  if (problem) throw new ApiError("INVALID_REQUEST", problem.message, problem.hint);
}

const hashPassword = (password: string) => Bun.password.hash(password, { algorithm: "argon2id" });

export function locked(remainingMs: number): ApiError {
  const minutes = Math.ceil(remainingMs / 60_000);
  return new ApiError(
    "ACCOUNT_LOCKED",
    `too many failed sign-ins: this account is locked for ${minutes} more minute${minutes === 1 ? "" : "s"}`,
    "wait, or ask an admin to reset the password",
    { "Retry-After": String(Math.ceil(remainingMs / 1000)) },
  );
}

/**
 * A wrong password for `userId`: counted toward the lockout (atomically, see
 * usersRepo.recordFailure) and audited as `action`, plus `auth.lockout` when
 * this failure locked the account. Returns what to answer: `refused`, or
 * ACCOUNT_LOCKED.
 */
export async function wrongPassword(
  deps: { appdb: Pick<AppDb, "users">; at: number },
  userId: string,
  audit: (action: string, detail: Record<string, unknown>) => Promise<void>,
  failure: { action: string; detail: Record<string, unknown>; refused: ApiError },
): Promise<ApiError> {
  const outcome = await deps.appdb.users.recordFailure(userId, deps.at, LOCKOUT);
  if (outcome.kind === "already-locked") {
    await audit(failure.action, { ...failure.detail, reason: "locked" });
    return locked(outcome.lockedUntil - deps.at);
  }
  await audit(failure.action, { ...failure.detail, failures: outcome.failures });
  if (outcome.kind === "locked") {
    await audit("auth.lockout", { minutes: LOCKOUT.lockMs / 60_000 });
    return locked(outcome.lockedUntil - deps.at);
  }
  return failure.refused;
}

export function createUserService(deps: UserServiceDeps) {
  const { appdb, audit, now, random } = deps;
  /** Events of user management; `actor` is an email when a signed-in admin acted, else the host's operator. */
  const event = (action: string, email: string, actor?: string, detail: object = {}) =>
    audit.record({
      action,
      actorKind: actor ? "user" : "operator",
      actorId: null,
      actorLabel: actor ?? "operator",
      projectId: null,
      environmentId: null,
      detail: JSON.stringify({ email, ...detail }),
      ip: null,
    });
  return {
    /** Creates a user; without a password, returns a one-time password that must be changed at first sign-in. */
    async add(input: { email: string; role: Role; password?: string; actor?: string }) {
      const email = input.email.trim().toLowerCase();
      if (!EMAIL.test(email))
        throw new ApiError("INVALID_REQUEST", `"${input.email}" is not an email address`);
      if (await appdb.users.byEmail(email)) throw new ApiError("CONFLICT", `a user ${email} already exists`);
      const oneTime = input.password === undefined ? generatePassword(random) : undefined;
      const password = input.password ?? oneTime!;
      checkPassword(password);
      const user = {
        id: newId.user(random),
        email,
        passwordHash: await hashPassword(password),
        role: input.role,
        mustChangePassword: oneTime !== undefined,
        createdAt: now(),
      };
      await appdb.users.insert(user);
      await event("user.add", email, input.actor, { role: input.role });
      return { user, oneTimePassword: oneTime };
    },
    async disable(email: string, actor = "operator"): Promise<User> {
      const user = await appdb.users.byEmail(email);
      if (!user) throw new ApiError("NOT_FOUND", `no user ${email}`);
      await appdb.users.update(user.id, { disabledAt: now() });
      await appdb.tokens.revokeAllOfUser(user.id, now());
      await event("user.disable", user.email, actor === "operator" ? undefined : actor);
      return user;
    },
    /** Sets a new one-time password, clears any lockout and signs the user out everywhere. */
    async resetPassword(email: string, actor = "operator"): Promise<string> {
      const user = await appdb.users.byEmail(email);
      if (!user) throw new ApiError("NOT_FOUND", `no user ${email}`);
      const oneTime = generatePassword(random);
      await appdb.users.update(user.id, {
        passwordHash: await hashPassword(oneTime),
        mustChangePassword: true,
        failedLogins: 0,
        failedWindowStart: null,
        lockedUntil: null,
      });
      await appdb.tokens.revokeAllOfUser(user.id, now());
      await event("user.reset_password", user.email, actor === "operator" ? undefined : actor);
      return oneTime;
    },
    /**
     * Changes a signed-in user's password. A wrong current password counts
     * toward the lockout like a failed sign-in, and a locked account cannot
     * change its password until the lock ends. A changed password revokes
     * every other session and `me_` credential of the user (whoever knew the
     * old password may have made some), keeping the credential that changed
     * it (`keepTokenId`); service tokens belong to their project and stay.
     */
    async changePassword(
      user: User,
      current: string,
      next: string,
      where: { keepTokenId: string; ip?: string | null },
    ): Promise<{ revoked: number }> {
      const at = now();
      const fresh = (await appdb.users.byId(user.id)) ?? user;
      const audit = (action: string, detail: Record<string, unknown>) =>
        deps.audit.record({
          action,
          actorKind: "user",
          actorId: user.id,
          actorLabel: user.email,
          projectId: null,
          environmentId: null,
          detail: JSON.stringify(detail),
          ip: where.ip ?? null,
        });
      if (fresh.lockedUntil !== null && fresh.lockedUntil > at) {
        await audit("auth.password_failed", { reason: "locked" });
        throw locked(fresh.lockedUntil - at);
      }
      if (!(await Bun.password.verify(current, fresh.passwordHash))) {
        throw await wrongPassword({ appdb, at }, user.id, audit, {
          action: "auth.password_failed",
          detail: { reason: "current password" },
          refused: new ApiError("UNAUTHENTICATED", "the current password is wrong"),
        });
      }
      if (!(await appdb.users.recordSuccess(user.id, at))) {
        const lockedNow = await appdb.users.byId(user.id);
        throw locked((lockedNow?.lockedUntil ?? at) - at);
      }
      checkPassword(next, current);
      await appdb.users.update(user.id, {
        passwordHash: await hashPassword(next),
        mustChangePassword: false,
      });
      const revoked = await appdb.tokens.revokeAllOfUser(user.id, now(), { except: where.keepTokenId });
      await audit("auth.password_changed", { revoked });
      return { revoked };
    },
    list: () => (appdb.users as AppDb["users"]).list(),
  };
}

export type UserService = ReturnType<typeof createUserService>;
