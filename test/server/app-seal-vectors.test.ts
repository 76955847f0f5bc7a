/**
 * The app's seal, against its checked-in known-answer vectors
 * (test/vectors/app-seal-*.json, made once by scripts/gen-format-vectors.ts):
 * from app.key through the seal key's derivation to the blob, and the blob
 * opened again by WebCrypto with the AAD layout written in app-seal.ts.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SEAL_LABEL } from "../../src/appdb/open";
import { hkdf32 } from "../../src/db";
import { type BindingKind, binding, createAppSealer, SealError } from "../../src/server/crypto/app-seal";

const VECTORS = join(import.meta.dir, "..", "vectors");
const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

interface Vector {
  description: string;
  appKey: string;
  sealKey: string;
  binding: { kind: BindingKind; parts: string[]; sha256: string };
  nonce?: string;
  blob: string;
  expect: { plaintext: string } | { error: string };
}

const vectors = readdirSync(VECTORS)
  .filter((name) => name.startsWith("app-seal-") && name.endsWith(".json"))
  .map((name) => ({ name, vector: JSON.parse(readFileSync(join(VECTORS, name), "utf8")) as Vector }));

/** The binding as app-seal.ts documents it: SHA-256 over the kind and the parts, each u32-BE length-prefixed. */
function specBinding(kind: string, parts: string[]): Uint8Array {
  const chunks = [kind, ...parts].flatMap((p) => {
    const text = Buffer.from(p, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(text.length);
    return [length, text];
  });
  return new Uint8Array(new Bun.CryptoHasher("sha256").update(Buffer.concat(chunks)).digest());
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SealError);
    return (error as SealError).code;
  }
  return undefined;
}

describe("app seal vectors", () => {
  it("has success and failure cases checked in", () => {
    expect(vectors.filter((v) => "plaintext" in v.vector.expect).length).toBeGreaterThanOrEqual(5);
    expect(new Set(vectors.map((v) => ("error" in v.vector.expect ? v.vector.expect.error : "ok")))).toEqual(
      new Set(["ok", "INTEGRITY", "UNKNOWN_KEY", "UNKNOWN_VERSION", "TRUNCATED"]),
    );
  });

  for (const { name, vector } of vectors) {
    it(`${name}: ${vector.description}`, () => {
      // The seal key is app.key's, through the one derivation.
      expect(toHex(hkdf32(hex(vector.appKey), SEAL_LABEL))).toBe(vector.sealKey);
      expect(toHex(binding(vector.binding.kind, ...vector.binding.parts))).toBe(vector.binding.sha256);
      expect(toHex(specBinding(vector.binding.kind, vector.binding.parts))).toBe(vector.binding.sha256);
      const sealer = createAppSealer(new Map([[1, hex(vector.sealKey)]]));
      const run = () => sealer.open(hex(vector.blob), hex(vector.binding.sha256));
      if ("plaintext" in vector.expect) expect(toHex(run())).toBe(vector.expect.plaintext);
      else expect(codeOf(run)).toBe(vector.expect.error);
    });
  }

  it("seals the success vectors byte for byte when given their nonce", () => {
    let checked = 0;
    for (const { vector } of vectors) {
      if (!("plaintext" in vector.expect) || vector.nonce === undefined) continue;
      const sealer = createAppSealer(new Map([[1, hex(vector.sealKey)]]), () => hex(vector.nonce!));
      expect(toHex(sealer.seal(hex(vector.expect.plaintext), hex(vector.binding.sha256)))).toBe(vector.blob);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it("opens the success vectors with WebCrypto and the AAD layout of app-seal.ts (label | version | key id | binding)", async () => {
    let checked = 0;
    for (const { vector } of vectors) {
      if (!("plaintext" in vector.expect)) continue;
      const blob = hex(vector.blob);
      const aad = Buffer.concat([
        Buffer.from("vault/v1/app-value"),
        blob.subarray(0, 5),
        hex(vector.binding.sha256),
      ]);
      const key = await crypto.subtle.importKey("raw", hex(vector.sealKey), "AES-GCM", false, ["decrypt"]);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: blob.subarray(5, 17), additionalData: aad, tagLength: 128 },
        key,
        blob.subarray(17),
      );
      expect(toHex(new Uint8Array(plain))).toBe(vector.expect.plaintext);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});
