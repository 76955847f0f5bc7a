/**
 * Two keepers on one vault.db file, one of them stalled: it holds the
 * keyring as it was before the other rotated (and retired), and must never
 * write a value under a term that is draining or retired, whose key is gone
 * or about to be.
 */
import { describe, expect, it } from "bun:test";
import { openDatabase } from "../../src/db";
import { atRestKeyFor, type Keeper, openKeeper } from "../../src/vault";
import { swapKeyring } from "../../src/vault/lease";
import { keeperConfig, tempDir, text, utf8 } from "./helpers";

async function twoKeepersOnOneFile() {
  const dir = tempDir("vault-two-keepers-");
  const config = keeperConfig(dir, { resealBatch: 100 });
  const a = await openKeeper({ config });
  const b = await openKeeper({ config, create: false });
  const rootKey = new Uint8Array(Buffer.from((await Bun.file(config.rootKeyFile).text()).trim(), "hex"));
  const raw = await openDatabase({
    location: config.vaultDb,
    atRestKey: atRestKeyFor(rootKey),
    label: "vault.db",
  });
  /** The term each stored value was sealed under, read from the file itself. */
  const termOf = async (ref: Uint8Array) =>
    Number(
      (
        await raw.client.execute({
          sql: "SELECT term FROM sealed_values WHERE ref = ?",
          args: [Buffer.from(ref)],
        })
      ).rows[0]?.term,
    );
  const close = async () => {
    raw.close();
    await a.close();
    await b.close();
  };
  return { a, b, raw, termOf, close };
}

async function expectReadable(keepers: Keeper[], refs: Uint8Array[], values: string[]) {
  for (const k of keepers) expect((await k.get(refs)).map(text)).toEqual(values);
}

describe("two keepers on one vault.db file", () => {
  it("a stalled keeper never seals under a term another keeper retired: it reloads and seals under the active one", async () => {
    const { a, b, termOf, close } = await twoKeepersOnOneFile();
    try {
      const [first] = await a.put([utf8("before")]);
      // b rotates, re-seals everything under term 2 and retires term 1, while a stands still.
      expect((await b.rotate()).term).toBe(2);
      const report = await b.tick();
      expect(report.retired).toEqual([1]);
      expect((await b.stats()).terms.find((t) => t.term === 1)?.state).toBe("retired");

      // a still holds term 1 as its active term; its put must not land under it.
      const [late] = await a.put([utf8("after the retirement")]);
      expect(await termOf(late!)).toBe(2);
      await expectReadable([a, b], [first!, late!], ["before", "after the retirement"]);
      expect((await a.health()).activeTerm).toBe(2);
    } finally {
      await close();
    }
  });

  it("a stalled keeper never seals under a term another keeper made draining, so the retirement loses nothing", async () => {
    const { a, b, termOf, close } = await twoKeepersOnOneFile();
    try {
      await a.put([utf8("warm-up")]);
      expect((await b.rotate()).term).toBe(2); // term 1 is draining now: about to be retired
      const [late] = await a.put([utf8("while draining")]);
      expect(await termOf(late!)).toBe(2);
      await b.tick();
      expect((await b.stats()).terms.map((t) => t.state)).toEqual(["retired", "active"]);
      await expectReadable([a, b], [late!], ["while draining"]);
    } finally {
      await close();
    }
  });

  it("a keeper reading a value the other re-sealed under a term it has not loaded reloads and opens it", async () => {
    const { a, b, close } = await twoKeepersOnOneFile();
    try {
      const [ref] = await a.put([utf8("moved to term 2")]);
      await b.rotate();
      await b.tick(); // re-sealed under term 2, which a has never seen
      expect((await a.get([ref!])).map(text)).toEqual(["moved to term 2"]);
    } finally {
      await close();
    }
  });

  it("the keyring swap that retires a term fails while a value is still sealed under it", async () => {
    const { a, raw, close } = await twoKeepersOnOneFile();
    try {
      await a.put([utf8("still under term 1")]);
      const sealed = new Uint8Array(
        (await raw.client.execute("SELECT sealed FROM keyring WHERE id = 1")).rows[0]!.sealed as ArrayBuffer,
      );
      const replacement = Uint8Array.from(sealed);
      replacement[replacement.length - 1]! ^= 1;
      expect(await swapKeyring(raw, sealed, replacement, 1, undefined, [1])).toBe(false);
      expect(await swapKeyring(raw, sealed, replacement, 1, undefined, [7])).toBe(true);
    } finally {
      await close();
    }
  });
});
