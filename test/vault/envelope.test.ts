import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KeeperError } from "../../src/vault";
import { open, seal } from "../../src/vault/envelope";

const VECTORS = join(import.meta.dir, "..", "vectors");
const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const random = (n: number) => new Uint8Array(randomBytes(n));

interface Vector {
  description: string;
  keys: Record<string, string>;
  ref: string;
  blob: string;
  expect: { plaintext: string } | { error: string };
  sealedWith?: { key: string; term: number; nonce: string; plaintext: string };
}

const vectors = readdirSync(VECTORS)
  .filter((name) => name.startsWith("keeper-envelope-") && name.endsWith(".json"))
  .map((name) => ({ name, vector: JSON.parse(readFileSync(join(VECTORS, name), "utf8")) as Vector }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeeperError);
    return (error as KeeperError).code;
  }
  return undefined;
}

describe("envelope vectors", () => {
  it("has success and failure cases checked in", () => {
    expect(vectors.filter((v) => "plaintext" in v.vector.expect).length).toBeGreaterThanOrEqual(3);
    expect(new Set(vectors.map((v) => ("error" in v.vector.expect ? v.vector.expect.error : "ok")))).toEqual(
      new Set(["ok", "INTEGRITY", "UNKNOWN_TERM", "UNKNOWN_VERSION", "TRUNCATED"]),
    );
  });

  for (const { name, vector } of vectors) {
    it(`${name}: ${vector.description}`, () => {
      const keys = new Map(Object.entries(vector.keys).map(([term, key]) => [Number(term), hex(key)]));
      const run = () => open((term) => keys.get(term), hex(vector.ref), hex(vector.blob));
      if ("plaintext" in vector.expect) {
        expect(Buffer.from(run()).toString("hex")).toBe(vector.expect.plaintext);
      } else {
        expect(codeOf(run)).toBe(vector.expect.error);
      }
    });
  }

  it("seals the success vectors byte for byte when given their nonce", () => {
    for (const { vector } of vectors) {
      const w = vector.sealedWith;
      if (w === undefined) continue;
      const blob = seal(hex(w.key), w.term, hex(vector.ref), hex(w.plaintext), () => hex(w.nonce));
      expect(Buffer.from(blob).toString("hex")).toBe(vector.blob);
    }
  });

  it("opens the success vectors with WebCrypto and the AAD layout written in the README", async () => {
    for (const { vector } of vectors) {
      if (vector.sealedWith === undefined) continue;
      const blob = hex(vector.blob);
      const term = Buffer.from(blob).readUInt32BE(1);
      const aad = Buffer.concat([Buffer.from("vault/v1/value"), blob.subarray(0, 5), hex(vector.ref)]);
      const key = await crypto.subtle.importKey("raw", hex(vector.keys[term]!), "AES-GCM", false, [
        "decrypt",
      ]);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: blob.subarray(5, 17), additionalData: aad, tagLength: 128 },
        key,
        blob.subarray(17),
      );
      expect(Buffer.from(plain).toString("hex")).toBe(vector.sealedWith.plaintext);
    }
  });
});

describe("envelope", () => {
  const key = random(32);
  const ref = random(16);
  const lookup = (term: number) => (term === 3 ? key : undefined);
  const value = new TextEncoder().encode("STRIPE_KEY=sk_live_0123456789");

  it("opens what it sealed", () => {
    expect(open(lookup, ref, seal(key, 3, ref, value, random))).toEqual(value);
  });

  it("fails to open when any single byte of a sealed value is flipped", () => {
    const blob = seal(key, 3, ref, value, random);
    for (let i = 0; i < blob.length; i++) {
      const copy = new Uint8Array(blob);
      copy[i]! ^= 0x80;
      const code = codeOf(() => open(lookup, ref, copy));
      // Byte 0 is the version, bytes 1-4 the term: those fail by name, the rest by the tag.
      expect(code).toBe(i === 0 ? "UNKNOWN_VERSION" : i <= 4 ? "UNKNOWN_TERM" : "INTEGRITY");
    }
  });

  it("fails to open a header edited to a term whose key is the same", () => {
    const blob = Buffer.from(seal(key, 3, ref, value, random));
    blob.writeUInt32BE(4, 1);
    expect(codeOf(() => open((t) => (t === 3 || t === 4 ? key : undefined), ref, blob))).toBe("INTEGRITY");
  });

  it("fails to open a blob copied to another ref", () => {
    expect(codeOf(() => open(lookup, random(16), seal(key, 3, ref, value, random)))).toBe("INTEGRITY");
  });

  it("gives two different blobs for two seals of one value", () => {
    const a = seal(key, 3, ref, value, random);
    const b = seal(key, 3, ref, value, random);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(open(lookup, ref, a)).toEqual(open(lookup, ref, b));
  });

  it("refuses refs that are not 16 bytes", () => {
    expect(codeOf(() => seal(key, 3, random(15), value, random))).toBe("BAD_REF");
    expect(codeOf(() => open(lookup, random(17), seal(key, 3, ref, value, random)))).toBe("BAD_REF");
  });

  it("puts no key or plaintext in its error messages", () => {
    const blob = seal(key, 3, ref, value, random);
    const tampered = new Uint8Array(blob);
    tampered[20]! ^= 1;
    for (const attempt of [() => open(lookup, ref, tampered), () => open(() => undefined, ref, blob)]) {
      let thrown: unknown;
      try {
        attempt();
      } catch (error) {
        thrown = error;
      }
      // Both must fail: a test that only looked inside the catch would pass if neither did.
      expect(thrown).toBeInstanceOf(KeeperError);
      const message = `${(thrown as Error).message} ${String((thrown as Error).cause ?? "")}`;
      expect(message).not.toContain(Buffer.from(key).toString("hex"));
      expect(message).not.toContain("sk_live");
    }
  });
});
