/**
 * Bearer credentials. Each is a prefix and 32 random bytes in hex; app.db
 * stores only HMAC-SHA-256, under a key derived from app.key, of the SHA-256
 * hex of the whole string (keyed, so that writing app.db is not enough to
 * make a credential; see appdb/keyed.ts), and the presented one is compared
 * against the stored hash in constant time. A malformed token is simply
 * unauthenticated: it is never echoed back.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { keyedDigest, type Random } from "../../appdb";

export const TOKEN_PREFIX = { session: "vss_", me: "me_", service: "vst_" } as const;
export type CredentialKind = keyof typeof TOKEN_PREFIX;

const SHAPE = /^(vss_|me_|vst_)[0-9a-f]{64}$/;

export function newCredential(kind: CredentialKind, random: Random): string {
  return `${TOKEN_PREFIX[kind]}${Buffer.from(random(32)).toString("hex")}`;
}

/** What app.db stores for a credential (or another secret, such as a handoff's poll secret). */
export function hashCredential(key: Uint8Array, token: string): string {
  return keyedDigest(key, createHash("sha256").update(token, "utf8").digest("hex"));
}

export function isWellFormed(token: string): boolean {
  return SHAPE.test(token);
}

export function kindOf(token: string): CredentialKind | undefined {
  if (token.startsWith("vss_")) return "session";
  if (token.startsWith("me_")) return "me";
  if (token.startsWith("vst_")) return "service";
  return undefined;
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token from `Authorization: Bearer <token>`, if the header has that shape. */
export function bearer(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer ([!-~]{1,200})$/.exec(header);
  return m?.[1];
}
