/** The verification code of `vault login --browser` (src/verification-code.ts). */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import {
  CODE_ALPHABET,
  CODE_LENGTH,
  formatVerificationCode,
  newVerificationCode,
  parseVerificationCode,
} from "../../src/verification-code";

describe("verification codes", () => {
  it("are eight letters from twenty consonants, with no vowel and nothing that reads as a digit", () => {
    expect(CODE_ALPHABET).toHaveLength(20);
    expect(CODE_ALPHABET).not.toMatch(/[AEIOUY01]/);
    for (let i = 0; i < 200; i++) {
      const code = newVerificationCode((n) => randomBytes(n));
      expect(code).toMatch(new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`));
    }
  });

  it("draw every letter uniformly: bytes that would favour the first letters are drawn again", () => {
    // Bytes 240..255 would map to the first 16 letters a second time; given only those first, none is used.
    const feed = [
      Uint8Array.from({ length: 16 }, (_, i) => 240 + i),
      Uint8Array.from({ length: 16 }, (_, i) => i + 19),
    ];
    const code = newVerificationCode(() => feed.shift() ?? new Uint8Array(16));
    expect(code).toBe("ZBCDFGHJ");
  });

  it("read back what people type: case, spaces and dashes do not matter, anything else is not a code", () => {
    expect(formatVerificationCode("WDJBMJHT")).toBe("WDJB-MJHT");
    for (const typed of ["WDJB-MJHT", "wdjb-mjht", " wdjb mjht ", "WDJBMJHT", "wd-jb-mj-ht"]) {
      expect(parseVerificationCode(typed)).toBe("WDJBMJHT");
    }
    for (const typed of ["", "WDJB-MJH", "WDJB-MJHTX", "WDJA-MJHT", "WDJB_MJHT", "WDJB-MJH0"]) {
      expect(parseVerificationCode(typed)).toBeUndefined();
    }
  });
});
