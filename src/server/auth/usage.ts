/**
 * When each credential was last used (service tokens in `vault tokens list`,
 * sessions and `me_` credentials on the account page), recorded
 * without a write per request on the hot pull path: a process writes a
 * token's time at most once a minute, and writes every token that is due in
 * one statement after the current turn of the event loop (the audit log's
 * group commit, in small). A crash loses at most a minute of "last used".
 */
import type { Logger } from "../../log";

export interface UsageSink {
  touchMany(entries: readonly (readonly [id: string, at: number])[]): Promise<void>;
}

export interface UsageRecorder {
  /** A successful authentication with this token at `at`. */
  used(tokenId: string, at: number): void;
  /** Resolves once every recorded use is written. */
  flush(): Promise<void>;
}

export const USAGE_INTERVAL_MS = 60_000;

export function createUsageRecorder(
  sink: UsageSink,
  options: { log?: Logger; intervalMs?: number } = {},
): UsageRecorder {
  const intervalMs = options.intervalMs ?? USAGE_INTERVAL_MS;
  /** When this process last wrote each token's use. */
  const written = new Map<string, number>();
  let pending = new Map<string, number>();
  let running: Promise<void> | null = null;

  const drain = async () => {
    while (pending.size > 0) {
      const batch = [...pending];
      pending = new Map();
      try {
        await sink.touchMany(batch);
      } catch (error) {
        // Try again at the next use rather than waiting out the interval.
        for (const [id] of batch) written.delete(id);
        options.log?.warn("recording service token use failed", { error: (error as Error).name });
      }
    }
    running = null;
  };

  return {
    used(tokenId, at) {
      const last = written.get(tokenId);
      if (last !== undefined && at >= last && at - last < intervalMs) return;
      if (written.size >= 10_000) written.clear();
      written.set(tokenId, at);
      pending.set(tokenId, at);
      running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(drain);
    },
    async flush() {
      while (running) await running;
    },
  };
}
