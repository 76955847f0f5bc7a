/**
 * The client's one error: what the server answered (`{error:{code,message,hint}}`
 * with its HTTP status), or why no answer came (network, timeout, a reply that
 * is not the API's). UI-free: its codes say their exit code (exitCodeOfApi), the TUI maps them to
 * screens. Messages never hold a value, a token or a request body.
 */
import { EXIT, EXIT_CODE, type ExitCode } from "../exit-codes";
import type { ErrorCode } from "../server";

export type ClientErrorCode =
  | ErrorCode
  /** The server could not be reached (refused, reset, DNS, TLS). */
  | "NETWORK"
  /** No answer within the timeout. */
  | "TIMEOUT"
  /** An answer that is not the API's (a proxy's HTML page, truncated JSON). */
  | "BAD_RESPONSE";

export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly details: {
      status?: number;
      hint?: string;
      method?: string;
      /** The path and query asked for, for --verbose (never a body). */
      path?: string;
      /** The underlying failure's own text, for --verbose (network errors only). */
      cause?: string;
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = "ClientError";
  }

  get [EXIT_CODE](): ExitCode {
    return exitCodeOfApi(this.code);
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get hint(): string | undefined {
    return this.details.hint;
  }

  /** The server could not be reached, or failed in a way a later retry may not: a cached copy may stand in. */
  get unreachable(): boolean {
    if (this.code === "NETWORK" || this.code === "TIMEOUT") return true;
    const status = this.details.status ?? 0;
    return status === 502 || status === 503 || status === 504;
  }
}

/** The client's table from the API's error codes (and its own) to the CLI's exit codes. */
export function exitCodeOfApi(code: ClientErrorCode): ExitCode {
  switch (code) {
    case "NETWORK":
    case "TIMEOUT":
      return EXIT.network;
    case "UNAUTHENTICATED":
    case "INVALID_CREDENTIALS":
    case "FORBIDDEN":
    case "SELF_APPROVAL":
    case "PASSWORD_CHANGE_REQUIRED":
    case "ACCOUNT_LOCKED":
      return EXIT.auth;
    case "NOT_FOUND":
      return EXIT.notFound;
    case "VERSION_CONFLICT":
    case "CONFLICT":
    case "REQUEST_STALE":
      return EXIT.conflict;
    case "INVALID_REQUEST":
    case "WEBHOOK_URL_REFUSED":
    case "MALFORMED_JSON":
    case "PAYLOAD_TOO_LARGE":
    case "LIMIT_EXCEEDED":
    case "UNSUPPORTED_MEDIA_TYPE":
    case "METHOD_NOT_ALLOWED":
      return EXIT.usage;
    case "RATE_LIMITED":
      return EXIT.failure;
    default:
      return EXIT.server;
  }
}
