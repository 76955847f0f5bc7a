/**
 * Signing in: email and password for an expiring session. Five failures
 * within fifteen minutes lock the account for fifteen minutes, and the error
 * says so. An unknown email costs the same time as a wrong password.
 */
import { newId, type Random, type User } from "../../../appdb";
import { hashCredential, newCredential } from "../../auth/credentials";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { LOCKOUT } from "../users/service";

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

type Deps = Pick<AppContext, "appdb" | "audit" | "now"> & { random: Random };

export async function login(
  deps: Deps,
  input: { email: string; password: string; ip: string | null },
): Promise<LoginResult> {
  const { appdb, audit, now } = deps;
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
    const fresh = user.failedWindowStart === null || t - user.failedWindowStart > LOCKOUT.windowMs;
    const failures = fresh ? 1 : user.failedLogins + 1;
    const lock = failures >= LOCKOUT.failures;
    await appdb.users.update(user.id, {
      failedLogins: lock ? 0 : failures,
      failedWindowStart: lock ? null : fresh ? t : user.failedWindowStart,
      lockedUntil: lock ? t + LOCKOUT.lockMs : user.lockedUntil,
    });
    await event("auth.login_failed", {
      reason: user.disabledAt !== null ? "disabled" : "password",
      failures,
    });
    if (lock) {
      await event("auth.lockout", { minutes: LOCKOUT.lockMs / 60_000 });
      throw locked(LOCKOUT.lockMs);
    }
    throw invalid();
  }
  if (user.failedLogins !== 0 || user.lockedUntil !== null) {
    await appdb.users.update(user.id, { failedLogins: 0, failedWindowStart: null, lockedUntil: null });
  }
  const token = newCredential("session", deps.random);
  const expiresAt = t + SESSION_TTL_MS;
  await appdb.tokens.insert({
    id: newId.token(deps.random),
    kind: "session",
    hash: hashCredential(token),
    userId: user.id,
    createdAt: t,
    expiresAt,
  });
  await event("auth.login", { kind: "session" });
  return { token, expiresAt, user };
}

export function locked(remainingMs: number): ApiError {
  const minutes = Math.ceil(remainingMs / 60_000);
  return new ApiError(
    "ACCOUNT_LOCKED",
    `too many failed sign-ins: this account is locked for ${minutes} more minute${minutes === 1 ? "" : "s"}`,
    "wait, or ask an admin to reset the password",
    { "Retry-After": String(Math.ceil(remainingMs / 1000)) },
  );
}
