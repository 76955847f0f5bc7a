export { openDatabase, type Database, type DatabaseOptions, DatabaseError } from "./open";
export { migrate, type Migration } from "./migrate";
export { hkdf32, KeyFileError, newKey, readKeyFile, writeKeyFile } from "./keys";
export { appliedMigrations } from "./migrate";
