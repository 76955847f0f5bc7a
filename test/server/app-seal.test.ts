import { describe, expect, it } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { binding, createAppSealer, SealError } from "../../src/server/crypto/app-seal";

/** The binding as specified (SHA-256 over 4-byte big-endian lengths and UTF-8 parts), written independently. */
function specBinding(...parts: string[]): Buffer<ArrayBuffer> {
  const hash = createHash("sha256");
  for (const part of parts) {
    const bytes = Buffer.from(part, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    hash.update(len).update(bytes);
  }
  return Buffer.from(hash.digest());
}

const utf8 = (s: string) => Buffer.from(s, "utf8");

describe("app sealing layer", () => {
  it("binds to the length-prefixed parts, so stored values keep opening", () => {
    const cases: [Parameters<typeof binding>[0], ...(string | number)[]][] = [
      ["value", "prj_1", "env_2", "DATABASE_URL"],
      ["value", "prj_ü", "env_日本", "KEY_\u{1F600}"],
      ["layout", "prj_1", "env_2", 17],
      ["dotenv-key", "prj_1", "env_2"],
      ["value", "", "", ""],
    ];
    for (const [kind, ...parts] of cases) {
      expect(Buffer.from(binding(kind, ...parts))).toEqual(specBinding(kind, ...parts.map(String)));
    }
    // Moving a boundary between parts changes the binding.
    expect(binding("value", "ab", "c")).not.toEqual(binding("value", "a", "bc"));
  });

  it("seals many values at once, each opening only with its own binding and under its own nonce", () => {
    const sealer = createAppSealer(new Map([[1, randomBytes(32)]]));
    const items = Array.from({ length: 50 }, (_, i) => ({
      plaintext: utf8(`value ${i} ✓`),
      binding: binding("value", "prj_1", "env_1", `KEY_${i}`),
    }));
    const sealed = sealer.sealMany(items);
    expect(sealed.length).toBe(items.length);
    const nonces = new Set(sealed.map((b) => Buffer.from(b.subarray(5, 17)).toString("hex")));
    expect(nonces.size).toBe(items.length);
    sealed.forEach((blob, i) => {
      expect(blob[0]).toBe(0x01);
      expect(blob.length).toBe(1 + 4 + 12 + items[i]!.plaintext.length + 16);
      expect(Buffer.from(blob).includes(items[i]!.plaintext)).toBe(false);
      expect(Buffer.from(sealer.open(blob, items[i]!.binding)).toString("utf8")).toBe(`value ${i} ✓`);
      expect(() => sealer.open(blob, items[(i + 1) % items.length]!.binding)).toThrow(SealError);
    });
    expect(sealer.sealMany([])).toEqual([]);
  });

  it("refuses a blob with any byte changed", () => {
    const sealer = createAppSealer(new Map([[1, randomBytes(32)]]));
    const bound = binding("value", "prj_1", "env_1", "A");
    const blob = sealer.seal(utf8("secret"), bound);
    for (let i = 0; i < blob.length; i++) {
      const edited = Uint8Array.from(blob);
      edited[i]! ^= 0x01;
      expect(() => sealer.open(edited, bound)).toThrow(SealError);
    }
  });
});
