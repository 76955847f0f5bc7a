export { ADDON_ENV, addonDir, hasEmbeddedAddon, probeAddon, type UnpackedAddon, unpackAddon } from "./addon";
export { createGroupCommit, type GroupCommit, type GroupCommitOptions } from "./group-commit";
export { hkdf32, KeyFileError, newKey, readKeyFile, writeKeyFile } from "./keys";
export { appliedMigrations, type Migration, type MigrationHook, migrate } from "./migrate";
export {
  configureLocal,
  type Database,
  DatabaseError,
  type DatabaseOptions,
  describeLocation,
  openDatabase,
  truncateWal,
} from "./open";
export { checkEncryptedDatabase } from "./selftest";
export { leaveWal, snapshotInto } from "./snapshot";
