/**
 * The data directory: created on first start with 0700 directories and 0600
 * files (umask 077), and a lock file that says whether a server is running
 * on it, so that operator commands talk to the running processes instead of
 * opening the files behind their backs.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "../config";
import { writeKeyFile } from "../db";

export type DataDirConfig = Pick<Config, "dataDir" | "keeperTokenFile" | "appDb" | "vaultDb">;

function ensureDir(path: string): void {
  if (!existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o700 });
  const mode = statSync(path).mode & 0o777;
  if (mode !== 0o700) chmodSync(path, 0o700);
}

/** Creates the directories a role needs, owner-only. */
export function prepareDataDir(config: DataDirConfig, role: "all" | "keeper" | "app"): void {
  process.umask(0o077);
  ensureDir(config.dataDir);
  if (role !== "keeper") ensureDir(join(config.dataDir, "app"));
  if (role !== "app") ensureDir(join(config.dataDir, "keeper"));
  if (role !== "app" && !/^[a-z]+:\/\//.test(config.vaultDb)) ensureDir(dirname(config.vaultDb));
  if (role !== "keeper" && !/^[a-z]+:\/\//.test(config.appDb)) ensureDir(dirname(config.appDb));
}

/** The keeper token: made once, shared by the app (which presents it) and the keeper (which checks it). */
export function ensureKeeperToken(config: Pick<Config, "keeperTokenFile">): void {
  if (existsSync(config.keeperTokenFile)) return;
  ensureDir(dirname(config.keeperTokenFile));
  writeKeyFile(config.keeperTokenFile, new Uint8Array(randomBytes(32)));
}

export interface LockInfo {
  pid: number;
  startedAt: number;
}

function lockPath(dataDir: string): string {
  return join(dataDir, "serve.lock");
}

function isVaultProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("serve");
  } catch {
    return true;
  }
}

/** The live server holding this data directory, if any (a lock left by kill -9 is not live). */
export function runningServer(dataDir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(lockPath(dataDir), "utf8")) as LockInfo;
    return typeof info.pid === "number" && isVaultProcess(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

export class DataDirLockedError extends Error {
  constructor(readonly holder: LockInfo) {
    super(`another vault serve (pid ${holder.pid}) is running on this data directory`);
    this.name = "DataDirLockedError";
  }
}

export function acquireLock(dataDir: string, now: () => number = Date.now): () => void {
  const holder = runningServer(dataDir);
  if (holder && holder.pid !== process.pid) throw new DataDirLockedError(holder);
  const path = lockPath(dataDir);
  if (existsSync(path)) unlinkSync(path);
  writeFileSync(path, JSON.stringify({ pid: process.pid, startedAt: now() } satisfies LockInfo), {
    mode: 0o600,
    flag: "wx",
  });
  return () => {
    try {
      const info = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
      if (info.pid === process.pid) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}
