/**
 * Differential test: our parser against the real npm dotenv 17.4.2 `parse`
 * (and 16.4.7, whose parse is the same), on hand-written edge cases and on a
 * generated corpus. Any disagreement fails and prints the input.
 */
import { describe, expect, it } from "bun:test";
import dotenv from "dotenv";
import dotenv16 from "dotenv16";
import fc from "fast-check";
import { parse } from "../../src/dotenv";
import { assertProperty, dotenvText, FUZZ_TIMEOUT_MS, fuzzRuns, HAND_CASES, show } from "../dotenv/corpus";

function agree(text: string): void {
  const expected = dotenv.parse(text);
  const actual = parse(text);
  if (show(actual) !== show(expected) || !Object.is(Object.getPrototypeOf(actual), Object.prototype)) {
    throw new Error(
      `parse disagrees with dotenv 17.4.2 on ${show(text)}:\n ours   ${show(actual)}\n dotenv ${show(expected)}`,
    );
  }
}

describe("parse", () => {
  it("has at least 60 hand-written edge cases", () => {
    expect(HAND_CASES.length).toBeGreaterThanOrEqual(60);
  });

  it("agrees with dotenv 17.4.2 on every hand-written edge case", () => {
    for (const text of HAND_CASES) agree(text);
  });

  it("agrees with dotenv 17.4.2 on a Buffer of the same text", () => {
    for (const text of HAND_CASES) expect(parse(text)).toEqual(dotenv.parse(Buffer.from(text)));
  });

  it("agrees with dotenv 16.4.7, whose rules are the same", () => {
    for (const text of HAND_CASES) expect(parse(text)).toEqual(dotenv16.parse(text));
  });

  it("agrees with dotenv on bytes, invalid UTF-8 included, once decoded with TextDecoder", () => {
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(...Buffer.from("A=B\n#'\"` é😀").values()),
    );
    assertProperty(
      fc.property(fc.array(byte, { maxLength: 40 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        expect(parse(new TextDecoder().decode(buffer))).toEqual(dotenv.parse(buffer));
      }),
      fuzzRuns(2000),
    );
  });

  it("keeps the last of duplicate keys, in first-seen order", () => {
    expect(Object.entries(parse("A=1\nB=2\nA=3"))).toEqual([
      ["A", "3"],
      ["B", "2"],
    ]);
  });

  it(
    "agrees with dotenv 17.4.2 on a generated corpus",
    () => {
      assertProperty(
        fc.property(dotenvText, (text) => agree(text)),
        fuzzRuns(10000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "agrees with dotenv 17.4.2 on random text over dotenv's special characters",
    () => {
      const unit = fc.constantFrom(..."AB_.-=: \t\n\r#'\"`\\nxe\u2028\u00a0".split(""), "export ");
      assertProperty(
        fc.property(fc.string({ unit, maxLength: 60 }), (text) => agree(text)),
        fuzzRuns(10000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
