/**
 * Browser sessions and CSRF. The session is an ordinary session token in an
 * HttpOnly, SameSite=Strict cookie (Secure under TLS). Every form carries a
 * CSRF token: an HMAC, under a key derived from app.key, of a random
 * per-browser cookie; a POST without the cookie or with a token that does
 * not match it is refused.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Random } from "../../../appdb";
import { authenticate, type Caller } from "../../auth/caller";
import type { AppContext } from "../../context";

export const SESSION_COOKIE = "vault_session";
export const CSRF_COOKIE = "vault_csrf";

export function cookies(request: Request): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export function secure(ctx: Pick<AppContext, "config">): boolean {
  return ctx.config.tlsCertFile !== undefined || ctx.config.publicUrl.startsWith("https://");
}

export function cookie(
  ctx: Pick<AppContext, "config">,
  name: string,
  value: string,
  maxAgeSeconds: number,
): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure(ctx) ? "; Secure" : ""}`;
}

/** The signed-in user of this browser, if any. */
export async function browserSession(
  ctx: Pick<AppContext, "appdb" | "now" | "credentials">,
  request: Request,
): Promise<Extract<Caller, { kind: "session" }> | undefined> {
  const token = cookies(request).get(SESSION_COOKIE);
  if (!token) return undefined;
  try {
    const caller = await authenticate(ctx, `Bearer ${token}`);
    return caller.kind === "session" ? caller : undefined;
  } catch {
    return undefined;
  }
}

export interface Csrf {
  /** The token to put in forms. */
  token: string;
  /** A Set-Cookie header when this browser had no CSRF cookie yet. */
  setCookie?: string;
}

const mac = (key: Uint8Array, value: string) =>
  createHmac("sha256", key).update(`csrf|${value}`).digest("base64url");

export function csrfFor(ctx: Pick<AppContext, "config" | "csrfKey">, request: Request, random: Random): Csrf {
  const existing = cookies(request).get(CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return { token: mac(ctx.csrfKey, existing) };
  const fresh = Buffer.from(random(32)).toString("base64url");
  return { token: mac(ctx.csrfKey, fresh), setCookie: cookie(ctx, CSRF_COOKIE, fresh, 86_400) };
}

export function csrfValid(ctx: Pick<AppContext, "csrfKey">, request: Request, presented: unknown): boolean {
  const existing = cookies(request).get(CSRF_COOKIE);
  if (!existing || typeof presented !== "string") return false;
  const expected = Buffer.from(mac(ctx.csrfKey, existing));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
