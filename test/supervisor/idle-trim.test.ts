/**
 * The idle trim gives memory back once after each burst of work, never under
 * steady load, and not again and again while the process stays idle.
 */
import { describe, expect, it } from "bun:test";
import { startIdleTrim } from "../../src/supervisor/idle-trim";

/**
 * A trim driven by hand: `interval(ms)` is the CPU milliseconds the process used
 * in the next interval; a shrink costs `shrinkCostMs`, spent before afterShrink runs.
 */
function drive(shrinkCostMs = 0) {
  let micros = 0;
  let shrinks = 0;
  const trim = startIdleTrim({
    intervalMs: 3_600_000,
    busyCpuMs: 25,
    cpuMicros: () => micros,
    shrink: () => {
      shrinks++;
      micros += shrinkCostMs * 1000;
    },
    afterShrink: (fn) => fn(),
  });
  return {
    interval(cpuMs: number) {
      micros += cpuMs * 1000;
      trim.tick();
      return shrinks;
    },
    stop: trim.stop,
  };
}

describe("idle trim", () => {
  it("shrinks once after start-up, at the first quiet interval", () => {
    const t = drive();
    expect(t.interval(2)).toBe(1);
    for (let i = 0; i < 20; i++) expect(t.interval(1)).toBe(1);
    t.stop();
  });

  it("shrinks once after each burst, when the burst is over", () => {
    const t = drive();
    expect(t.interval(0)).toBe(1);
    expect(t.interval(400)).toBe(1);
    expect(t.interval(300)).toBe(1);
    expect(t.interval(3)).toBe(2);
    expect(t.interval(3)).toBe(2);
    expect(t.interval(3)).toBe(2);
    expect(t.interval(80)).toBe(2);
    expect(t.interval(0)).toBe(3);
    t.stop();
  });

  it("never shrinks under steady load", () => {
    const t = drive();
    for (let i = 0; i < 50; i++) expect(t.interval(30 + (i % 7) * 100)).toBe(0);
    t.stop();
  });

  it("does not count the shrink's own work as a burst, however dear", () => {
    const t = drive(400);
    expect(t.interval(0)).toBe(1);
    for (let i = 0; i < 10; i++) expect(t.interval(0)).toBe(1);
    t.stop();
  });

  it("sees a burst that comes right after a shrink", () => {
    const t = drive(30);
    expect(t.interval(0)).toBe(1);
    expect(t.interval(40)).toBe(1);
    expect(t.interval(2)).toBe(2);
    t.stop();
  });

  it("light traffic below the threshold does not make it shrink again", () => {
    const t = drive();
    t.interval(0);
    t.interval(0);
    for (let i = 0; i < 30; i++) expect(t.interval(i % 2 === 0 ? 10 : 0)).toBe(1);
    t.stop();
  });
});
