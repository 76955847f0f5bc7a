/**
 * A backup's layout and its manifest: which files it holds, each with its
 * size and SHA-256, the migrations applied to each database, and counts.
 *
 *   DEST/manifest.json       format, time, version, and per file: path, bytes, SHA-256;
 *                            the migrations applied to each database
 *   DEST/app/app.db          DEST/keeper/vault.db
 *   DEST/app/app.key         DEST/keeper/root.key     DEST/app/keeper.token   (unless --no-keys)
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT } from "../exit-codes";
import { BackupError } from "./errors";

export const BACKUP_FORMAT = "vault-backup/1";

export const FILES = {
  appDb: "app/app.db",
  vaultDb: "keeper/vault.db",
  appKey: "app/app.key",
  rootKey: "keeper/root.key",
  keeperToken: "app/keeper.token",
} as const;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  vault: string;
  /** Whether a server was running on the data directory while the snapshot was taken. */
  online: boolean;
  keys: boolean;
  files: ManifestFile[];
  schema: { "app.db": string[]; "vault.db": string[] };
  counts: { refs: number; values: number };
}

function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

export function describeFile(root: string, rel: string): ManifestFile {
  const path = join(root, rel);
  return { path: rel, bytes: statSync(path).size, sha256: sha256File(path) };
}

export function writeManifest(dest: string, manifest: Manifest): void {
  writeFileSync(join(dest, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}

export function readManifest(src: string): Manifest {
  const path = join(src, "manifest.json");
  if (!existsSync(path))
    throw new BackupError(`${src} holds no manifest.json: not a vault backup`, EXIT.usage);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8")) as Manifest;
  } catch {
    throw new BackupError(`${path} is not valid JSON: the backup is damaged`);
  }
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.files)) {
    throw new BackupError(`${path} is not a ${BACKUP_FORMAT} manifest`);
  }
  return manifest;
}

/** Every file the manifest lists, with its size and checksum, and nothing it needs missing. */
export function verifyBackup(src: string, manifest: Manifest): void {
  const known = new Set<string>(Object.values(FILES));
  for (const file of manifest.files) {
    if (!known.has(file.path)) throw new BackupError(`the manifest lists an unexpected file ${file.path}`);
    const path = join(src, file.path);
    if (!existsSync(path))
      throw new BackupError(`the backup lacks ${file.path}`, EXIT.server, "nothing was replaced");
    const bytes = statSync(path).size;
    if (bytes !== file.bytes || sha256File(path) !== file.sha256) {
      throw new BackupError(
        `${file.path} does not match the manifest's checksum: the backup is damaged`,
        EXIT.server,
        "nothing was replaced; use another backup",
      );
    }
  }
  for (const required of [FILES.appDb, FILES.vaultDb]) {
    if (!manifest.files.some((f) => f.path === required)) {
      throw new BackupError(`the manifest does not list ${required}`, EXIT.server, "nothing was replaced");
    }
  }
}
