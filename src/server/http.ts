/**
 * Request plumbing shared by the feature modules: the client's address, the
 * caller behind the Authorization header, and the rate limits on both.
 */
import type { Server } from "bun";
import { authenticate, type Caller } from "./auth/caller";
import type { AppContext } from "./context";
import { ApiError } from "./errors";
import { type RateLimitRule, ruleOf } from "./rate-limit";

/** The client's address: the socket peer, or behind a proxy the hop the proxy appended. */
export function clientIp(
  ctx: Pick<AppContext, "config">,
  request: Request,
  server: Server<unknown> | null,
): string | null {
  if (ctx.config.behindProxy) {
    const forwarded = request.headers.get("x-forwarded-for");
    const last = forwarded?.split(",").at(-1)?.trim();
    if (last && /^[0-9a-fA-F:.]{2,45}$/.test(last)) return last;
  }
  return server?.requestIP(request)?.address ?? null;
}

export function rateLimited(seconds: number): ApiError {
  return new ApiError("RATE_LIMITED", "too many requests", `retry in ${seconds} s`, {
    "Retry-After": String(seconds),
  });
}

export function limitAddress(
  ctx: Pick<AppContext, "limiter">,
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
  ctx: Pick<AppContext, "appdb" | "now" | "limiter" | "config" | "credentials" | "usage">,
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
