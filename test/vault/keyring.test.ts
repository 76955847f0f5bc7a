import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { openDatabase, readKeyFile } from "../../src/db";
import { KeeperError, openKeeper } from "../../src/vault";
import { atRestKeyFor } from "../../src/vault/keeper-types";
import { Keyring, openKeyring, sealKeyring } from "../../src/vault/keyring";
import { drawUniform } from "../../src/vault/schedule";
import { createStore } from "../../src/vault/store";
import { freshKeeper, type KeeperConfig, manualClock, text, utf8 } from "./helpers";

const random = (n: number) => new Uint8Array(randomBytes(n));
const window = { rotateMinMs: 1000, rotateMaxMs: 5000 };

/** Reads the keyring stored in a closed keeper's vault.db with its root key. */
async function storedKeyring(config: KeeperConfig): Promise<Keyring> {
  const root = readKeyFile(config.rootKeyFile, "root key");
  const db = await openDatabase({
    location: config.vaultDb,
    atRestKey: atRestKeyFor(root),
    label: "vault.db",
  });
  try {
    return openKeyring(root, (await createStore(db).loadKeyring())!);
  } finally {
    db.close();
  }
}

/** Every (ref, term, blob) row, read beside the keeper. */
async function storedRows(config: KeeperConfig) {
  const root = readKeyFile(config.rootKeyFile, "root key");
  const db = await openDatabase({
    location: config.vaultDb,
    atRestKey: atRestKeyFor(root),
    label: "vault.db",
  });
  try {
    return await createStore(db).readStale(Number.MAX_SAFE_INTEGER, 1_000_000);
  } finally {
    db.close();
  }
}

async function drain(keeper: { tick(): Promise<{ pending: boolean }> }): Promise<number> {
  let ticks = 0;
  for (;;) {
    ticks++;
    if (!(await keeper.tick()).pending) return ticks;
  }
}

describe("keyring", () => {
  it("round-trips through its sealed form", () => {
    const ring = Keyring.create(1000, window, random).rotated(2000, window, random);
    const root = random(32);
    const back = openKeyring(root, sealKeyring(root, ring, random));
    expect(back.terms()).toEqual(ring.terms());
    expect(back.keyFor(1)).toEqual(ring.keyFor(1)!);
    expect(back.activeTerm).toBe(2);
  });

  it("does not open under another root key", () => {
    const ring = Keyring.create(1000, window, random);
    const sealed = sealKeyring(random(32), ring, random);
    expect(() => openKeyring(random(32), sealed)).toThrow(KeeperError);
  });

  it("draws the next rotation uniformly inside the window, ends included", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = drawUniform(10, 13, random);
      expect(x).toBeGreaterThanOrEqual(10);
      expect(x).toBeLessThanOrEqual(13);
      seen.add(x);
    }
    expect([...seen].sort()).toEqual([10, 11, 12, 13]);
  });
});

describe("rotation", () => {
  it("keeps values sealed before a rotation readable after it", async () => {
    const { keeper } = await freshKeeper();
    const refs = await keeper.put([utf8("a"), utf8("b")]);
    expect(await keeper.rotate()).toEqual({ term: 2 });
    expect((await keeper.get(refs)).map(text)).toEqual(["a", "b"]);
    const [fresh] = await keeper.put([utf8("c")]);
    expect((await keeper.stats()).terms.map((t) => [t.term, t.state, t.values])).toEqual([
      [1, "draining", 2],
      [2, "active", 1],
    ]);
    expect(text((await keeper.get([fresh!]))[0]!)).toBe("c");
    await keeper.close();
  });

  it("re-seals every value and then retires the old term, destroying its key", async () => {
    const { keeper, config } = await freshKeeper({ resealBatch: 4 });
    const refs = await keeper.put(Array.from({ length: 10 }, (_, i) => utf8(`value ${i}`)));
    await keeper.rotate();
    expect(await drain(keeper)).toBe(3);
    const stats = await keeper.stats();
    expect(stats.terms.map((t) => [t.term, t.state, t.values])).toEqual([
      [1, "retired", 0],
      [2, "active", 10],
    ]);
    expect(stats.reseal).toBeNull();
    expect((await keeper.get(refs)).map(text)).toEqual(refs.map((_, i) => `value ${i}`));
    await keeper.close();

    const ring = await storedKeyring(config);
    expect(ring.keyFor(1)).toBeUndefined();
    expect(ring.terms().find((t) => t.term === 1)?.state).toBe("retired");
    expect((await storedRows(config)).every((row) => row.term === 2)).toBe(true);
  });

  it("opens old-term values after rotation, and not after retirement", async () => {
    const { keeper, config } = await freshKeeper();
    const [ref] = await keeper.put([utf8("old")]);
    await keeper.close();
    const [before] = await storedRows(config);
    const reopened = await openKeeper({ config });
    await reopened.rotate();
    await reopened.close();
    expect(text((await storedKeyring(config)).open(ref!, before!.blob))).toBe("old");

    const again = await openKeeper({ config });
    await drain(again);
    await again.close();
    const ring = await storedKeyring(config);
    expect(() => ring.open(ref!, before!.blob)).toThrow(expect.objectContaining({ code: "UNKNOWN_TERM" }));
  });

  it("resumes an interrupted re-seal after a restart and finishes it", async () => {
    const { keeper, config } = await freshKeeper({ resealBatch: 3 });
    const refs = await keeper.put(Array.from({ length: 8 }, (_, i) => utf8(`v${i}`)));
    await keeper.rotate();
    expect((await keeper.tick()).resealed).toBe(3);
    await keeper.close();

    const resumed = await openKeeper({ config });
    const stats = await resumed.stats();
    expect(stats.reseal).toEqual({ fromTerms: [1], remaining: 5, done: 3 });
    await drain(resumed);
    expect((await resumed.stats()).terms.map((t) => t.state)).toEqual(["retired", "active"]);
    expect((await resumed.get(refs)).map(text)).toEqual(refs.map((_, i) => `v${i}`));
    await resumed.close();
  });

  it("stops the re-seal at a value that does not open, and retires nothing until that ref is gone", async () => {
    const { keeper, config } = await freshKeeper({ resealBatch: 10 });
    const refs = await keeper.put([utf8("a"), utf8("b"), utf8("c")]);
    const root = readKeyFile(config.rootKeyFile, "root key");
    const db = await openDatabase({
      location: config.vaultDb,
      atRestKey: atRestKeyFor(root),
      label: "vault.db",
    });
    const hex = Buffer.from(refs[1]!).toString("hex");
    const row = await db.client.execute({
      sql: "SELECT blob FROM sealed_values WHERE ref = ?",
      args: [Buffer.from(refs[1]!)],
    });
    const tampered = new Uint8Array(row.rows[0]!.blob as ArrayBuffer);
    tampered[20]! ^= 1;
    await db.client.execute({
      sql: "UPDATE sealed_values SET blob = ? WHERE ref = ?",
      args: [tampered, Buffer.from(refs[1]!)],
    });
    db.close();
    await keeper.rotate();
    expect(keeper.tick()).rejects.toMatchObject({ code: "INTEGRITY", message: expect.stringContaining(hex) });
    await keeper.tick().catch(() => {});
    expect((await keeper.stats()).terms.map((t) => t.state)).toEqual(["draining", "active"]);
    expect(await keeper.delete([refs[1]!])).toBe(1);
    await drain(keeper);
    expect((await keeper.stats()).terms.map((t) => t.state)).toEqual(["retired", "active"]);
    expect((await keeper.get([refs[0]!, refs[2]!])).map(text)).toEqual(["a", "c"]);
    await keeper.close();
  });

  it("keeps reads and writes working while a term drains", async () => {
    const { keeper } = await freshKeeper({ resealBatch: 5 });
    const old = await keeper.put(Array.from({ length: 20 }, (_, i) => utf8(`old ${i}`)));
    await keeper.rotate();
    const work = [];
    for (let i = 0; i < 10; i++) {
      work.push(keeper.tick());
      work.push(keeper.put([utf8(`new ${i}`)]));
      work.push(keeper.get(old));
    }
    const results = await Promise.all(work);
    for (let i = 2; i < results.length; i += 3) {
      expect((results[i] as (Uint8Array | null)[]).map(text)).toEqual(old.map((_, j) => `old ${j}`));
    }
    expect(await keeper.delete(old.slice(0, 5))).toBe(5);
    await drain(keeper);
    const stats = await keeper.stats();
    expect(stats.values).toBe(25);
    expect(stats.terms.map((t) => [t.state, t.values])).toEqual([
      ["retired", 0],
      ["active", 25],
    ]);
    await keeper.close();
  });

  it("rotates at the next tick once the cap of seals under the active term is reached", async () => {
    const { keeper } = await freshKeeper({ rotateCap: 5 });
    await keeper.put(Array.from({ length: 5 }, () => utf8("x")));
    expect((await keeper.health()).activeTerm).toBe(1);
    expect((await keeper.tick()).rotated).toBe(true);
    expect((await keeper.health()).activeTerm).toBe(2);
    await keeper.close();
  });

  it("rotates before a put whose batch would pass the cap", async () => {
    const { keeper } = await freshKeeper({ rotateCap: 10 });
    await keeper.put(Array.from({ length: 6 }, () => utf8("x")));
    await keeper.put(Array.from({ length: 6 }, () => utf8("y")));
    const stats = await keeper.stats();
    expect(stats.terms.map((t) => [t.term, t.seals, t.values])).toEqual([
      [1, 6, 6],
      [2, 6, 6],
    ]);
    await keeper.close();
  });

  it("keeps seal counts across a restart", async () => {
    const { keeper, config } = await freshKeeper({ rotateCap: 10 });
    await keeper.put(Array.from({ length: 7 }, () => utf8("x")));
    await keeper.close();
    const reopened = await openKeeper({ config });
    expect((await reopened.stats()).terms[0]?.seals).toBe(7);
    await reopened.put(Array.from({ length: 4 }, () => utf8("x")));
    expect((await reopened.health()).activeTerm).toBe(2);
    await reopened.close();
  });

  it("rotates when the scheduled time has come, and not before", async () => {
    const clock = manualClock();
    const start = clock.now();
    const { keeper } = await freshKeeper({ rotateMinMs: 60_000, rotateMaxMs: 120_000 }, { now: clock.now });
    clock.set(start + 59_999);
    expect((await keeper.tick()).rotated).toBe(false);
    clock.set(start + 120_000);
    expect((await keeper.tick()).rotated).toBe(true);
    expect((await keeper.tick()).rotated).toBe(false);
    expect((await keeper.health()).activeTerm).toBe(2);
    await keeper.close();
  });
});

describe("keeper api", () => {
  it("returns null for refs that do not exist and counts what it deletes", async () => {
    const { keeper } = await freshKeeper();
    const refs = await keeper.put([utf8("a"), utf8("")]);
    const missing = random(16);
    expect((await keeper.get([refs[1]!, missing, refs[0]!])).map(text)).toEqual(["", null, "a"]);
    expect(await keeper.delete([refs[0]!, missing])).toBe(1);
    expect(await keeper.get([refs[0]!])).toEqual([null]);
    await keeper.close();
  });

  it("lists refs created before a time, paged by ref", async () => {
    const clock = manualClock();
    const { keeper } = await freshKeeper({}, { now: clock.now });
    const early = await keeper.put(Array.from({ length: 5 }, () => utf8("e")));
    clock.advance(10_000);
    await keeper.put([utf8("late")]);
    const cutoff = clock.now() - 5_000;
    const first = await keeper.list({ createdBefore: cutoff, limit: 3 });
    const rest = await keeper.list({ createdBefore: cutoff, after: first.at(-1)!, limit: 3 });
    const hex = (r: Uint8Array) => Buffer.from(r).toString("hex");
    expect([...first, ...rest].map(hex)).toEqual(early.map(hex).sort());
    await keeper.close();
  });

  it("refuses calls once closed", async () => {
    const { keeper } = await freshKeeper();
    await keeper.close();
    expect(keeper.get([random(16)])).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("refs", () => {
  it("start with the creation time in milliseconds and end with random bytes, so two refs of one batch differ", async () => {
    const clock = manualClock(Date.UTC(2031, 5, 1));
    const { keeper } = await freshKeeper({}, { now: clock.now });
    const refs = await keeper.put([utf8("a"), utf8("b"), utf8("c")]);
    for (const ref of refs) {
      expect(ref.length).toBe(16);
      expect(Buffer.from(ref).readUIntBE(0, 6)).toBe(clock.now());
    }
    expect(new Set(refs.map((r) => Buffer.from(r).toString("hex"))).size).toBe(3);
    await keeper.close();
  });
});
