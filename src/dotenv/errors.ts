/**
 * The dotenv module's errors. Every failure carries a string `code`; messages
 * name keys and positions, never a value, a key or a ciphertext.
 */
import { EXIT, EXIT_CODE } from "../exit-codes";
export type DotenvErrorCode =
  // editing and rendering a document
  | "UNREPRESENTABLE"
  | "INVALID_KEY_NAME"
  | "MISSING_VALUE"
  | "CONFLICTING_CHANGE"
  | "INVALID_LAYOUT"
  // .env.vault and DOTENV_KEY (the codes npm dotenv uses)
  | "INVALID_DOTENV_KEY"
  | "DECRYPTION_FAILED"
  | "NOT_FOUND_DOTENV_ENVIRONMENT"
  | "MISSING_DATA"
  | "INVALID_ENVIRONMENT"
  | "INVALID_PROJECT";

export class DotenvError extends Error {
  constructor(
    readonly code: DotenvErrorCode,
    message: string,
    options?: ErrorOptions & { key?: string },
  ) {
    super(`${code}: ${message}`, options);
    this.name = "DotenvError";
    if (options?.key !== undefined) this.key = options.key;
  }

  readonly [EXIT_CODE] = EXIT.failure;

  /** The variable name the failure is about, when there is one. */
  key?: string;
}
