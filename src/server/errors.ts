/**
 * The one table from error code to HTTP status, and the one error shape of
 * the native API: `{ "error": { "code", "message", "hint" } }`. HTTP status
 * codes exist only in this module. No value, token, key or database error
 * text ever reaches a message.
 */
import { KeeperError, type KeeperErrorCode } from "../vault";

export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  MALFORMED_JSON: 400,
  INVALID_HOST: 400,
  WEBHOOK_URL_REFUSED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  /** A change request approved by its own author (issue 16). */
  SELF_APPROVAL: 403,
  PASSWORD_CHANGE_REQUIRED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  VERSION_CONFLICT: 409,
  CONFLICT: 409,
  /** A change request whose environment moved on since its base: rebase it. */
  REQUEST_STALE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ACCOUNT_LOCKED: 423,
  INTEGRITY: 500,
  LIMIT_EXCEEDED: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NOT_READY: 503,
  KEEPER_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; hint?: string };
}

export function errorBody(code: ErrorCode, message: string, hint?: string): ErrorBody {
  return { error: hint === undefined ? { code, message } : { code, message, hint } };
}

export function errorResponse(error: ApiError): Response {
  return Response.json(errorBody(error.code, error.message, error.hint), {
    status: error.status,
    headers: error.headers,
  });
}

const keeperUnavailable = () =>
  new ApiError("KEEPER_UNAVAILABLE", "the keeper is not reachable", "retry shortly", { "retry-after": "2" });

/**
 * The keeper's errors as the API answers them: a keeper out of reach (or
 * answering what is not its protocol) is a 503 the client may retry. Every
 * other keeper failure is the server's own: not in this table, a 500 that
 * the server logs by its code.
 */
const KEEPER_ERRORS: Partial<Record<KeeperErrorCode, () => ApiError>> = {
  UNREACHABLE: keeperUnavailable,
  BAD_RESPONSE: keeperUnavailable,
};

/** The API's answer to a keeper error, when the table has one (typed codes: no matching by name). */
export function fromKeeperError(error: unknown): ApiError | undefined {
  return error instanceof KeeperError ? KEEPER_ERRORS[error.code]?.() : undefined;
}
