/**
 * Request plumbing shared by the feature modules: the client's address, the
 * caller behind the Authorization header, and the rate limits on both.
 */
import type { Server } from "bun";
import type { AppDb } from "../appdb";
import type { Config } from "../config";
import { inRanges, LOOPBACK_RANGES, parseForwardedHop } from "../ip-range";
import { authenticate, type Caller, type CredentialCache } from "./auth/caller";
import type { UsageRecorder } from "./auth/usage";
import { ApiError } from "./errors";
import { peerAddress } from "./host";
import { type RateLimiter, type RateLimitRule, ruleOf } from "./rate-limit";

/** What the client address depends on: whether a proxy is in front, and which peers are proxies. */
type ProxyConfig = Pick<Config, "behindProxy"> & Partial<Pick<Config, "trustedProxies">>;

/**
 * The client's address: the socket peer; behind a proxy, when that peer is a
 * trusted proxy, the right-most address of X-Forwarded-For that is not
 * itself a trusted proxy (each proxy appends the peer it saw, so only the
 * entries our own proxies appended can be believed; anything to their left
 * was written by the client). When every entry is trusted, the left-most;
 * an entry that is not an address ends the walk at the hop before it.
 * Without --trusted-proxy only loopback peers are proxies; on a unix-socket
 * listener every peer is (only local processes in vault's group connect).
 */
export function clientIp(
  ctx: { config: ProxyConfig },
  request: Request,
  server: Server<unknown> | null,
): string | null {
  const peer = peerAddress(request, server)?.address ?? null;
  if (!ctx.config.behindProxy) return peer;
  const trusted = ctx.config.trustedProxies ?? LOOPBACK_RANGES;
  const peerHop = peer === null ? undefined : parseForwardedHop(peer);
  if (peerHop && !inRanges(peerHop.bytes, trusted)) return peer;
  const forwarded = request.headers.get("x-forwarded-for");
  if (!forwarded) return peerHop?.address ?? peer;
  let client = peerHop?.address ?? peer;
  const hops = forwarded.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseForwardedHop(hops[i]!.trim());
    if (!hop) break;
    client = hop.address;
    if (!inRanges(hop.bytes, trusted)) break;
  }
  return client;
}

export function rateLimited(seconds: number): ApiError {
  return new ApiError("RATE_LIMITED", "too many requests", `retry in ${seconds} s`, {
    "Retry-After": String(seconds),
  });
}

export function limitAddress(
  ctx: { limiter: RateLimiter },
  ip: string | null,
  rule: RateLimitRule | undefined,
  bucket = "ip",
): void {
  if (!rule) return;
  const wait = ctx.limiter.take(`${bucket}:${ip ?? "unix"}`, rule);
  if (wait > 0) throw rateLimited(wait);
}

export interface CallerOptions {
  /** Allowed while the user must still change a one-time password. */
  duringPasswordChange?: boolean;
}

export async function callerOf(
  ctx: {
    appdb: AppDb;
    now: () => number;
    limiter: RateLimiter;
    config: ProxyConfig & Pick<Config, "rateLimitCredential">;
    credentials: CredentialCache;
    usage: UsageRecorder;
  },
  request: Request,
  options: CallerOptions = {},
): Promise<Caller> {
  const caller = await authenticate(ctx, request.headers.get("authorization"));
  const rule = ruleOf(ctx.config.rateLimitCredential);
  const wait = rule ? ctx.limiter.take(`cred:${caller.token.id}`, rule) : 0;
  if (wait > 0) throw rateLimited(wait);
  if (caller.kind !== "service" && caller.user.mustChangePassword && !options.duringPasswordChange) {
    throw new ApiError(
      "PASSWORD_CHANGE_REQUIRED",
      "this account signed in with a one-time password that must be changed first",
      "change it: POST /api/v1/auth/password, or vault login",
    );
  }
  return caller;
}
