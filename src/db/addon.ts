/**
 * libsql's native addon, unpacked once per start of `vault serve` into
 * `<data>/lib/libsql.node`, for the keeper and the app to load from there.
 *
 * Why: a compiled binary carries the addon (9.7 MB) inside its own image, and
 * Bun unpacks it into $TMPDIR in every process that loads libsql. Reading it
 * leaves its pages of the binary resident in that process for good: 9 MB of
 * the idle tree's memory, for bytes nobody reads again. A short-lived process
 * unpacks it instead, and its pages go with it. The children then load a
 * file that sits in the 0700 data directory, not in a shared $TMPDIR.
 *
 * libsql's requireNative() (rewritten by scripts/compile.ts) loads the file
 * named by VAULT_LIBSQL_ADDON when it is set, and the embedded addon otherwise.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { embeddedAddon } from "./embedded-addon";

/**
 * Written in chunks: one 9.7 MB write fills the page cache with large folios,
 * and a process that maps the file then holds whole folios (3.3 MB more each).
 */
const CHUNK = 64 * 1024;

/** The variable that points libsql's requireNative() at an unpacked addon. */
export const ADDON_ENV = "VAULT_LIBSQL_ADDON";

/** Whether this binary carries the addon (false when run from source). */
export const hasEmbeddedAddon = (): boolean => embeddedAddon !== undefined;

/** `<data>/lib`, where the addon is unpacked. */
export const addonDir = (dataDir: string): string => join(dataDir, "lib");

export interface UnpackedAddon {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Writes the embedded addon to `<dir>/libsql.node` (0600; the directory 0700),
 * atomically: a process that has the old file mapped keeps its copy.
 */
export async function unpackAddon(dir: string): Promise<UnpackedAddon> {
  if (embeddedAddon === undefined) throw new Error("this binary carries no libsql addon (run from source)");
  const bytes = await Bun.file(embeddedAddon).bytes();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "libsql.node");
  const partial = `${path}.${process.pid}.partial`;
  rmSync(partial, { force: true });
  try {
    const fd = openSync(partial, "w", 0o600);
    try {
      for (let at = 0; at < bytes.length; at += CHUNK)
        writeSync(fd, bytes, at, Math.min(CHUNK, bytes.length - at));
    } finally {
      closeSync(fd);
    }
    probeAddon(partial);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
  return { path, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/**
 * Loads the addon at `path` once, as the children will: a data directory on a
 * `noexec` mount would let the file be written but not loaded, and the children
 * would fail at start instead of falling back to the embedded addon.
 */
export function probeAddon(path: string): void {
  try {
    process.dlopen({ exports: {} }, path);
  } catch (error) {
    const why = (error as Error).message.split("\n")[0] ?? "";
    throw new Error(`the unpacked addon does not load (${why}); is the data directory mounted noexec?`);
  }
}
