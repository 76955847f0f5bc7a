/**
 * Gives memory back once a burst of work is over. Every `intervalMs` the
 * process looks at the CPU time it used since the last look: an interval of
 * at least `busyCpuMs` marks it busy; the first quiet interval after that
 * asks JavaScriptCore to shrink its footprint (`Bun.shrink()`: at its next
 * idle moment, a full collection, compiled code dropped, free pages returned
 * to the system). A process that starts is busy.
 *
 * What it costs: about 10 ms of CPU per shrink, and the next request
 * after a quiet spell runs in the interpreter while the JIT warms up again.
 * Under steady load it never fires. The shrink's own work, which JSC does
 * as the timer's callback returns, is left out of the next interval's count.
 */
import type { Logger } from "../log";

export interface IdleTrimOptions {
  intervalMs?: number;
  busyCpuMs?: number;
  /** CPU time used by this process so far, in microseconds. */
  cpuMicros?: () => number;
  shrink?: () => void;
  /** Runs `fn` once the shrink's deferred work is done (setImmediate: JSC shrinks as the callback returns). */
  afterShrink?: (fn: () => void) => void;
  /** Told each time the trim fires (a debug log line), before the shrink. */
  onTrim?: () => void;
}

export interface IdleTrim {
  /** Runs one look now, as the timer does (for tests). */
  tick(): void;
  stop(): void;
}

export const IDLE_TRIM_INTERVAL_MS = 5_000;
/** An idle process uses about 1 ms of CPU per second; a burst of a few requests uses more than this in 5 s. */
export const IDLE_TRIM_BUSY_CPU_MS = 25;

const ownCpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Bun.shrink is marked deprecated in bun-types (it has no documented successor); a full collection is the fallback. */
function shrinkFootprint(): void {
  if (typeof Bun.shrink === "function") Bun.shrink();
  else Bun.gc(true);
}

export function startIdleTrim(options: IdleTrimOptions = {}): IdleTrim {
  const intervalMs = options.intervalMs ?? IDLE_TRIM_INTERVAL_MS;
  const busyMicros = (options.busyCpuMs ?? IDLE_TRIM_BUSY_CPU_MS) * 1000;
  const cpuMicros = options.cpuMicros ?? ownCpuMicros;
  const shrink = options.shrink ?? shrinkFootprint;
  const afterShrink = options.afterShrink ?? ((fn: () => void) => setImmediate(fn));
  let last = cpuMicros();
  let busy = true;
  const tick = () => {
    const now = cpuMicros();
    const used = now - last;
    last = now;
    if (used >= busyMicros) {
      busy = true;
    } else if (busy) {
      busy = false;
      options.onTrim?.();
      shrink();
      afterShrink(() => {
        last = cpuMicros();
      });
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return { tick, stop: () => clearInterval(timer) };
}

/** The trim of a process that logs: a debug line with its resident memory each time it fires. */
export function startLoggedIdleTrim(log: Logger): IdleTrim {
  return startIdleTrim({
    onTrim: () =>
      log.debug("idle: giving memory back", { rssMb: Math.round(process.memoryUsage.rss() / 1048576) }),
  });
}
