/** Shared fixtures for the keeper tests: real libsql files in fresh temporary directories. */

import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OpenKeeperOptions, openKeeper } from "../../src/vault";
import { type KeeperConfig, keeperConfig as sharedKeeperConfig } from "../helpers/keeper-config";

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the file's tests. */
export function tempDir(prefix = "vault-keeper-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export type { KeeperConfig } from "../helpers/keeper-config";

/** The keeper settings of a data directory; the vault tests use a lower seal cap than the product's default. */
export function keeperConfig(dir: string, overrides: Partial<KeeperConfig> = {}): KeeperConfig {
  return sharedKeeperConfig(dir, { rotateCap: 1_000_000, ...overrides });
}

/** A keeper on fresh files in a new temporary directory. */
export async function freshKeeper(
  overrides: Partial<KeeperConfig> = {},
  options: Partial<OpenKeeperOptions> = {},
) {
  const dir = tempDir();
  const config = keeperConfig(dir, overrides);
  const keeper = await openKeeper({ ...options, config });
  return { dir, config, keeper };
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : new TextDecoder().decode(bytes);

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2030, 0, 1)) {
  let t = start;
  return {
    now: () => t,
    set: (ms: number) => {
      t = ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}
