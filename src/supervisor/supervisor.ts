/**
 * `vault serve` with the default role: one parent that runs two copies of
 * its own executable, the keeper and then the app, restarts a crashed child
 * with backoff, and stops both cleanly on SIGTERM/SIGINT.
 *
 * Children learn they are supervised from `--supervised`: they say "ready" on
 * stdout once they listen, and exit when their stdin closes (the parent is
 * gone, even after kill -9), so no orphan outlives its supervisor.
 */
import type { Subprocess } from "bun";
import type { Logger } from "../log";
import { startLoggedIdleTrim } from "./idle-trim";

export type ChildRole = "keeper" | "app";

export interface SupervisorOptions {
  /** The serve arguments to pass on to each child (flags only, no --role). */
  args: readonly string[];
  log: Logger;
  /** Sleep, injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Removes what a child may leave behind (the keeper's socket) after it is gone. */
  cleanup?: (role: ChildRole) => void;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** Added to each child's environment (the unpacked libsql addon). */
  childEnv?: Record<string, string>;
}

interface Child {
  role: ChildRole;
  proc: Subprocess<"pipe", "pipe", "inherit">;
  startedAt: number;
  ready: Promise<boolean>;
}

/** How to start another copy of this program: the compiled binary, or bun with the script. */
export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 10_000;
const STABLE_MS = 30_000;

export async function runSupervisor(options: SupervisorOptions): Promise<number> {
  const { log } = options;
  const sleep = options.sleep ?? ((ms: number) => Bun.sleep(ms));
  const now = options.now ?? Date.now;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const children = new Map<ChildRole, Child>();
  const backoff: Record<ChildRole, number> = { keeper: MIN_BACKOFF_MS, app: MIN_BACKOFF_MS };
  let stopping = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });

  const spawn = (role: ChildRole): Child => {
    const proc = Bun.spawn([...selfCommand(), "serve", ...options.args, "--role", role, "--supervised"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
      env: { ...process.env, ...options.childEnv },
    });
    const ready = watchOutput(proc, role);
    const child: Child = { role, proc, startedAt: now(), ready };
    children.set(role, child);
    log.info("started", { role, pid: proc.pid });
    proc.exited.then((code) => onExit(child, code));
    return child;
  };

  const onExit = async (child: Child, code: number) => {
    if (children.get(child.role) !== child) return;
    children.delete(child.role);
    options.cleanup?.(child.role);
    if (stopping) return;
    const ranMs = now() - child.startedAt;
    if (ranMs > STABLE_MS) backoff[child.role] = MIN_BACKOFF_MS;
    const delay = backoff[child.role];
    backoff[child.role] = Math.min(delay * 2, MAX_BACKOFF_MS);
    log.warn("child exited; restarting", { role: child.role, code, restartInMs: delay });
    await sleep(delay);
    if (stopping) return;
    const next = spawn(child.role);
    if (!(await waitReady(next))) log.error("restarted child did not become ready", { role: child.role });
  };

  const waitReady = async (child: Child): Promise<boolean> => {
    const timeout = sleep(readyTimeoutMs).then(() => false);
    return Promise.race([child.ready, timeout]);
  };

  const stopChild = async (role: ChildRole) => {
    const child = children.get(role);
    if (!child) return;
    child.proc.kill("SIGTERM");
    const exited = await Promise.race([
      child.proc.exited.then(() => true),
      sleep(stopTimeoutMs).then(() => false),
    ]);
    if (!exited) {
      log.warn("child did not stop in time; killing it", { role });
      child.proc.kill("SIGKILL");
      await child.proc.exited;
    }
    children.delete(role);
    options.cleanup?.(role);
  };

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await stopChild("app");
    await stopChild("keeper");
    resolveDone(code);
  };

  const onSignal = (signal: string) => {
    log.info("stopping", { signal });
    void stop(0);
  };
  // SIGHUP reloads the app's TLS certificate; the keeper has nothing to reload.
  const onHangup = () => {
    const app = children.get("app");
    log.info("forwarding SIGHUP to the app", { pid: app?.proc.pid });
    app?.proc.kill("SIGHUP");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("SIGHUP", onHangup);

  // First start: a child that never becomes ready is a configuration or key
  // problem, not a crash; report its exit code instead of looping.
  for (const role of ["keeper", "app"] as const) {
    const child = spawn(role);
    const ok = await Promise.race([waitReady(child), child.proc.exited.then(() => false)]);
    if (!ok) {
      const code = child.proc.exitCode;
      stopping = true;
      if (code === null) child.proc.kill("SIGKILL");
      await stopChild("app");
      await stopChild("keeper");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      process.off("SIGHUP", onHangup);
      return code && code !== 0 ? code : 1;
    }
  }
  log.info("ready", { keeper: children.get("keeper")?.proc.pid, app: children.get("app")?.proc.pid });
  const trim = startLoggedIdleTrim(log);

  const code = await done;
  trim.stop();
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  process.off("SIGHUP", onHangup);
  return code;
}

/** Reads a child's stdout: the line "ready" resolves readiness; anything else is passed through. */
async function watchOutput(proc: Subprocess<"pipe", "pipe", "inherit">, _role: ChildRole): Promise<boolean> {
  const decoder = new TextDecoder();
  let buffer = "";
  let ready = false;
  let resolveReady!: (v: boolean) => void;
  const promise = new Promise<boolean>((r) => {
    resolveReady = r;
  });
  (async () => {
    for await (const chunk of proc.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl = buffer.indexOf("\n");
      while (nl !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!ready && line === "ready") {
          ready = true;
          resolveReady(true);
        } else {
          process.stdout.write(`${line}\n`);
        }
        nl = buffer.indexOf("\n");
      }
    }
    resolveReady(false);
  })().catch(() => resolveReady(false));
  return promise;
}
