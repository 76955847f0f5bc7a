/**
 * The CLI's offline copy, against its checked-in known-answer vectors
 * (test/vectors/cli-cache-*.json, made once by scripts/gen-format-vectors.ts):
 * a copy written by an earlier release opens in a later one, and only as the
 * copy of the server, project and environment it was made for.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CachedValues,
  CacheError,
  type CacheIdentity,
  openCache,
  sealCache,
} from "../../src/client/cache";

const VECTORS = join(import.meta.dir, "..", "vectors");
const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

interface Vector {
  description: string;
  key: string;
  identity: CacheIdentity;
  nonce?: string;
  blob: string;
  expect: { entry: CachedValues } | { error: string };
}

const vectors = readdirSync(VECTORS)
  .filter((name) => name.startsWith("cli-cache-") && name.endsWith(".json"))
  .map((name) => ({ name, vector: JSON.parse(readFileSync(join(VECTORS, name), "utf8")) as Vector }));

describe("offline copy vectors", () => {
  it("has success and failure cases checked in", () => {
    expect(new Set(vectors.map((v) => ("error" in v.vector.expect ? v.vector.expect.error : "ok")))).toEqual(
      new Set(["ok", "CORRUPT"]),
    );
  });

  for (const { name, vector } of vectors) {
    it(`${name}: ${vector.description}`, () => {
      const run = () => openCache(hex(vector.blob), hex(vector.key), vector.identity);
      if ("entry" in vector.expect) {
        expect(run()).toEqual(vector.expect.entry);
        return;
      }
      let code: string | undefined;
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(CacheError);
        code = (error as CacheError).code;
      }
      expect(code).toBe(vector.expect.error);
    });
  }

  it("writes the success vector byte for byte when given its nonce", () => {
    const { vector } = vectors.find((v) => "entry" in v.vector.expect)!;
    const entry = (vector.expect as { entry: CachedValues }).entry;
    const blob = sealCache(entry, hex(vector.key), vector.identity, () => hex(vector.nonce!));
    expect(Buffer.from(blob).toString("hex")).toBe(vector.blob);
  });
});
