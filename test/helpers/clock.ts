/**
 * Moving the wall clock of a `vault serve` tree forward, without a test
 * hook in src/: libfaketime (Debian package `faketime`) is preloaded into the
 * binary (its children inherit the environment) and reads the offset from a
 * file on every clock call, so a test can write "+11m" into that file and the
 * running server lives eleven minutes later from then on. Only the wall clock
 * moves (FAKETIME_DONT_FAKE_MONOTONIC): timers and timeouts keep real time.
 *
 * Move it forward only: a server whose clock goes back sees rate-limit
 * buckets and sessions from the future.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LIBFAKETIME =
  process.env.VAULT_E2E_LIBFAKETIME ?? "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

export interface ShiftedClock {
  /** Environment variables for the process whose clock this moves. */
  env: Record<string, string>;
  /** Sets the offset from real time, e.g. `set(11 * 60)`; takes effect on the process's next clock call. */
  set(offsetSeconds: number): void;
}

export function shiftedClock(dir: string): ShiftedClock {
  if (!existsSync(LIBFAKETIME)) {
    throw new Error(
      `${LIBFAKETIME} does not exist: the expiry tests need libfaketime (apt-get install -y faketime; .ci/run installs it), or VAULT_E2E_LIBFAKETIME=/path/to/libfaketime.so.1`,
    );
  }
  const file = join(dir, "faketime");
  const set = (offsetSeconds: number) =>
    writeFileSync(file, `${offsetSeconds >= 0 ? "+" : ""}${offsetSeconds}\n`);
  set(0);
  return {
    env: {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    },
    set,
  };
}
