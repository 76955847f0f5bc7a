/**
 * Two keepers on one remote vault.db (a Hrana fixture): scheduled work runs
 * under a lease, so a due rotation happens once, never twice at the same
 * time; a keeper with a stale keyring cannot overwrite a newer one; every
 * value either keeper sealed stays readable through rotations, re-seals and
 * retirements.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/db";
import { type Keeper, openKeeper } from "../../src/vault";
import { createLease, RETIRE_GRACE_MS } from "../../src/vault/lease";
import { startHranaServer } from "../fixtures/hrana";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const MINUTE = 60_000;

async function twoKeepers() {
  const dir = mkdtempSync(join(tmpdir(), "vault-leases-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const server = startHranaServer({ file: join(dir, "sqld-vault.db") });
  cleanups.push(() => server.stop());
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, server.token, { mode: 0o600 });
  const clock = { t: Date.UTC(2030, 0, 1) };
  const config = (rootKeyFile: string) => ({
    rootKeyFile,
    vaultDb: server.url,
    vaultDbAuthTokenFile: tokenFile,
    rotateMinMs: 10 * MINUTE,
    rotateMaxMs: 20 * MINUTE,
    rotateCap: 100_000_000,
    resealBatch: 4,
  });
  const a = await openKeeper({ config: config(join(dir, "a.key")), now: () => clock.t });
  copyFileSync(join(dir, "a.key"), join(dir, "b.key"));
  const b = await openKeeper({ config: config(join(dir, "b.key")), now: () => clock.t });
  cleanups.push(
    () => a.close(),
    () => b.close(),
  );
  return { a, b, clock, server, tokenFile };
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

async function expectAllReadable(keepers: Keeper[], refs: Uint8Array[], values: string[]) {
  for (const k of keepers) expect((await k.get(refs)).map(text)).toEqual(values);
}

describe("two keepers on one remote vault.db", () => {
  it("rotate once per due window, never both at the same time, and lose no value", async () => {
    const { a, b, clock } = await twoKeepers();
    const refs: Uint8Array[] = [];
    const values: string[] = [];
    const put = async (k: Keeper, label: string, n: number) => {
      const vs = Array.from({ length: n }, (_, i) => `${label}-${i}`);
      refs.push(...(await k.put(vs.map(bytes))));
      values.push(...vs);
    };
    await put(a, "a0", 5);
    await put(b, "b0", 5);

    const rounds = 4;
    let rotations = 0;
    for (let round = 1; round <= rounds; round++) {
      clock.t += 21 * MINUTE; // past the latest moment of the window: due on both
      for (let i = 0; i < 12; i++) {
        const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
        expect(ra.rotated && rb.rotated).toBe(false);
        rotations += Number(ra.rotated) + Number(rb.rotated);
        // Both keep writing, whichever keyring they hold.
        if (i === 2) await Promise.all([put(a, `a${round}`, 3), put(b, `b${round}`, 3)]);
      }
      expect(rotations).toBe(round);
      clock.t += RETIRE_GRACE_MS + 1;
      for (let i = 0; i < 12; i++) await Promise.all([a.tick(), b.tick()]);
      const stats = await a.stats();
      expect(stats.rotations).toBe(round);
      expect(stats.reseal).toBeNull();
      expect(stats.terms.filter((t) => t.state === "active").map((t) => t.term)).toEqual([round + 1]);
      expect(stats.terms.filter((t) => t.state === "retired")).toHaveLength(round);
      await expectAllReadable([a, b], refs, values);
    }
    expect((await b.stats()).rotations).toBe(rounds);
  });

  it("a keeper with a stale keyring cannot overwrite a newer one", async () => {
    const { a, b } = await twoKeepers();
    const [ra, rb] = await Promise.all([a.rotate(), b.rotate()]);
    // One rotation won; the other keeper reloaded the winner's keyring instead of writing its own.
    expect([ra.term, rb.term]).toEqual([2, 2]);
    expect((await a.stats()).rotations).toBe(1);
    const refs = [...(await a.put([bytes("from a")])), ...(await b.put([bytes("from b")]))];
    await expectAllReadable([a, b], refs, ["from a", "from b"]);
  });

  it("a keeper stalled past the lease and the retirement grace never seals under the retired term", async () => {
    const { a, b, clock } = await twoKeepers();
    const [early] = await a.put([bytes("sealed by a under term 1")]);
    // b does all the scheduled work while a stands still (no tick: it never reloads by itself).
    expect((await b.rotate()).term).toBe(2);
    let retired: number[] = [];
    for (let i = 0; i < 6 && retired.length === 0; i++) {
      clock.t += RETIRE_GRACE_MS + 1;
      retired = (await b.tick()).retired;
    }
    expect(retired).toEqual([1]);
    const [late] = await a.put([bytes("sealed by a after the retirement")]);
    const byTerm = (await b.stats()).terms.map((t) => [t.term, t.state, t.values]);
    expect(byTerm).toEqual([
      [1, "retired", 0],
      [2, "active", 2],
    ]);
    await expectAllReadable(
      [a, b],
      [early!, late!],
      ["sealed by a under term 1", "sealed by a after the retirement"],
    );
  });

  it("holds the scheduled-work lease for one holder until it expires or is released", async () => {
    const { server, tokenFile } = await twoKeepers();
    const db = await openDatabase({
      location: server.url,
      authToken: (await Bun.file(tokenFile).text()).trim(),
      label: "vault.db",
    });
    cleanups.push(() => db.close());
    let t = 1_000;
    const one = createLease(db, { name: "test-lease", holder: "one", ttlMs: 10_000, now: () => t });
    const two = createLease(db, { name: "test-lease", holder: "two", ttlMs: 10_000, now: () => t });
    const both = await Promise.all([one.acquire(), two.acquire()]);
    expect(both.filter(Boolean)).toHaveLength(1);
    const [first, second] = both[0] ? [one, two] : [two, one];
    t += 5_000;
    expect(await first.acquire()).toBe(true); // renewed
    expect(await second.acquire()).toBe(false);
    t += 10_001;
    expect(await second.acquire()).toBe(true); // the first one's expired
    expect(await first.acquire()).toBe(false);
    await second.release();
    expect(await first.acquire()).toBe(true);
  });
});
