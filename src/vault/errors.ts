/**
 * The keeper's errors. Every failure carries a string `code`; messages never
 * hold a value, a key, a token or the rotation schedule.
 */
import { EXIT, EXIT_CODE } from "../exit-codes";
export const KEEPER_ERROR_CODES = [
  // opening a sealed value
  "UNKNOWN_VERSION",
  "UNKNOWN_TERM",
  "INTEGRITY",
  "TRUNCATED",
  "BAD_REF",
  // start-up and keys
  "WRONG_ROOT_KEY",
  "ROOT_KEY_MISSING",
  "NO_KEEPER",
  "KEYRING",
  "CLOSED",
  "UNSUPPORTED",
  // the socket service and its client
  "BAD_REQUEST",
  /** No such route on the socket (an app and a keeper of different releases). */
  "NOT_FOUND",
  "TOO_LARGE",
  "UNAUTHORIZED",
  "UNREACHABLE",
  "REFUSED",
  "BAD_RESPONSE",
  "IN_USE",
  "SOCKET_DIR",
  "INTERNAL",
] as const;

export type KeeperErrorCode = (typeof KEEPER_ERROR_CODES)[number];

/** A code from the wire, checked: anything the keeper does not define is BAD_RESPONSE. */
export function keeperErrorCode(code: unknown): KeeperErrorCode {
  return (KEEPER_ERROR_CODES as readonly unknown[]).includes(code)
    ? (code as KeeperErrorCode)
    : "BAD_RESPONSE";
}

export class KeeperError extends Error {
  constructor(
    readonly code: KeeperErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KeeperError";
  }

  /** Every keeper failure the CLI sees is the server's (the data directory's, its keys', its socket's). */
  readonly [EXIT_CODE] = EXIT.server;
}
