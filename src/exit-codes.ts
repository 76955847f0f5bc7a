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
