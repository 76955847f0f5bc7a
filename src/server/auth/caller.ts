/**
 * Who is calling: a signed-in user (session), a user through a `me_`
 * credential bound to one project, or a service token. Anything else,
 * including an expired or revoked token or a disabled user, is
 * unauthenticated.
 *
 * A service token is valid only while the user who created it is active:
 * disabling that user suspends every token they made (read and write alike),
 * whichever process disabled them and including tokens made before this rule
 * existed, without rewriting any token row.
 */
import type { AppDb, Token, User } from "../../appdb";
import { ApiError } from "../errors";
import { bearer, hashCredential, isWellFormed, kindOf, sameHash } from "./credentials";
import type { UsageRecorder } from "./usage";

export type Caller =
  | { kind: "session"; user: User; token: Token }
  | { kind: "me"; user: User; token: Token; projectId: string }
  | { kind: "service"; token: Token; projectId: string; environmentIds: string[]; canWrite: boolean };

export type UserCaller = Extract<Caller, { user: User }>;

const unauthenticated = () =>
  new ApiError("UNAUTHENTICATED", "missing, invalid or expired credentials", "sign in again: vault login");

/**
 * Credentials looked up in the last few seconds, by hash: a hot client does
 * not cost two queries a request. Any revocation, disabling or password
 * change in this process clears it at once (see createAppContext); a change
 * made by another process (the admin CLI) takes effect within the TTL.
 */
export interface CredentialCache {
  /** `user`: whom a session or `me_` credential acts for; for a service token, its creator. */
  get(hash: string): { token: Token; user: User | undefined } | undefined;
  put(hash: string, found: { token: Token; user: User | undefined }): void;
  clear(): void;
}

export const CREDENTIAL_TTL_MS = 5_000;

export function createCredentialCache(now: () => number, ttlMs = CREDENTIAL_TTL_MS): CredentialCache {
  const entries = new Map<string, { token: Token; user: User | undefined; at: number }>();
  return {
    get(hash) {
      const entry = entries.get(hash);
      if (!entry) return undefined;
      if (now() - entry.at > ttlMs) {
        entries.delete(hash);
        return undefined;
      }
      return entry;
    },
    put(hash, found) {
      if (entries.size >= 10_000) entries.clear();
      entries.set(hash, { ...found, at: now() });
    },
    clear: () => entries.clear(),
  };
}

async function lookup(
  ctx: { appdb: AppDb; credentials?: CredentialCache },
  hash: string,
): Promise<{ token: Token; user: User | undefined } | undefined> {
  const cached = ctx.credentials?.get(hash);
  if (cached) return cached;
  const token = await ctx.appdb.tokens.byHash(hash);
  if (!token) return undefined;
  // The user a credential acts for, or for a service token the user who created it.
  const owner = token.kind === "service" ? token.createdBy : token.userId;
  const user = owner ? await ctx.appdb.users.byId(owner) : undefined;
  ctx.credentials?.put(hash, { token, user });
  return { token, user };
}

export async function authenticate(
  ctx: { appdb: AppDb; now: () => number; credentials?: CredentialCache; usage?: UsageRecorder },
  header: string | null | undefined,
): Promise<Caller> {
  const presented = bearer(header);
  if (!presented || !isWellFormed(presented)) throw unauthenticated();
  const hash = hashCredential(ctx.appdb.credentialKey, presented);
  const found = await lookup(ctx, hash);
  if (!found) throw unauthenticated();
  const { token, user } = found;
  if (!sameHash(token.hash, hash) || token.kind !== kindOf(presented)) throw unauthenticated();
  const now = ctx.now();
  if (token.revokedAt !== null || (token.expiresAt !== null && token.expiresAt <= now))
    throw unauthenticated();
  if (token.kind === "service") {
    if (!token.projectId || !user || user.disabledAt !== null) throw unauthenticated();
    ctx.usage?.used(token.id, now);
    return {
      kind: "service",
      token,
      projectId: token.projectId,
      environmentIds: JSON.parse(token.environments ?? "[]") as string[],
      canWrite: token.canWrite,
    };
  }
  if (!user || user.disabledAt !== null) throw unauthenticated();
  ctx.usage?.used(token.id, now);
  if (token.kind === "me") {
    if (!token.projectId) throw unauthenticated();
    return { kind: "me", user, token, projectId: token.projectId };
  }
  return { kind: "session", user, token };
}

export function isInstanceAdmin(caller: Caller): boolean {
  return caller.kind !== "service" && (caller.user.role === "owner" || caller.user.role === "admin");
}

/** Audit and version authorship: who did it, without any secret. */
export function actorOf(caller: Caller): { actorKind: string; actorId: string; actorLabel: string } {
  if (caller.kind === "service") {
    return {
      actorKind: "service",
      actorId: caller.token.id,
      actorLabel: `token:${caller.token.name ?? caller.token.id}`,
    };
  }
  return {
    actorKind: caller.kind === "me" ? "me" : "user",
    actorId: caller.user.id,
    actorLabel: caller.user.email,
  };
}
