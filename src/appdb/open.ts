/**
 * Opening app.db. `app.key` (32 random bytes, created on first start) derives
 * keys with HKDF, each under its own label: app.db's at-rest key, the app's
 * sealing key (values are sealed with it before they reach the keeper), and
 * the keys of what app.db stores to recognise credentials and to chain the
 * audit log (see keyed.ts: app.db never holds them).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle } from "drizzle-orm/libsql";
import type { Config } from "../config";
import {
  type Database,
  hkdf32,
  KeyFileError,
  type MigrationHook,
  migrate,
  newKey,
  openDatabase,
  readKeyFile,
  writeKeyFile,
} from "../db";
import { hashKeys, keyedHashesUpgrade, keyedNoteFile, writeKeyedNote } from "./keyed";
import { KEYED_HASHES, migrations, VERSION_MAC } from "./migrations";
import { auditRepo } from "./repos/audit";
import { draftsRepo } from "./repos/drafts";
import { handoffsRepo } from "./repos/handoffs";
import { identitiesRepo } from "./repos/identities";
import { overridesRepo } from "./repos/overrides";
import { projectsRepo } from "./repos/projects";
import { requestsRepo } from "./repos/requests";
import { tokensRepo } from "./repos/tokens";
import { usersRepo } from "./repos/users";
import { macLegacyVersions, VERSION_MAC_LABEL, versionsRepo } from "./repos/versions";
import { webhooksRepo } from "./repos/webhooks";
import * as schema from "./schema";

export const AT_REST_LABEL = "vault/v1/app-db-at-rest";
/** app.db's at-rest key, derived from app.key (for tools that open a copy: backup, restore, doctor). */
export const appDbAtRestKey = (appKey: Uint8Array): Uint8Array => hkdf32(appKey, AT_REST_LABEL);
export const SEAL_LABEL = "vault/v1/app-seal";

import type { AppDrizzle } from "./orm";

export type { AppDrizzle };

/**
 * The code steps of app.db's migrations, with the keys they need from
 * app.key: 0003 re-keys stored hashes and anchors the audit chain (keyed.ts),
 * 0005 MACs the versions made before it (repos/versions.ts).
 */
export function appDbMigrationHooks(
  appKey: Uint8Array,
  options: { noteFile?: string } = {},
): Record<string, MigrationHook> {
  return {
    [KEYED_HASHES]: keyedHashesUpgrade(hashKeys(appKey), options),
    [VERSION_MAC]: (tx) => macLegacyVersions(tx, hkdf32(appKey, VERSION_MAC_LABEL)),
  };
}

export interface AppDb {
  orm: AppDrizzle;
  users: ReturnType<typeof usersRepo>;
  tokens: ReturnType<typeof tokensRepo>;
  projects: ReturnType<typeof projectsRepo>;
  versions: ReturnType<typeof versionsRepo>;
  audit: ReturnType<typeof auditRepo>;
  handoffs: ReturnType<typeof handoffsRepo>;
  drafts: ReturnType<typeof draftsRepo>;
  identities: ReturnType<typeof identitiesRepo>;
  overrides: ReturnType<typeof overridesRepo>;
  webhooks: ReturnType<typeof webhooksRepo>;
  requests: ReturnType<typeof requestsRepo>;
  database: Database;
  /** The app's sealing key, derived from app.key. */
  sealKey: Uint8Array;
  /** Keys what credential rows store (derived from app.key; see keyed.ts and server/auth/credentials.ts). */
  credentialKey: Uint8Array;
  health(): Promise<boolean>;
  /** app.db's `PRAGMA synchronous` on this connection (2 FULL, 1 NORMAL); undefined when remote. */
  synchronous(): Promise<number | undefined>;
  close(): void;
}

/**
 * With `dataDir` (the server, the operator commands), the data directory
 * keeps the note that app.db was seen keyed (keyed.ts); without it (a copy
 * opened by restore, tests) there is no note.
 */
export type AppDbConfig = Pick<Config, "appDb" | "appKeyFile" | "appDbAuthTokenFile"> &
  Partial<Pick<Config, "dataDir" | "durability">>;

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
    durability: config.durability,
  });
  const keys = hashKeys(appKey);
  const versionMacKey = hkdf32(appKey, VERSION_MAC_LABEL);
  const noteFile = config.dataDir === undefined ? undefined : keyedNoteFile(config.dataDir);
  try {
    await migrate(database, migrations, appDbMigrationHooks(appKey, { noteFile }));
    if (noteFile) writeKeyedNote(noteFile);
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
    audit: auditRepo(orm, database.client, keys.audit, database.commit),
    handoffs: handoffsRepo(orm, database),
    drafts: draftsRepo(orm, database.client),
    identities: identitiesRepo(orm),
    overrides: overridesRepo(orm),
    webhooks: webhooksRepo(orm, database.client),
    requests: requestsRepo(orm, database.client),
    database,
    sealKey: hkdf32(appKey, SEAL_LABEL),
    credentialKey: keys.credential,
    health: async () => {
      try {
        await database.client.execute("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    synchronous: async () =>
      database.remote
        ? undefined
        : Number((await database.client.execute("PRAGMA synchronous")).rows[0]?.[0]),
    close: () => database.close(),
  };
}
