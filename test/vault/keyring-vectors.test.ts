/**
 * The keyring blob in vault.db, against its checked-in known-answer vectors
 * (test/vectors/keyring-*.json, made once by scripts/gen-format-vectors.ts):
 * a keyring sealed by an earlier release must open, term for term and key
 * for key, in every later one.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hkdf32 } from "../../src/db";
import { KeeperError } from "../../src/vault";
import { openKeyring, scheduleOf } from "../../src/vault/keyring";

const VECTORS = join(import.meta.dir, "..", "vectors");
const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

interface Vector {
  description: string;
  rootKey: string;
  blob: string;
  expect:
    | {
        activeTerm: number;
        terms: unknown[];
        keys: Record<string, string | null>;
        schedule: { lastRotationAt: number; nextRotationAt: number };
      }
    | { error: string };
}

const vectors = readdirSync(VECTORS)
  .filter((name) => name.startsWith("keyring-") && name.endsWith(".json"))
  .map((name) => ({ name, vector: JSON.parse(readFileSync(join(VECTORS, name), "utf8")) as Vector }));

describe("keyring vectors", () => {
  it("has success and failure cases checked in", () => {
    expect(new Set(vectors.map((v) => ("error" in v.vector.expect ? v.vector.expect.error : "ok")))).toEqual(
      new Set(["ok", "WRONG_ROOT_KEY", "KEYRING"]),
    );
  });

  for (const { name, vector } of vectors) {
    it(`${name}: ${vector.description}`, () => {
      const run = () => openKeyring(hex(vector.rootKey), hex(vector.blob));
      if ("error" in vector.expect) {
        let code: string | undefined;
        try {
          run();
        } catch (error) {
          code = (error as KeeperError).code;
          expect(error).toBeInstanceOf(KeeperError);
        }
        expect(code).toBe(vector.expect.error);
        return;
      }
      const keyring = run();
      expect(keyring.activeTerm).toBe(vector.expect.activeTerm);
      expect(keyring.terms()).toEqual(vector.expect.terms as ReturnType<typeof keyring.terms>);
      for (const [term, key] of Object.entries(vector.expect.keys)) {
        const held = keyring.keyFor(Number(term));
        expect(held === undefined ? null : toHex(held)).toBe(key);
      }
      expect(scheduleOf(keyring)).toEqual(vector.expect.schedule);
    });
  }

  it("opens the success vector with WebCrypto and the layout written in keyring.ts (0x01 | nonce | ciphertext | tag, HKDF key, fixed AAD)", async () => {
    const { vector } = vectors.find((v) => !("error" in v.vector.expect))!;
    const blob = hex(vector.blob);
    const key = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(hkdf32(hex(vector.rootKey), "vault/v1/keyring")),
      "AES-GCM",
      false,
      ["decrypt"],
    );
    const plain = new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: blob.subarray(1, 13),
          additionalData: Buffer.concat([Buffer.from("vault/v1/keyring"), Buffer.from([0x01])]),
          tagLength: 128,
        },
        key,
        blob.subarray(13),
      ),
    );
    // Serialized form v1: version | last rotation | next rotation | count | entries.
    const view = Buffer.from(plain);
    expect(view[0]).toBe(0x01);
    const expected = vector.expect as {
      schedule: { lastRotationAt: number; nextRotationAt: number };
      terms: unknown[];
    };
    expect(Number(view.readBigUInt64BE(1))).toBe(expected.schedule.lastRotationAt);
    expect(Number(view.readBigUInt64BE(9))).toBe(expected.schedule.nextRotationAt);
    expect(view.readUInt32BE(17)).toBe(expected.terms.length);
  });
});
