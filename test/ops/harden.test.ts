/**
 * disableCoreDumps in a process of its own (its limits cannot be raised
 * again once lowered, so never in the test runner): started with core files
 * allowed, it leaves RLIMIT_CORE at 0 (soft and hard) and the process not
 * dumpable; with `dumpable` the limit only.
 */
import { describe, expect, it } from "bun:test";
import { join } from "node:path";

const HARDEN = join(import.meta.dir, "../../src/harden.ts");

const SCRIPT = `
import { dlopen, FFIType } from "bun:ffi";
import { readFileSync } from "node:fs";
import { disableCoreDumps } from ${JSON.stringify(HARDEN)};
const core = () => readFileSync("/proc/self/limits", "utf8").split("\\n").find((l) => l.startsWith("Max core file size")).split(/\\s{2,}/).slice(1, 3);
const prctl = dlopen("libc.so.6", { prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 } }).symbols.prctl;
const before = { core: core(), dumpable: prctl(3, 0n, 0n, 0n, 0n) };
const result = disableCoreDumps({ dumpable: process.argv.includes("dumpable") });
console.log(JSON.stringify({ before, after: { core: core(), dumpable: prctl(3, 0n, 0n, 0n, 0n) }, result }));
`;

/** Runs the script with core files allowed (soft limit raised to the hard one). */
function harden(mode: "default" | "dumpable") {
  const out = Bun.spawnSync(
    ["sh", "-c", 'ulimit -c "$(ulimit -H -c)" && exec "$0" -e "$1" "$2"', process.execPath, SCRIPT, mode],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (out.exitCode !== 0) throw new Error(`the script failed: ${out.stderr.toString()}`);
  return JSON.parse(out.stdout.toString());
}

describe("disableCoreDumps", () => {
  it("lowers RLIMIT_CORE to 0, soft and hard, and makes the process not dumpable", () => {
    const { before, after, result } = harden("default");
    // The control: the process started able to write a core file.
    expect(before.core[0]).not.toBe("0");
    expect(before.dumpable).toBe(1);
    expect(after).toEqual({ core: ["0", "0"], dumpable: 0 });
    expect(result).toEqual({ coreLimitZero: true, nonDumpable: true });
  });

  it("with dumpable, lowers the limit and leaves ptrace and /proc to the same user", () => {
    const { after, result } = harden("dumpable");
    expect(after).toEqual({ core: ["0", "0"], dumpable: 1 });
    expect(result).toEqual({ coreLimitZero: true, nonDumpable: false });
  });
});
