/**
 * Runs a keeper's scheduled work on a timer: every `idleMs` while nothing is
 * pending, every `busyMs` while a re-seal is in progress. One tick at a time.
 */
import type { Keeper } from "./keeper-types";

export interface Ticker {
  /** Stops the timer and waits for a tick in progress. */
  stop(): Promise<void>;
}

export function startTicker(
  keeper: Pick<Keeper, "tick">,
  options: { idleMs?: number; busyMs?: number; onError?: (error: unknown) => void } = {},
): Ticker {
  const idleMs = options.idleMs ?? 15_000;
  const busyMs = options.busyMs ?? 50;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();

  const schedule = (ms: number) => {
    if (!stopped) timer = setTimeout(run, ms);
  };
  function run(): void {
    running = keeper.tick().then(
      (report) => schedule(report.pending ? busyMs : idleMs),
      (error) => {
        options.onError?.(error);
        schedule(idleMs);
      },
    );
  }
  schedule(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
