/**
 * The keeper's socket protocol, shared by the service and its client. Values
 * travel as bytes, everything else as JSON with refs in standard base64;
 * every array and string is bounded.
 *
 *   POST /v1/put         blobs (octet-stream, below)            -> refs (octet-stream, 16 bytes each)
 *   POST /v1/get         refs (octet-stream, 16 bytes each)     -> blobs (octet-stream; a missing one as 0xFFFFFFFF)
 *   POST /v1/delete      {refs: string[]}                       -> {deleted: number}
 *   POST /v1/list        {createdBefore, after?: string, limit} -> {refs: string[]}
 *   GET  /v1/stats                                              -> KeeperStats
 *   GET  /v1/health                                             -> KeeperHealth
 *   POST /v1/rotate                                             -> {term: number}
 *   POST /v1/rotate-root                                        -> {}
 *
 * Blobs in a body: each as its length (4 bytes, big-endian) then its bytes.
 * A push or pull of a whole environment is one call; bytes instead of JSON
 * and base64 made a push of 100 values cheaper on both sides.
 *
 * Every call carries `Authorization: Bearer <keeper token>`. Errors are
 * `{"error": {"code": "UPPER_SNAKE", "message": "..."}}`.
 */
import { t } from "elysia";
import { KeeperError, type KeeperErrorCode } from "./errors";

/** Items in one put, get or delete: a push or pull of a whole environment is one call. */
export const MAX_BATCH = 20_000;
/** Largest value the keeper accepts (the app's envelope included). */
export const MAX_BLOB_BYTES = 3 * 1024 * 1024;
/** Largest request body. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Largest total of values in one get answer (before base64). */
export const MAX_ANSWER_BYTES = 96 * 1024 * 1024;
export const MAX_LIST = 10_000;

const REF = t.String({ minLength: 24, maxLength: 24, pattern: "^[A-Za-z0-9+/]{22}==$" });

export const bodies = {
  refs: t.Object({ refs: t.Array(REF, { maxItems: MAX_BATCH }) }),
  list: t.Object({
    createdBefore: t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    after: t.Optional(REF),
    limit: t.Integer({ minimum: 1, maximum: MAX_LIST }),
  }),
};

export const OCTETS = "application/octet-stream";
const MISSING = 0xffff_ffff;
const REF_LENGTH = 16;

/** Blobs (or, in a get answer, missing ones as null) framed as length and bytes. */
export function packBlobs(blobs: readonly (Uint8Array | null)[]): Uint8Array {
  let size = 0;
  for (const b of blobs) size += 4 + (b?.length ?? 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const b of blobs) {
    view.setUint32(at, b === null ? MISSING : b.length);
    at += 4;
    if (b !== null) {
      out.set(b, at);
      at += b.length;
    }
  }
  return out;
}

/** The inverse of packBlobs; a frame that does not add up is BAD_REQUEST, too many or too large TOO_LARGE. */
export function unpackBlobs(
  bytes: Uint8Array,
  limits: { maxItems: number; maxBlob: number; allowMissing: boolean },
): (Uint8Array | null)[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: (Uint8Array | null)[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length >= limits.maxItems)
      throw new KeeperError("TOO_LARGE", `a batch holds at most ${limits.maxItems} items`);
    if (at + 4 > bytes.length) throw new KeeperError("BAD_REQUEST", "a blob's length is cut short");
    const length = view.getUint32(at);
    at += 4;
    if (length === MISSING && limits.allowMissing) {
      out.push(null);
      continue;
    }
    if (length > limits.maxBlob)
      throw new KeeperError("TOO_LARGE", `a blob is larger than ${limits.maxBlob} bytes`);
    if (at + length > bytes.length) throw new KeeperError("BAD_REQUEST", "a blob is cut short");
    out.push(bytes.subarray(at, at + length));
    at += length;
  }
  return out;
}

/** Refs, 16 bytes each, back to back. */
export function packRefs(refs: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(refs.length * REF_LENGTH);
  refs.forEach((ref, i) => {
    if (ref.length !== REF_LENGTH) throw new KeeperError("BAD_REF", `a ref is ${REF_LENGTH} bytes`);
    out.set(ref, i * REF_LENGTH);
  });
  return out;
}

export function unpackRefs(bytes: Uint8Array, maxItems: number): Uint8Array[] {
  if (bytes.length % REF_LENGTH !== 0)
    throw new KeeperError("BAD_REQUEST", `refs come as ${REF_LENGTH} bytes each`);
  const n = bytes.length / REF_LENGTH;
  if (n > maxItems) throw new KeeperError("TOO_LARGE", `a batch holds at most ${maxItems} items`);
  return Array.from({ length: n }, (_, i) => bytes.subarray(i * REF_LENGTH, (i + 1) * REF_LENGTH));
}

export type RefsBody = typeof bodies.refs.static;
export type ListBody = typeof bodies.list.static;

export interface ErrorBody {
  error: { code: KeeperErrorCode; message: string };
}

export const toBase64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");

/** Decodes canonical standard base64; anything else (stray characters, missing padding) is BAD_REQUEST. */
export const fromBase64 = (text: string): Uint8Array => {
  const buf = Buffer.from(text, "base64");
  if (buf.toString("base64") !== text) {
    throw new KeeperError("BAD_REQUEST", "a ref or blob is not canonical base64");
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
};

/** The HTTP status of each keeper error on the socket (the keeper's own table; the app has its own). */
export function statusOf(code: KeeperErrorCode): number {
  switch (code) {
    case "BAD_REQUEST":
    case "BAD_REF":
      return 400;
    case "UNAUTHORIZED":
      return 401;
    case "TOO_LARGE":
      return 413;
    case "CLOSED":
      return 503;
    default:
      return 500;
  }
}
