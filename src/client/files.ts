/**
 * Writing local files safely: atomically (a temporary file in the same
 * directory, then a rename), created with the mode asked for from the start
 * (files holding values are 0600 before the first byte is written), and
 * owner-only directories for the CLI's own state.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { CliError } from "../cli-kit";
import { EXIT } from "../exit-codes";

export function writeFileAtomic(path: string, content: string | Uint8Array, mode: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  try {
    writeSync(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  // The umask may have cleared bits of a wider mode; a narrower one is what was asked for.
  chmodSync(tmp, mode);
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Creates a directory (and parents) owner-only, and tightens an existing one. */
export function ensurePrivateDir(path: string): void {
  if (!existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o700 });
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o700);
}

/** The offset of the first byte that is not part of well-formed UTF-8 (RFC 3629), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= bytes.length) return i; // cut short at the end
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** The 1-based line of a byte offset, and its 1-based column (in bytes). */
function lineAt(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * Bytes as text, refusing what would not survive the trip: invalid UTF-8
 * (a lossy decode would silently turn it into U+FFFD) and NUL bytes, each
 * named with its line. A byte-order mark is kept, so that a pull gives the
 * file back byte for byte.
 */
export function decodeText(bytes: Uint8Array, label: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad !== -1) {
    const at = lineAt(bytes, bad);
    throw new CliError(
      `${label} is not valid UTF-8 (line ${at.line}, column ${at.column}: byte 0x${bytes[bad]!.toString(16).padStart(2, "0")})`,
      EXIT.usage,
      ["save it as UTF-8; from Latin-1, for instance: iconv -f latin1 -t utf-8 FILE > FILE.utf8"],
    );
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new CliError(`${label} contains a NUL byte (line ${lineAt(bytes, nul).line})`, EXIT.usage, [
      "a .env file is text: a binary value goes in base64",
    ]);
  }
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
}
