/**
 * Signing in: email and password for an expiring session. Every sign-in
 * path (the API and the web page) comes through here, so each is behind the
 * same per-address limit (LOGIN_LIMIT) and the same lockout: five failures
 * within fifteen minutes lock the account for fifteen minutes, and the error
 * says so. Failures are counted in one statement each (parallel guesses
 * cannot all read the same count), and a right password that finishes after
 * a lock was set is refused too. An unknown email costs the same time as a
 * wrong password.
 *
 * A session is made in one place (startSession), whichever way its user
 * signed in: a password here, single sign-on (modules/oidc), or the
 * operator's `vault admin session` on the host. With `--password-login off`
 * a password never signs in (nor is it checked): only single sign-on does.
 */
import { type AppDb, newId, type Random, type User } from "../../../appdb";
import type { Config } from "../../../config";
import type { AuditLog } from "../../audit-log";
import type { Caller } from "../../auth/caller";
import { hashCredential, newCredential } from "../../auth/credentials";
import { ApiError } from "../../errors";
import { limitAddress } from "../../http";
import { LOGIN_LIMIT, type RateLimiter } from "../../rate-limit";
import { locked, wrongPassword } from "../users/service";

export const SESSION_TTL_MS = 12 * 3_600_000;

let dummyHash: Promise<string> | undefined;
const dummy = () => {
  dummyHash ??= Bun.password.hash("vault-timing-equalizer", { algorithm: "argon2id" });
  return dummyHash;
};

export interface LoginResult {
  token: string;
  expiresAt: number;
  user: User;
}

/** What the sign-in services are wired with (by the composition root, server/context.ts). */
interface Recorded {
  appdb: AppDb;
  audit: AuditLog;
  now: () => number;
}

type Deps = Recorded & {
  limiter: RateLimiter;
  random: Random;
  config: Partial<Pick<Config, "passwordLogin" | "oidc">>;
};

/** How a session's user proved who they are, as the audit log records it. */
export type SignInMethod =
  | { method: "password" }
  | { method: "oidc"; issuer: string }
  | { method: "break-glass"; operator: true };

/** Refused at once, password unchecked, when only single sign-on signs in. */
export function passwordLoginOff(config: Deps["config"]): ApiError {
  const sso = config.oidc ? `Sign in with ${config.oidc.name}` : "single sign-on";
  return new ApiError(
    "FORBIDDEN",
    "password sign-in is turned off on this server: only single sign-on signs in",
    `use "${sso}" on the sign-in page, or vault login --browser; the operator can use vault admin on the server host`,
  );
}

/**
 * A new session for a user who has just proved who they are: a 12-hour session token (only
 * its keyed hash is stored), revocable like any, audited as `auth.login` with the method.
 */
export async function startSession(
  deps: Recorded & { random: Random },
  user: User,
  how: SignInMethod & { ip: string | null; ttlMs?: number },
): Promise<LoginResult> {
  const t = deps.now();
  const token = newCredential("session", deps.random);
  const expiresAt = t + (how.ttlMs ?? SESSION_TTL_MS);
  await deps.appdb.tokens.insert({
    id: newId.token(deps.random),
    kind: "session",
    hash: hashCredential(deps.appdb.credentialKey, token),
    userId: user.id,
    createdAt: t,
    expiresAt,
  });
  const { ip, ttlMs: _, ...method } = how;
  await deps.audit.record({
    action: "auth.login",
    actorKind: method.method === "break-glass" ? "operator" : "user",
    actorId: user.id,
    actorLabel: user.email.slice(0, 320),
    projectId: null,
    environmentId: null,
    detail: JSON.stringify({ kind: "session", ...method }),
    ip,
  });
  return { token, expiresAt, user };
}

export async function login(
  deps: Deps,
  input: { email: string; password: string; ip: string | null },
): Promise<LoginResult> {
  const { appdb, audit, now } = deps;
  limitAddress(deps, input.ip, LOGIN_LIMIT, "login");
  const email = input.email.trim().toLowerCase();
  const user = await appdb.users.byEmail(email);
  const event = (action: string, detail: Record<string, unknown>) =>
    audit.record({
      action,
      actorKind: "user",
      actorId: user?.id ?? null,
      actorLabel: email.slice(0, 320),
      projectId: null,
      environmentId: null,
      detail: JSON.stringify(detail),
      ip: input.ip,
    });
  const invalid = () =>
    new ApiError(
      "INVALID_CREDENTIALS",
      "wrong email or password",
      "check both, or ask an admin to reset your password",
    );

  if (deps.config.passwordLogin === false) {
    await event("auth.login_failed", { method: "password", reason: "password login off" });
    throw passwordLoginOff(deps.config);
  }
  if (!user) {
    await Bun.password.verify(input.password, await dummy());
    await event("auth.login_failed", { reason: "unknown user" });
    throw invalid();
  }
  const t = now();
  if (user.lockedUntil !== null && user.lockedUntil > t) {
    await event("auth.login_failed", { reason: "locked" });
    throw locked(user.lockedUntil - t);
  }
  const ok = (await Bun.password.verify(input.password, user.passwordHash)) && user.disabledAt === null;
  if (!ok) {
    throw await wrongPassword({ appdb, at: t }, user.id, event, {
      action: "auth.login_failed",
      detail: { reason: user.disabledAt !== null ? "disabled" : "password" },
      refused: invalid(),
    });
  }
  if (!(await appdb.users.recordSuccess(user.id, t))) {
    // Failures that finished while this password was checked locked the account.
    await event("auth.login_failed", { reason: "locked" });
    const now = await appdb.users.byId(user.id);
    throw locked((now?.lockedUntil ?? t) - t);
  }
  return startSession(deps, user, { method: "password", ip: input.ip });
}

/** A signed-in user's session or `me_` credential as listed: never the token, nor its hash. */
export interface SessionView {
  id: string;
  kind: "session" | "me";
  /** A `me_` credential's project. */
  project: { id: string; name: string | null } | null;
  createdAt: number;
  /** Recorded at most once a minute (see auth/usage.ts); null before its first use since then. */
  lastUsedAt: number | null;
  expiresAt: number | null;
  /** The credential this request came with. */
  current: boolean;
}

const onlySessions = () =>
  new ApiError(
    "FORBIDDEN",
    "only a signed-in user manages their sessions",
    "sign in (vault login, or the web page) and use that session",
  );

/**
 * The signed-in user's own sessions and `me_` credentials: list them (the
 * current one marked) and revoke one. Only through a session: a `me_`
 * credential is bound to one project and a service token to no user. Another
 * user's credential is answered as missing.
 */
export function createSessionService(ctx: Recorded) {
  return {
    async list(caller: Caller): Promise<SessionView[]> {
      if (caller.kind !== "session") throw onlySessions();
      const rows = await ctx.appdb.tokens.liveOfUser(caller.user.id, ctx.now());
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind as "session" | "me",
        project: r.projectId === null ? null : { id: r.projectId, name: r.projectName },
        createdAt: r.createdAt,
        lastUsedAt: r.lastUsedAt,
        expiresAt: r.expiresAt,
        current: r.id === caller.token.id,
      }));
    },

    /** Revokes one of the user's live sessions or `me_` credentials; `current` when it was this one (signed out). */
    async revoke(caller: Caller, tokenId: string, ip: string | null): Promise<{ current: boolean }> {
      if (caller.kind !== "session") throw onlySessions();
      const token = /^tok_[0-9a-f]{24}$/.test(tokenId) ? await ctx.appdb.tokens.byId(tokenId) : undefined;
      const at = ctx.now();
      if (
        !token ||
        token.userId !== caller.user.id ||
        (token.kind !== "session" && token.kind !== "me") ||
        token.revokedAt !== null ||
        (token.expiresAt !== null && token.expiresAt <= at)
      )
        throw new ApiError("NOT_FOUND", "no such session", "list them: GET /api/v1/me/sessions");
      await ctx.appdb.tokens.revoke(token.id, at);
      await ctx.audit.event(
        caller,
        "auth.session_revoke",
        { projectId: token.projectId, ip },
        { id: token.id, kind: token.kind },
      );
      return { current: token.id === caller.token.id };
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
