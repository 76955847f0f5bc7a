/** Limits on what an environment may hold, checked before anything is stored. */
import { ApiError } from "../../errors";

export const LIMITS = {
  keysPerEnvironment: 10_000,
  valueBytes: 64 * 1024,
  fileBytes: 2 * 1024 * 1024,
  nameLength: 256,
} as const;

/** Key names dotenv can read back: a letter or underscore, then letters, digits, `_`, `.` or `-`. */
export const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

export function checkKeyName(name: string): void {
  if (!KEY_NAME.test(name)) {
    throw new ApiError(
      "INVALID_REQUEST",
      `"${name.slice(0, 64)}" is not a valid key name`,
      "start with a letter or _, then letters, digits, _, . or - (at most 256 characters)",
    );
  }
}

export function checkFile(text: string): void {
  if (bytes(text) > LIMITS.fileBytes) {
    throw new ApiError("LIMIT_EXCEEDED", "the file is larger than 2 MiB", "split it across environments");
  }
  if (text.includes("\u0000")) throw new ApiError("INVALID_REQUEST", "the file contains a NUL byte");
  if (!text.isWellFormed())
    throw new ApiError("INVALID_REQUEST", "the file is not valid Unicode (a lone surrogate)");
}

export function checkValues(values: ReadonlyMap<string, string>): void {
  if (values.size > LIMITS.keysPerEnvironment) {
    throw new ApiError(
      "LIMIT_EXCEEDED",
      `an environment holds at most ${LIMITS.keysPerEnvironment} keys (this has ${values.size})`,
    );
  }
  for (const [name, value] of values) {
    checkKeyName(name);
    if (value.includes("\u0000"))
      throw new ApiError("INVALID_REQUEST", `the value of ${name} contains a NUL byte`);
    if (!value.isWellFormed())
      throw new ApiError("INVALID_REQUEST", `the value of ${name} is not valid Unicode`);
    if (bytes(value) > LIMITS.valueBytes) {
      throw new ApiError(
        "LIMIT_EXCEEDED",
        `the value of ${name} is larger than 64 KiB`,
        "store large blobs elsewhere and keep a reference here",
      );
    }
  }
}
