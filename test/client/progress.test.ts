import { describe, expect, it } from "bun:test";
import { withProgress } from "../../src/client";

function io(tty: boolean) {
  const err: string[] = [];
  const out: string[] = [];
  return {
    err,
    out,
    io: {
      env: {},
      stdout: { write: (t: string) => out.push(t), isTTY: tty },
      stderr: { write: (t: string) => err.push(t), isTTY: tty },
    },
  };
}

describe("progress", () => {
  it("shows a spinner on a terminal's stderr while slow work runs, then erases it", async () => {
    const t = io(true);
    const result = await withProgress(t.io, "pushing .env", () => Bun.sleep(250).then(() => 42), 50);
    expect(result).toBe(42);
    expect(t.err.some((line) => line.includes("pushing .env"))).toBe(true);
    expect(t.err.at(-1)).toBe("\r\u001b[2K");
    expect(t.out).toEqual([]);
  });

  it("prints nothing when stderr is not a terminal, or when the work is quick", async () => {
    const piped = io(false);
    await withProgress(piped.io, "pushing", () => Bun.sleep(150), 10);
    expect(piped.err).toEqual([]);
    const quick = io(true);
    await withProgress(quick.io, "pushing", async () => 1, 300);
    expect(quick.err).toEqual([]);
  });
});
