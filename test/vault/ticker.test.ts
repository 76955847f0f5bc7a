import { describe, expect, it } from "bun:test";
import { startTicker } from "../../src/vault";
import { freshKeeper, utf8 } from "./helpers";

describe("ticker", () => {
  it("runs re-seal batches back to back until a rotation is finished, then idles", async () => {
    const { keeper } = await freshKeeper({ resealBatch: 2 });
    await keeper.put(Array.from({ length: 9 }, () => utf8("v")));
    await keeper.rotate();
    const errors: unknown[] = [];
    const ticker = startTicker(keeper, { idleMs: 60_000, busyMs: 1, onError: (e) => errors.push(e) });
    for (let i = 0; i < 200 && (await keeper.stats()).reseal !== null; i++) await Bun.sleep(5);
    await ticker.stop();
    expect(errors).toEqual([]);
    expect((await keeper.stats()).terms.map((t) => t.state)).toEqual(["retired", "active"]);
    await keeper.close();
  });

  it("reports a failing tick and keeps going", async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const ticker = startTicker(
      {
        tick: async () => {
          calls++;
          if (calls === 1) throw new Error("boom");
          return { rotated: false, resealed: 0, retired: [], pending: calls < 3 };
        },
      },
      { idleMs: 1, busyMs: 1, onError: (e) => errors.push(e) },
    );
    for (let i = 0; i < 100 && calls < 4; i++) await Bun.sleep(2);
    await ticker.stop();
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
    expect(calls).toBeGreaterThanOrEqual(4);
  });
});
