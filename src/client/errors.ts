/**
 * The client's one error: what the server answered (`{error:{code,message,hint}}`
 * with its HTTP status), or why no answer came (network, timeout, a reply that
 * is not the API's). UI-free: the CLI maps codes to exit codes, the TUI to
 * screens. Messages never hold a value, a token or a request body.
 */
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
