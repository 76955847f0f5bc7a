/**
 * Backups of a data directory, on the server host: the manifest and its
 * checks, the snapshot of the pair of databases, and the restore. The one
 * module besides the server that reads both stores, and only through their
 * own functions (each store's SQL stays in its module).
 */
export { BackupError } from "./errors";
export {
  BACKUP_FORMAT,
  FILES,
  type Manifest,
  type ManifestFile,
  readManifest,
  verifyBackup,
} from "./manifest";
export { type Restored, restoreBackup } from "./restore";
export { prepareDest, type SnapshotHooks, takeBackup } from "./snapshot";
