import { describe, expect, it } from "bun:test";
import {
  buildRows,
  changeOf,
  clean,
  emptyPending,
  filterRows,
  lastChangedOf,
  MASK,
  oneLine,
  pendingCount,
  shown,
  sortRows,
} from "../../src/tui/model";

describe("the secrets table's model", () => {
  it("masks a one-character value and a ten-thousand-character value the same way", () => {
    expect(shown("x", false, 40)).toBe(MASK);
    expect(shown("y".repeat(10_000), false, 40)).toBe(MASK);
    expect(shown("", false, 40)).toBe(MASK);
    expect(shown(undefined, false, 40)).toBe(MASK);
  });

  it("never lets a revealed value's control characters reach the terminal", () => {
    const hostile = "a\u001b]52;c;Zm9v\u0007b\u001b[2Jc\r\nd\u009b";
    const drawn = shown(hostile, true, 200);
    expect(drawn).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(drawn).toContain("⏎");
    expect(clean("shop\u001b[31m")).not.toContain("\u001b");
    expect(oneLine("abcdef", 4)).toBe("abc…");
  });

  it("draws a revealed value that is still being read as …", () => {
    expect(shown(undefined, true, 40)).toBe("…");
  });

  it("builds rows from stored values and pending changes: added, changed, removed, renamed", () => {
    const stored = { A: "1", B: "2", C: "3" };
    const pending = { set: { A: "10", D: "4", E: "3" }, unset: ["B", "C"], renamed: { E: "C" } };
    const rows = sortRows(buildRows(Object.keys(stored), stored, pending, new Map([["C", 2]])), "name");
    expect(rows.map((r) => [r.name, r.state])).toEqual([
      ["A", "changed"],
      ["B", "removed"],
      ["D", "added"],
      ["E", "renamed"],
    ]);
    expect(rows.find((r) => r.name === "E")).toMatchObject({ from: "C", version: 2, value: "3" });
    expect(pendingCount(pending)).toBe(4);
    expect(changeOf(pending, new Set(Object.keys(stored)))).toEqual({
      set: { A: "10", D: "4", E: "3" },
      unset: ["B", "C"],
    });
  });

  it("drops an unset of a key that is no longer stored (after a reload)", () => {
    expect(changeOf({ ...emptyPending(), unset: ["GONE"] }, new Set())).toEqual({ set: {}, unset: [] });
  });

  it("knows the version that last changed each key, from the newest version down", () => {
    const v = (version: number, added: string[], changed: string[]) => ({
      version,
      kind: "push",
      author: "a",
      createdAt: 0,
      summary: { added, changed, removed: [] },
    });
    const last = lastChangedOf([v(3, [], ["A"]), v(2, ["B"], []), v(1, ["A", "C"], [])]);
    expect(Object.fromEntries(last)).toEqual({ A: 3, B: 2, C: 1 });
  });

  it("filters by name, case-insensitively, and sorts three ways", () => {
    const rows = buildRows(
      ["db_url", "API", "DB_PASS"],
      {},
      emptyPending(),
      new Map([
        ["API", 5],
        ["DB_PASS", 1],
        ["db_url", 2],
      ]),
    );
    expect(filterRows(rows, "DB").map((r) => r.name)).toEqual(["db_url", "DB_PASS"]);
    expect(sortRows(rows, "name").map((r) => r.name)).toEqual(["API", "DB_PASS", "db_url"]);
    expect(sortRows(rows, "name-desc").map((r) => r.name)).toEqual(["db_url", "DB_PASS", "API"]);
    expect(sortRows(rows, "version").map((r) => r.name)).toEqual(["API", "db_url", "DB_PASS"]);
  });
});
