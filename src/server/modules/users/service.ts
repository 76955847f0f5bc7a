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
import type { Caller } from "../../auth/caller";
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

/**
 * Who acts on users: a signed-in instance owner or admin (the users API and
 * pages), or, when absent, the operator on the server host (`vault admin`).
 */
export interface UserActor {
  id: string;
  email: string;
  role: Role;
}

export interface ActOptions {
  actor?: UserActor;
  ip?: string | null;
}

export const USER_ID = /^usr_[0-9a-f]{24}$/;

/** What an admin sees of a user: never the password hash, nor the lockout counters. */
export interface UserView {
  id: string;
  email: string;
  role: Role;
  status: "active" | "disabled" | "locked" | "must change password";
  mustChangePassword: boolean;
  createdAt: number;
  disabledAt: number | null;
  lockedUntil: number | null;
}

export function userView(user: User, at: number): UserView {
  const locked = user.lockedUntil !== null && user.lockedUntil > at;
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    status:
      user.disabledAt !== null
        ? "disabled"
        : locked
          ? "locked"
          : user.mustChangePassword
            ? "must change password"
            : "active",
    mustChangePassword: user.mustChangePassword,
    createdAt: user.createdAt,
    disabledAt: user.disabledAt,
    lockedUntil: locked ? user.lockedUntil : null,
  };
}

/**
 * The users API and pages are for instance owners and admins, signed in: a
 * `me_` credential is bound to one project (an admin's too), and a service
 * token belongs to its project.
 */
export function requireUserAdmin(caller: Caller): UserActor {
  if (caller.kind !== "session" || (caller.user.role !== "owner" && caller.user.role !== "admin"))
    throw new ApiError(
      "FORBIDDEN",
      "only instance owners and admins, signed in, manage users",
      caller.kind === "session" ? "ask an instance admin" : "sign in: vault login",
    );
  return { id: caller.user.id, email: caller.user.email, role: caller.user.role };
}

const forbidden = (message: string, hint: string) => new ApiError("FORBIDDEN", message, hint);

/**
 * The rules of user management, the same for the host's operator, the API
 * and the web pages (the last one binds the operator too):
 * - only instance owners and admins manage users;
 * - nobody disables, resets or changes the role of their own account here
 *   (a password is changed with the current one; another owner or admin, or
 *   the operator, does the rest), so no admin locks themselves out by a slip;
 * - only an owner makes an owner or touches one (disables, resets, demotes);
 * - the instance keeps at least one active owner: the last one cannot be
 *   disabled or demoted (checked in the same statement as the change).
 */
function checkActor(actor: UserActor | undefined, target: User | undefined, doing: string, toRole?: Role) {
  if (!actor) return;
  if (actor.role !== "owner" && actor.role !== "admin")
    throw forbidden("only instance owners and admins manage users", "ask an admin");
  if (target && target.id === actor.id)
    throw forbidden(
      `you cannot ${doing} your own account`,
      doing === "reset the password of"
        ? "change your own password with the current one (the Account page, or POST /api/v1/auth/password)"
        : "ask another owner or admin, or the operator on the server host (vault admin)",
    );
  if (actor.role !== "owner" && (target?.role === "owner" || toRole === "owner"))
    throw forbidden(
      target?.role === "owner"
        ? `only an instance owner can ${doing} an owner`
        : "only an instance owner makes owners",
      "ask an instance owner",
    );
}

const lastOwner = (user: User) =>
  new ApiError(
    "CONFLICT",
    `${user.email} is the last active owner of this instance`,
    "make another user an owner first (the Users page, PUT /api/v1/users/USER_ID/role, or on the host: vault admin user add EMAIL --role owner)",
  );

export function createUserService(deps: UserServiceDeps) {
  const { appdb, audit, now, random } = deps;
  /** Events of user management: by a signed-in admin, or by the host's operator. */
  const event = (
    action: string,
    target: { id: string; email: string },
    options: ActOptions,
    detail: object = {},
  ) =>
    audit.record({
      action,
      actorKind: options.actor ? "user" : "operator",
      actorId: options.actor?.id ?? null,
      actorLabel: options.actor?.email ?? "operator",
      projectId: null,
      environmentId: null,
      detail: JSON.stringify({ email: target.email, userId: target.id, ...detail }),
      ip: options.ip ?? null,
    });
  /** A user by id (`usr_...`) or by email. */
  const find = async (target: string): Promise<User> => {
    const user = USER_ID.test(target)
      ? await appdb.users.byId(target)
      : await appdb.users.byEmail(target.trim().toLowerCase());
    if (!user) throw new ApiError("NOT_FOUND", USER_ID.test(target) ? "no such user" : `no user ${target}`);
    return user;
  };
  return {
    find,
    /** Creates a user; without a password, returns a one-time password that must be changed at first sign-in. */
    async add(input: { email: string; role: Role; password?: string } & ActOptions) {
      checkActor(input.actor, undefined, "create", input.role);
      const email = input.email.trim().toLowerCase();
      if (!EMAIL.test(email))
        throw new ApiError("INVALID_REQUEST", `"${input.email}" is not an email address`);
      if (await appdb.users.byEmail(email)) throw new ApiError("CONFLICT", `a user ${email} already exists`);
      const oneTime = input.password === undefined ? generatePassword(random) : undefined;
      const password = input.password ?? oneTime!;
      checkPassword(password);
      const user: User = {
        id: newId.user(random),
        email,
        passwordHash: await hashPassword(password),
        role: input.role,
        mustChangePassword: oneTime !== undefined,
        disabledAt: null,
        failedLogins: 0,
        failedWindowStart: null,
        lockedUntil: null,
        createdAt: now(),
      };
      await appdb.users.insert(user);
      await event("user.add", user, input, { role: input.role });
      return { user, oneTimePassword: oneTime };
    },
    /** Disables a user: signs them out everywhere and suspends the service tokens they created. */
    async disable(target: string, options: ActOptions = {}): Promise<User> {
      const user = await find(target);
      checkActor(options.actor, user, "disable");
      if (!(await appdb.users.updateKeepingAnOwner(user.id, { disabledAt: user.disabledAt ?? now() })))
        throw lastOwner(user);
      await appdb.tokens.revokeAllOfUser(user.id, now());
      await event("user.disable", user, options);
      return user;
    },
    /**
     * Enables a disabled user again. Their old sessions and credentials stay
     * revoked (they sign in again); the service tokens they created work
     * again, since a token is suspended only while its creator is disabled.
     */
    async enable(target: string, options: ActOptions = {}): Promise<User> {
      const user = await find(target);
      checkActor(options.actor, user, "enable");
      if (user.disabledAt === null) return user;
      await appdb.users.update(user.id, { disabledAt: null });
      await event("user.enable", user, options);
      return { ...user, disabledAt: null };
    },
    /** Sets a new one-time password, clears any lockout and signs the user out everywhere. */
    async resetPassword(target: string, options: ActOptions = {}): Promise<string> {
      const user = await find(target);
      checkActor(options.actor, user, "reset the password of");
      const oneTime = generatePassword(random);
      await appdb.users.update(user.id, {
        passwordHash: await hashPassword(oneTime),
        mustChangePassword: true,
        failedLogins: 0,
        failedWindowStart: null,
        lockedUntil: null,
      });
      await appdb.tokens.revokeAllOfUser(user.id, now());
      await event("user.reset_password", user, options);
      return oneTime;
    },
    /** Changes a user's instance role (the last active owner stays one). */
    async setRole(target: string, role: Role, options: ActOptions = {}): Promise<User> {
      const user = await find(target);
      checkActor(options.actor, user, "change the role of", role);
      if (user.role === role) return user;
      if (!(await appdb.users.updateKeepingAnOwner(user.id, { role }))) throw lastOwner(user);
      await event("user.role", user, options, { role, previous: user.role });
      return { ...user, role };
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
