/**
 * The keeper's errors. Every failure carries a string `code`; messages never
 * hold a value, a key, a token or the rotation schedule.
 */
export type KeeperErrorCode =
  // opening a sealed value
  | "UNKNOWN_VERSION"
  | "UNKNOWN_TERM"
  | "INTEGRITY"
  | "TRUNCATED"
  | "BAD_REF"
  // start-up and keys
  | "WRONG_ROOT_KEY"
  | "ROOT_KEY_MISSING"
  | "NO_KEEPER"
  | "KEYRING"
  | "CLOSED"
  | "UNSUPPORTED"
  // the socket service and its client
  | "BAD_REQUEST"
  | "TOO_LARGE"
  | "UNAUTHORIZED"
  | "UNREACHABLE"
  | "REFUSED"
  | "BAD_RESPONSE"
  | "IN_USE"
  | "SOCKET_DIR"
  | "INTERNAL";

export class KeeperError extends Error {
  constructor(
    readonly code: KeeperErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KeeperError";
  }
}
