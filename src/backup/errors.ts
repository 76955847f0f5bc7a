import { EXIT, EXIT_CODE, type ExitCode } from "../exit-codes";

/** A backup or restore refused or failed: its message, one hint, and the exit code of the README's table. */
export class BackupError extends Error {
  readonly [EXIT_CODE]: ExitCode;

  constructor(
    message: string,
    exitCode: ExitCode = EXIT.server,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "BackupError";
    this[EXIT_CODE] = exitCode;
  }
}
