/**
 * Taking a backup: an online, consistent snapshot of each database with
 * `VACUUM INTO`, through a fresh connection opened with the database's own
 * at-rest key (the copy is encrypted with the same key; a server may keep
 * running: in WAL mode the snapshot is one read transaction and blocks no
 * writer). The two databases cannot be snapshotted in one transaction, so
 * the order matters: app.db first, then vault.db. Every write seals values
 * in the keeper before app.db names them, so a vault.db taken later holds
 * every ref the earlier app.db names, except refs deleted in between (an
 * environment removed, a DOTENV_KEY rotated twice). The pair is therefore
 * checked, and taken again when a ref is missing.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config";
import { appliedMigrations, type Database, leaveWal, readKeyFile, snapshotInto } from "../db";
import { EXIT } from "../exit-codes";
import { commit, version } from "../version";
import { BackupError } from "./errors";
import { BACKUP_FORMAT, describeFile, FILES, type Manifest, writeManifest } from "./manifest";
import { checkPair, openAppDbFile, openVaultDbFile, rootKeyCandidates } from "./pair";

const ATTEMPTS = 5;

export interface SnapshotHooks {
  /** A line of progress for the operator. */
  say(text: string): void;
  /** Runs a long step under a label (the command shows a spinner). */
  step<T>(label: string, run: () => Promise<T>): Promise<T>;
}

/** DEST must be a new or empty directory: backups are never merged. */
export function prepareDest(dest: string): void {
  if (existsSync(dest)) {
    if (!statSync(dest).isDirectory())
      throw new BackupError(`${dest} exists and is not a directory`, EXIT.usage);
    if (readdirSync(dest).length > 0)
      throw new BackupError(
        `${dest} is not empty`,
        EXIT.usage,
        "give a new or empty directory: backups are never merged",
      );
  }
  mkdirSync(join(dest, "app"), { recursive: true, mode: 0o700 });
  mkdirSync(join(dest, "keeper"), { recursive: true, mode: 0o700 });
}

/** Snapshots both databases into DEST (retrying while refs went missing in between), copies the keys, writes the manifest. */
export async function takeBackup(
  config: Pick<Config, "appDb" | "vaultDb" | "appKeyFile" | "rootKeyFile" | "keeperTokenFile">,
  dest: string,
  options: { withKeys: boolean; online: boolean },
  hooks: SnapshotHooks,
): Promise<Manifest> {
  const appKey = readKeyFile(config.appKeyFile, "app key");
  let counts = { refs: 0, values: 0 };
  let schema: Manifest["schema"] = { "app.db": [], "vault.db": [] };
  let rootKeyUsed: string | undefined;
  for (let attempt = 1; ; attempt++) {
    for (const rel of [FILES.appDb, FILES.vaultDb]) rmSync(join(dest, rel), { force: true });
    // 1. app.db, then 2. vault.db: see the top of this file.
    const live = await openAppDbFile(config.appDb, appKey);
    try {
      await hooks.step("copying app.db", () => snapshotInto(live, join(dest, FILES.appDb)));
    } finally {
      live.close();
    }
    let vaultLive: Database | undefined;
    for (const candidate of rootKeyCandidates(config)) {
      try {
        vaultLive = await openVaultDbFile(config.vaultDb, candidate.key);
        rootKeyUsed = candidate.path;
        break;
      } catch {
        // Try the next candidate.
      }
    }
    if (!vaultLive) throw new BackupError(`the root key does not open ${config.vaultDb}`);
    try {
      await hooks.step("copying vault.db", () => snapshotInto(vaultLive!, join(dest, FILES.vaultDb)));
    } finally {
      vaultLive.close();
    }
    // Check the pair: every ref named is held.
    const rootKey = readKeyFile(rootKeyUsed!, "root key file");
    const app = await openAppDbFile(join(dest, FILES.appDb), appKey);
    const vault = await openVaultDbFile(join(dest, FILES.vaultDb), rootKey);
    try {
      const check = await checkPair(app, vault);
      counts = { refs: check.refs, values: check.values };
      schema = { "app.db": await appliedMigrations(app), "vault.db": await appliedMigrations(vault) };
      // The snapshots must not keep WAL files: VACUUM INTO writes a plain database.
      await leaveWal(app);
      await leaveWal(vault);
      if (check.missing === 0) break;
      if (attempt >= ATTEMPTS) {
        throw new BackupError(
          `app.db names ${check.missing} values the vault.db snapshot lacks, after ${ATTEMPTS} attempts`,
          EXIT.server,
          "the server was removing environments or rotating keys throughout; retry later, or stop it first",
        );
      }
      hooks.say(`values were removed between the two snapshots; taking them again (${attempt}/${ATTEMPTS})`);
    } finally {
      app.close();
      vault.close();
    }
  }
  for (const rel of [FILES.appDb, FILES.vaultDb]) {
    for (const suffix of ["-wal", "-shm"]) rmSync(join(dest, rel + suffix), { force: true });
  }

  if (options.withKeys) {
    copyFileSync(config.appKeyFile, join(dest, FILES.appKey));
    copyFileSync(rootKeyUsed!, join(dest, FILES.rootKey));
    if (existsSync(config.keeperTokenFile))
      copyFileSync(config.keeperTokenFile, join(dest, FILES.keeperToken));
  }
  const rels: string[] = [
    FILES.appDb,
    FILES.vaultDb,
    ...(options.withKeys ? [FILES.appKey, FILES.rootKey] : []),
  ];
  if (options.withKeys && existsSync(join(dest, FILES.keeperToken))) rels.push(FILES.keeperToken);
  const manifest: Manifest = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    vault: `${version} (${commit})`,
    online: options.online,
    keys: options.withKeys,
    files: rels.map((rel) => describeFile(dest, rel)),
    schema,
    counts,
  };
  writeManifest(dest, manifest);
  return manifest;
}
