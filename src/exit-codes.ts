/** The CLI's exit codes: one table, documented in the README. */
export const EXIT = {
  ok: 0,
  /** Something failed that is not one of the kinds below. */
  failure: 1,
  /** The command line was wrong: unknown command or flag, missing argument, bad value. */
  usage: 2,
  /** Not signed in, wrong credentials, or not allowed. */
  auth: 3,
  notFound: 4,
  conflict: 5,
  /** The server could not be reached. */
  network: 6,
  /** The server (or the local data directory) failed. */
  server: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Where an error says how the CLI ends. Each boundary's error class keeps its
 * own table from its codes to an exit code and answers under this key (the
 * client's from the API's codes, the keeper's, the data directory's, the
 * configuration's), so one function maps any error without knowing, or
 * matching the name of, the module it came from.
 */
export const EXIT_CODE: unique symbol = Symbol("vault.exitCode");

export interface Exits {
  readonly [EXIT_CODE]: ExitCode;
}

/** The exit code an error ends the CLI with, when it says; undefined for an error nobody expected. */
export function exitCodeOf(error: unknown): ExitCode | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as Partial<Exits>)[EXIT_CODE];
  return typeof code === "number" ? code : undefined;
}
