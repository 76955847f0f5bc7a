/**
 * The envelope: one sealed value, as stored in vault.db.
 *
 * Format v1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       1     version, 0x01
 *   1       4     term: the keyring term whose data key sealed this value
 *   5       12    nonce, random for every seal
 *   17      n     ciphertext (AES-256-GCM, same length as the plaintext)
 *   17+n    16    tag
 *
 * Authenticated data: "vault/v1/value" (UTF-8) | version | term | ref (16 bytes).
 * The ref is authenticated, so a blob copied to another ref fails to open; the
 * term is authenticated, so a header edited to name another term fails too.
 *
 * Compatibility: `open` dispatches on the version byte, and every version ever
 * written stays readable. The vectors in test/vectors/ pin the format and are
 * never regenerated.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { KeeperError } from "./errors";

export const ENVELOPE_V1 = 0x01;
export const REF_BYTES = 16;
export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const V1_HEADER_BYTES = 1 + 4 + NONCE_BYTES;
const V1_LABEL = Buffer.from("vault/v1/value", "utf8");
const MAX_TERM = 0xffff_ffff;

/** A source of random bytes (crypto.randomBytes in production). */
export type Random = (n: number) => Uint8Array;
/** Finds the data key of a term, or undefined when the keyring does not hold it (any more). */
export type KeyLookup = (term: number) => Uint8Array | undefined;

/** Seals a plaintext for one ref under the key of one term. */
export function seal(
  key: Uint8Array,
  term: number,
  ref: Uint8Array,
  plaintext: Uint8Array,
  random: Random,
): Uint8Array {
  checkKey(key);
  checkRef(ref);
  if (!Number.isInteger(term) || term < 0 || term > MAX_TERM) {
    throw new KeeperError("UNKNOWN_TERM", "a term is a 32-bit unsigned integer");
  }
  const nonce = random(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES)
    throw new KeeperError("INTERNAL", "the random source returned too few bytes");
  const out = Buffer.allocUnsafeSlow(V1_HEADER_BYTES + plaintext.length + TAG_BYTES);
  out[0] = ENVELOPE_V1;
  out.writeUInt32BE(term, 1);
  out.set(nonce, 5);
  gcmSealInto(out, V1_HEADER_BYTES, key, nonce, v1Aad(term, ref), plaintext);
  return out;
}

/**
 * Opens a sealed value. Throws KeeperError with code UNKNOWN_VERSION,
 * UNKNOWN_TERM, TRUNCATED, BAD_REF or INTEGRITY; never returns unauthenticated bytes.
 */
export function open(lookupKey: KeyLookup, ref: Uint8Array, blob: Uint8Array): Uint8Array {
  checkRef(ref);
  if (blob.length === 0) throw new KeeperError("TRUNCATED", "the sealed value is empty");
  switch (blob[0]) {
    case ENVELOPE_V1:
      return openV1(lookupKey, ref, blob);
    default:
      throw new KeeperError("UNKNOWN_VERSION", `envelope version ${blob[0]} is not known to this keeper`);
  }
}

/** The term named in a sealed value's header (not authenticated until it opens). */
export function envelopeTerm(blob: Uint8Array): number {
  if (blob[0] !== ENVELOPE_V1)
    throw new KeeperError("UNKNOWN_VERSION", `envelope version ${blob[0]} is not known`);
  if (blob.length < V1_HEADER_BYTES + TAG_BYTES)
    throw new KeeperError("TRUNCATED", "the sealed value is too short");
  return blob[1]! * 0x100_0000 + ((blob[2]! << 16) | (blob[3]! << 8) | blob[4]!);
}

function openV1(lookupKey: KeyLookup, ref: Uint8Array, blob: Uint8Array): Uint8Array {
  if (blob.length < V1_HEADER_BYTES + TAG_BYTES)
    throw new KeeperError("TRUNCATED", "the sealed value is too short");
  const term = envelopeTerm(blob);
  const key = lookupKey(term);
  if (key === undefined) throw new KeeperError("UNKNOWN_TERM", `the keyring holds no key for term ${term}`);
  const nonce = blob.subarray(5, V1_HEADER_BYTES);
  const body = blob.subarray(V1_HEADER_BYTES);
  return gcmOpen(key, nonce, v1Aad(term, ref), body);
}

/** One AAD buffer, rewritten for each call: setAAD copies it synchronously, and nothing else holds it. */
const v1AadScratch = Buffer.alloc(V1_LABEL.length + 1 + 4 + REF_BYTES);
V1_LABEL.copy(v1AadScratch, 0);
v1AadScratch[V1_LABEL.length] = ENVELOPE_V1;

function v1Aad(term: number, ref: Uint8Array): Buffer {
  v1AadScratch.writeUInt32BE(term, V1_LABEL.length + 1);
  v1AadScratch.set(ref, V1_LABEL.length + 5);
  return v1AadScratch;
}

/** AES-256-GCM: writes ciphertext then tag into `out` from `offset`. Shared with the keyring's seal. */
export function gcmSealInto(
  out: Uint8Array,
  offset: number,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): void {
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  out.set(head, offset);
  const tail = cipher.final();
  out.set(tail, offset + head.length);
  out.set(cipher.getAuthTag(), offset + plaintext.length);
}

/** AES-256-GCM open of `ciphertext | tag`; INTEGRITY when the tag does not verify. */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, body: Uint8Array): Uint8Array {
  checkKey(key);
  const split = body.length - TAG_BYTES;
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(body.subarray(split));
  const plaintext = decipher.update(body.subarray(0, split));
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    throw new KeeperError("INTEGRITY", "the sealed value failed its integrity check");
  }
  return plaintext;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new KeeperError("INTERNAL", "a data key is 32 bytes");
}

export function checkRef(ref: Uint8Array): void {
  if (!(ref instanceof Uint8Array) || ref.length !== REF_BYTES) {
    throw new KeeperError("BAD_REF", `a ref is ${REF_BYTES} bytes`);
  }
}
