/**
 * Key files: exactly 32 random bytes, hex-encoded (64 characters, one optional
 * trailing newline). Anything else is refused: no guessing of encodings.
 */

import { hkdfSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { EXIT, EXIT_CODE } from "../exit-codes";

export class KeyFileError extends Error {
  constructor(
    readonly code: "MISSING" | "MALFORMED" | "PERMISSIONS",
    message: string,
  ) {
    super(message);
    this.name = "KeyFileError";
  }

  readonly [EXIT_CODE] = EXIT.server;
}

const HEX64 = /^[0-9a-f]{64}\n?$/;

export function readKeyFile(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new KeyFileError("MISSING", `${what} ${path} does not exist`);
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(
      "PERMISSIONS",
      `${what} ${path} is readable by others (mode ${mode.toString(8).padStart(4, "0")}); run: chmod 600 ${path}`,
    );
  }
  const text = readFileSync(path, "utf8");
  if (!HEX64.test(text)) {
    throw new KeyFileError("MALFORMED", `${what} ${path} is not 64 lowercase hex characters (32 bytes)`);
  }
  return new Uint8Array(Buffer.from(text.trim(), "hex"));
}

/** Writes a key file atomically with mode 0600. */
export function writeKeyFile(path: string, key: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${Buffer.from(key).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function newKey(random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  return new Uint8Array(random(32));
}

/** HKDF-SHA-256 with an empty salt and a label of our own, 32 bytes out. */
export function hkdf32(key: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", key, new Uint8Array(0), label, 32));
}
