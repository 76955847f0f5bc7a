/**
 * The keeper's socket protocol, shared by the service and its client: JSON
 * bodies, refs and blobs in standard base64, every array and string bounded.
 *
 *   POST /v1/put         {blobs: string[]}                      -> {refs: string[]}
 *   POST /v1/get         {refs: string[]}                       -> {blobs: (string|null)[]}
 *   POST /v1/delete      {refs: string[]}                       -> {deleted: number}
 *   POST /v1/list        {createdBefore, after?: string, limit} -> {refs: string[]}
 *   GET  /v1/stats                                              -> KeeperStats
 *   GET  /v1/health                                             -> KeeperHealth
 *   POST /v1/rotate                                             -> {term: number}
 *   POST /v1/rotate-root                                        -> {}
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

const MAX_BLOB_BASE64 = 4 * Math.ceil(MAX_BLOB_BYTES / 3);
const REF = t.String({ minLength: 24, maxLength: 24, pattern: "^[A-Za-z0-9+/]{22}==$" });
// Blobs are bounded here and checked for canonical base64 as they are decoded (a regex over megabytes is slow).
const BLOB = t.String({ maxLength: MAX_BLOB_BASE64 });

export const bodies = {
  put: t.Object({ blobs: t.Array(BLOB, { maxItems: MAX_BATCH }) }),
  refs: t.Object({ refs: t.Array(REF, { maxItems: MAX_BATCH }) }),
  list: t.Object({
    createdBefore: t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    after: t.Optional(REF),
    limit: t.Integer({ minimum: 1, maximum: MAX_LIST }),
  }),
};

export type PutBody = typeof bodies.put.static;
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
