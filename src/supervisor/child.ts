/**
 * What a supervised child does for its parent: say "ready" once, and stop
 * when the parent goes away (its stdin closes) or asks (SIGTERM). SIGINT from
 * a terminal reaches the whole process group; a supervised child leaves it to
 * the parent, which stops the children in order.
 */
import type { Logger } from "../log";
import { startLoggedIdleTrim } from "./idle-trim";

export interface RoleLifecycle {
  supervised: boolean;
  ready(): void;
  /** Resolves with the reason once the role should stop. */
  stopRequested: Promise<string>;
}

export function roleLifecycle(supervised: boolean, log: Logger): RoleLifecycle {
  let resolveStop!: (reason: string) => void;
  const stopRequested = new Promise<string>((r) => {
    resolveStop = r;
  });
  process.on("SIGTERM", () => resolveStop("SIGTERM"));
  // A hang-up never stops a role (the app reloads its certificate on it; see server/run.ts).
  process.on("SIGHUP", () => {});
  if (supervised) {
    process.on("SIGINT", () => {});
    (async () => {
      for await (const _ of Bun.stdin.stream()) {
        // The parent never writes; end of input means it is gone.
      }
      resolveStop("parent gone");
    })().catch(() => resolveStop("parent gone"));
  } else {
    process.on("SIGINT", () => resolveStop("SIGINT"));
  }
  return {
    supervised,
    ready: () => {
      // Start-up garbage (migrations, schema compilation) is collected before the long idle,
      // and from then on the memory a burst of work leaves behind goes back once it is over.
      Bun.gc(true);
      startLoggedIdleTrim(log);
      if (supervised) process.stdout.write("ready\n");
    },
    stopRequested,
  };
}
