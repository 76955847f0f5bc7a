/**
 * The group committer (src/db/group-commit.ts): items submitted together share
 * one commit, each gets its own result, and a failed commit of several is
 * tried again item by item so that only the item at fault fails.
 */
import { describe, expect, it } from "bun:test";
import { createGroupCommit } from "../../src/db/group-commit";

describe("group commit", () => {
  it("commits items submitted in one turn of the event loop together, each with its own result", async () => {
    const commits: number[][] = [];
    const group = createGroupCommit<number, number>(async (items) => {
      commits.push(items);
      return items.map((n) => n * 10);
    });
    const results = await Promise.all([1, 2, 3, 4].map((n) => group.submit(n)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(commits).toEqual([[1, 2, 3, 4]]);
  });

  it("gathers items that arrive while a commit is in flight into the next one, in order", async () => {
    const commits: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const group = createGroupCommit<number, void>(async (items) => {
      commits.push(items);
      if (items[0] === 1) await gate;
      return [];
    });
    const first = group.submit(1);
    await new Promise((r) => setImmediate(r));
    const later = [2, 3, 4].map((n) => group.submit(n));
    release();
    await Promise.all([first, ...later]);
    expect(commits).toEqual([[1], [2, 3, 4]]);
  });

  it("when a shared commit fails, tries each item alone: the one at fault fails, the others commit", async () => {
    const commits: number[][] = [];
    const group = createGroupCommit<number, string>(async (items) => {
      commits.push(items);
      if (items.includes(3)) throw new Error("item 3 is bad");
      return items.map((n) => `ok ${n}`);
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => group.submit(n)));
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      "ok 1",
      "ok 2",
      "item 3 is bad",
      "ok 4",
    ]);
    expect(commits).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
  });

  it("keeps at most maxBatch items in one commit", async () => {
    const commits: number[] = [];
    const group = createGroupCommit<number, void>(
      async (items) => {
        commits.push(items.length);
        return [];
      },
      { maxBatch: 3 },
    );
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => group.submit(n)));
    expect(commits).toEqual([3, 3, 1]);
  });
});
