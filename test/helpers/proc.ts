/**
 * Looking at processes through /proc (Linux): a process's children, its
 * command line, whether it still runs, and its memory.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The process state letter from /proc/<pid>/stat (R, S, D, Z, ...), or undefined when gone. */
export function processState(pid: number): string | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name is in parentheses and may hold spaces: the state follows the last ")".
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

/** Running: it exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

/** Direct children that are still running (from every thread's `children` list). */
export function childPids(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return [];
  const pids = new Set<number>();
  let threads: string[] = [];
  try {
    threads = readdirSync(tasks);
  } catch {
    return [];
  }
  for (const tid of threads) {
    for (const word of (read(`${tasks}/${tid}/children`) ?? "").split(/\s+/)) {
      if (word) pids.add(Number(word));
    }
  }
  return [...pids].filter(isRunning).sort((a, b) => a - b);
}

/** Every running descendant, depth first. */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  for (const child of childPids(pid)) out.push(child, ...descendantPids(child));
  return out;
}

export function cmdline(pid: number): string[] {
  return (read(`/proc/${pid}/cmdline`) ?? "").split("\0").filter((s) => s.length > 0);
}

/** The value after `--role` (or in `--role=X`) on a process's command line. */
export function roleOf(pid: number): string | undefined {
  const args = cmdline(pid);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--role") return args[i + 1];
    if (args[i]!.startsWith("--role=")) return args[i]!.slice("--role=".length);
  }
  return undefined;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(read(`/proc/${pid}/status`) ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Resident memory now, in KiB. */
export function rssKb(pid: number): number | undefined {
  return statusKb(pid, "VmRSS");
}

/** Peak resident memory so far, in KiB. */
export function peakRssKb(pid: number): number | undefined {
  return statusKb(pid, "VmHWM");
}

/**
 * Proportional set size in KiB: resident memory with pages shared between
 * processes (the binary's own text, mapped by all three) split among them, so
 * a sum over a process tree counts them once.
 */
export function pssKb(pid: number): number | undefined {
  const m = /^Pss:\s+(\d+) kB/m.exec(read(`/proc/${pid}/smaps_rollup`) ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Sends a signal to every pid given, ignoring those already gone. */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * kill -9 of a process and all its descendants at once, as a power cut or an
 * OOM kill of the whole group would: every process is frozen (SIGSTOP) before
 * any is killed, so that none sees another die and cleans up (a supervisor
 * removing a socket, a child noticing its parent is gone).
 */
export function killTree(pid: number): number[] {
  const all = [pid];
  signalAll(all, "SIGSTOP");
  for (let i = 0; i < all.length; i++) {
    for (const child of childPids(all[i]!)) {
      if (!all.includes(child)) {
        signalAll([child], "SIGSTOP");
        all.push(child);
      }
    }
  }
  signalAll(all, "SIGKILL");
  return all;
}

/**
 * Polls until `probe` returns something other than undefined/false, or fails
 * after `timeoutMs` with a message saying what was awaited.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 15_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}
