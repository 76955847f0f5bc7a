/**
 * Restoring a backup: every file checked against the manifest (by the
 * caller, verifyBackup), copied next to its target, both copies opened with
 * their keys as the server would (migrating them if this binary is newer),
 * the refs checked, and only then renamed into place. The files replaced are
 * kept beside them as `<file>.before-restore-<time>`. The caller makes sure
 * no server runs on the data directory.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { openAppDb } from "../appdb";
import type { Config } from "../config";
import { leaveWal, readKeyFile } from "../db";
import { EXIT } from "../exit-codes";
import { openKeeper } from "../vault";
import { BackupError } from "./errors";
import { FILES, type Manifest } from "./manifest";
import { checkPair, openVaultDbFile, type PairCheck } from "./pair";

export interface Restored {
  users: number;
  check: PairCheck;
  /** The suffix the replaced files were kept under, when there were any. */
  replaced?: string;
}

type RestoreConfig = Config;

export async function restoreBackup(
  config: RestoreConfig,
  src: string,
  manifest: Manifest,
  options: { force: boolean; say: (text: string) => void },
): Promise<Restored> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const has = (rel: string) => manifest.files.some((f) => f.path === rel);
  // What goes where: databases always, keys when the backup holds them.
  const plan: { rel: string; target: string }[] = [
    { rel: FILES.appDb, target: config.appDb },
    { rel: FILES.vaultDb, target: config.vaultDb },
    ...(has(FILES.appKey) ? [{ rel: FILES.appKey, target: config.appKeyFile }] : []),
    ...(has(FILES.rootKey) ? [{ rel: FILES.rootKey, target: config.rootKeyFile }] : []),
    ...(has(FILES.keeperToken) ? [{ rel: FILES.keeperToken, target: config.keeperTokenFile }] : []),
  ];
  const occupied = plan.filter(
    (p) => existsSync(p.target) && (p.rel === FILES.appDb || p.rel === FILES.vaultDb),
  );
  if (occupied.length > 0 && !options.force) {
    throw new BackupError(
      `${config.dataDir} already holds data (${occupied.map((p) => p.rel).join(", ")})`,
      EXIT.conflict,
      "restore into a new data directory (--data DIR), or replace it with --force (the current files are kept as <file>.before-restore-<time>)",
    );
  }
  for (const [rel, target] of [
    [FILES.appKey, config.appKeyFile],
    [FILES.rootKey, config.rootKeyFile],
  ] as const) {
    if (!has(rel) && !existsSync(target)) {
      throw new BackupError(
        `the backup holds no ${rel} and ${target} does not exist`,
        EXIT.usage,
        "put the key file of the backed-up data directory in place (or point at it), then restore again",
      );
    }
  }

  // 1. Copy next to the targets.
  const token = randomBytes(4).toString("hex");
  const staged = plan.map((p) => ({ ...p, staged: `${p.target}.restoring-${token}` }));
  const cleanup = () => {
    for (const s of staged)
      for (const suffix of ["", "-wal", "-shm"]) rmSync(s.staged + suffix, { force: true });
  };
  try {
    for (const s of staged) {
      mkdirSync(dirname(s.target), { recursive: true, mode: 0o700 });
      copyFileSync(join(src, s.rel), s.staged);
      chmodSync(s.staged, 0o600);
    }
    const stagedOf = (rel: string, fallback: string) => staged.find((s) => s.rel === rel)?.staged ?? fallback;
    // 2. Open both copies with their keys, as the server would, and check the refs.
    options.say("opening the copies with their keys");
    const appdb = await openAppDb({
      appDb: stagedOf(FILES.appDb, config.appDb),
      appKeyFile: stagedOf(FILES.appKey, config.appKeyFile),
      appDbAuthTokenFile: undefined,
    });
    let users = 0;
    let check: PairCheck;
    try {
      users = (await appdb.users.list()).length;
      const keeper = await openKeeper({
        config: {
          ...config,
          vaultDb: stagedOf(FILES.vaultDb, config.vaultDb),
          rootKeyFile: stagedOf(FILES.rootKey, config.rootKeyFile),
        },
        create: false,
      });
      await keeper.close();
      const rootKey = readKeyFile(stagedOf(FILES.rootKey, config.rootKeyFile), "root key file");
      const vault = await openVaultDbFile(stagedOf(FILES.vaultDb, config.vaultDb), rootKey);
      try {
        check = await checkPair(appdb.database, vault);
        await leaveWal(vault);
      } finally {
        vault.close();
      }
      await leaveWal(appdb.database);
    } finally {
      appdb.close();
    }
    if (check.missing > 0) {
      throw new BackupError(
        `the backup's app.db names ${check.missing} values its vault.db lacks`,
        EXIT.server,
        "nothing was replaced; use another backup",
      );
    }
    for (const s of staged) for (const suffix of ["-wal", "-shm"]) rmSync(s.staged + suffix, { force: true });
    // 3. Move the current files aside, then the copies into place.
    for (const s of staged) {
      for (const suffix of ["", "-wal", "-shm"]) {
        if (existsSync(s.target + suffix))
          renameSync(s.target + suffix, `${s.target}${suffix}.before-restore-${stamp}`);
      }
    }
    for (const s of staged) renameSync(s.staged, s.target);
    return { users, check, ...(occupied.length > 0 ? { replaced: `before-restore-${stamp}` } : {}) };
  } catch (error) {
    cleanup();
    if (error instanceof BackupError) throw error;
    const e = error as { message?: string };
    throw new BackupError(
      `the backup does not open: ${e?.message ?? String(error)}`,
      EXIT.server,
      "nothing was replaced",
    );
  }
}
