/**
 * Opening app.db. `app.key` (32 random bytes, created on first start) derives
 * two keys with HKDF, each under its own label: app.db's at-rest key, and the
 * app's sealing key (values are sealed with it before they reach the keeper).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import type { Config } from "../config";
import {
  type Database,
  hkdf32,
  KeyFileError,
  migrate,
  newKey,
  openDatabase,
  readKeyFile,
  writeKeyFile,
} from "../db";
import { migrations } from "./migrations";
import { auditRepo } from "./repos/audit";
import { handoffsRepo } from "./repos/handoffs";
import { projectsRepo } from "./repos/projects";
import { tokensRepo } from "./repos/tokens";
import { usersRepo } from "./repos/users";
import { macLegacyVersions, VERSION_MAC_LABEL, versionsRepo } from "./repos/versions";
import * as schema from "./schema";

export const AT_REST_LABEL = "vault/v1/app-db-at-rest";
/** app.db's at-rest key, derived from app.key (for tools that open a copy: backup, restore, doctor). */
export const appDbAtRestKey = (appKey: Uint8Array): Uint8Array => hkdf32(appKey, AT_REST_LABEL);
export const SEAL_LABEL = "vault/v1/app-seal";

export type AppDrizzle = LibSQLDatabase<typeof schema>;

export interface AppDb {
  orm: AppDrizzle;
  users: ReturnType<typeof usersRepo>;
  tokens: ReturnType<typeof tokensRepo>;
  projects: ReturnType<typeof projectsRepo>;
  versions: ReturnType<typeof versionsRepo>;
  audit: ReturnType<typeof auditRepo>;
  handoffs: ReturnType<typeof handoffsRepo>;
  database: Database;
  /** The app's sealing key, derived from app.key. */
  sealKey: Uint8Array;
  health(): Promise<boolean>;
  close(): void;
}

export type AppDbConfig = Pick<Config, "appDb" | "appKeyFile" | "appDbAuthTokenFile">;

export async function openAppDb(config: AppDbConfig): Promise<AppDb> {
  const remote = /^(libsql|https?):\/\//.test(config.appDb);
  if (!remote) mkdirSync(dirname(config.appDb), { recursive: true, mode: 0o700 });
  if (!existsSync(config.appKeyFile)) {
    mkdirSync(dirname(config.appKeyFile), { recursive: true, mode: 0o700 });
    if (!remote && existsSync(config.appDb)) {
      throw new KeyFileError(
        "MISSING",
        `app key ${config.appKeyFile} is missing, but ${config.appDb} exists; restore the key file (without it the data cannot be read)`,
      );
    }
    writeKeyFile(config.appKeyFile, newKey());
  }
  const appKey = readKeyFile(config.appKeyFile, "app key");
  const database = await openDatabase({
    location: config.appDb,
    atRestKey: appDbAtRestKey(appKey),
    authToken: config.appDbAuthTokenFile ? readFileSync(config.appDbAuthTokenFile, "utf8").trim() : undefined,
    label: "app.db",
  });
  const versionMacKey = hkdf32(appKey, VERSION_MAC_LABEL);
  try {
    // 0005 adds the versions' MAC; the versions made before it get theirs in its transaction.
    await migrate(database, migrations, {
      "0005_version_mac": (tx) => macLegacyVersions(tx, versionMacKey),
    });
  } catch (error) {
    database.close();
    throw error;
  }
  const orm = drizzle(database.client, { schema });
  return {
    orm,
    users: usersRepo(orm),
    tokens: tokensRepo(orm),
    projects: projectsRepo(orm),
    versions: versionsRepo(orm, database.client, versionMacKey),
    audit: auditRepo(orm, database.client),
    handoffs: handoffsRepo(orm, database),
    database,
    sealKey: hkdf32(appKey, SEAL_LABEL),
    health: async () => {
      try {
        await database.client.execute("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    close: () => database.close(),
  };
}
