/**
 * Keeps a crash from writing the server's memory to disk: the keeper holds
 * the root key and the keyring, the app holds app.key, the keeper token,
 * sessions and recently read values. Every `vault serve` process (the
 * supervisor and each role) calls this before it reads a key, and every
 * other command (which may hold values, a credential or, for the operator
 * commands, the key files) before it runs; `vault run` keeps the core limit
 * as it was, since the command it starts would inherit it.
 *
 * - RLIMIT_CORE 0, soft and hard: no core file, and the process cannot
 *   raise it again (an unprivileged process cannot raise a hard limit).
 *   Children inherit it. A core_pattern that pipes to a program
 *   (systemd-coredump, apport) is not bound by this limit in the kernel;
 *   only by the program's goodwill. Hence also:
 * - PR_SET_DUMPABLE 0: the kernel writes no core at all, whatever the
 *   core_pattern (with fs.suid_dumpable at its default 0). It also keeps
 *   processes of the same user out: no ptrace attach, and /proc/PID/mem,
 *   maps, smaps, environ and fd are root's only. `/proc/PID/limits`,
 *   `status` and `cmdline` stay readable. It is reset on exec, so each
 *   process sets it itself. `--debuggable` leaves this one off (to attach a
 *   debugger, or to measure memory through smaps as the same user).
 *
 * Linux only, through libc with bun:ffi (works in the compiled binary).
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

// Linux's numbers (asm-generic; the same on x86-64 and arm64).
const RLIMIT_CORE = 4;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;

export interface HardenResult {
  /** RLIMIT_CORE is 0 (soft and hard). */
  coreLimitZero: boolean;
  /** PR_SET_DUMPABLE 0 took effect. */
  nonDumpable: boolean;
  /** Why something could not be done (never secret). */
  problem?: string;
}

function libc() {
  return dlopen("libc.so.6", {
    setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    prctl: {
      args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64],
      returns: FFIType.i32,
    },
  });
}

/**
 * Turns core dumps off for this process (and, for the limit, its children);
 * `dumpable` keeps ptrace and /proc open to the same user; `coreLimit: false`
 * leaves RLIMIT_CORE as it was (for a process whose children are not ours).
 */
export function disableCoreDumps(options: { dumpable?: boolean; coreLimit?: boolean } = {}): HardenResult {
  if (process.platform !== "linux") {
    return { coreLimitZero: false, nonDumpable: false, problem: `not done on ${process.platform}` };
  }
  let lib: ReturnType<typeof libc>;
  try {
    lib = libc();
  } catch (error) {
    return { coreLimitZero: false, nonDumpable: false, problem: `libc.so.6: ${(error as Error).message}` };
  }
  try {
    const problems: string[] = [];
    // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }: two 64-bit words.
    const zero = new BigUint64Array([0n, 0n]);
    if (options.coreLimit !== false && lib.symbols.setrlimit(RLIMIT_CORE, ptr(zero)) !== 0)
      problems.push("setrlimit(RLIMIT_CORE) failed");
    const now = new BigUint64Array(2);
    const coreLimitZero =
      lib.symbols.getrlimit(RLIMIT_CORE, ptr(now)) === 0 && now[0] === 0n && now[1] === 0n;
    let nonDumpable = false;
    if (!options.dumpable) {
      if (lib.symbols.prctl(PR_SET_DUMPABLE, 0n, 0n, 0n, 0n) !== 0)
        problems.push("prctl(PR_SET_DUMPABLE) failed");
      nonDumpable = lib.symbols.prctl(PR_GET_DUMPABLE, 0n, 0n, 0n, 0n) === 0;
    }
    return { coreLimitZero, nonDumpable, ...(problems.length ? { problem: problems.join("; ") } : {}) };
  } finally {
    lib.close();
  }
}
