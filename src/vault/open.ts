/**
 * Starting a keeper from its files: the root key file and vault.db.
 *
 * - First start (no vault.db, no root key): a root key is generated and
 *   written (0600) before vault.db is created.
 * - vault.db exists but the root key does not: refused; a new key would open nothing.
 * - A root key that does not open vault.db (at rest) or its keyring: refused
 *   before anything is written.
 *
 * Root-key rotation (keeper.ts) writes `<root key file>.next` first, then
 * re-seals the keyring under it, then re-keys vault.db at rest, then renames
 * `.next` over the root key file. A crash leaves one of these states, and
 * start-up finishes the rotation if the new key was used at all, or discards
 * `.next` if it was not.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
} from "node:fs";
import { dirname } from "node:path";
import type { Config, Durability } from "../config";
import {
  type Database,
  DatabaseError,
  migrate,
  newKey,
  openDatabase,
  readKeyFile,
  writeKeyFile,
} from "../db";
import type { Random } from "./envelope";
import { KeeperError } from "./errors";
import { createKeeper } from "./keeper";
import { atRestKeyFor, type Keeper, type KeeperEvent, type RootKeyCustody } from "./keeper-types";
import { openKeyring, sealKeyring } from "./keyring";
import { vaultMigrations } from "./migrations";
import { createStore, rekeyAtRest } from "./store";

const REMOTE = /^(libsql|https?):\/\//;

export interface OpenKeeperOptions {
  config: Pick<
    Config,
    | "rootKeyFile"
    | "vaultDb"
    | "vaultDbAuthTokenFile"
    | "rotateMinMs"
    | "rotateMaxMs"
    | "rotateCap"
    | "resealBatch"
  > &
    Partial<Pick<Config, "durability">>;
  /** Create the root key and vault.db on first start (default true; operator commands pass false). */
  create?: boolean;
  random?: Random;
  now?: () => number;
  log?: (event: KeeperEvent) => void;
  /** Told of each transaction that stores new values, with the number of puts it holds (tests). */
  onCommit?: (puts: number) => void;
}

export async function openKeeper(options: OpenKeeperOptions): Promise<Keeper> {
  const { config } = options;
  const random = options.random ?? ((n: number) => randomBytes(n));
  const now = options.now ?? Date.now;
  const remote = REMOTE.test(config.vaultDb);
  const nextFile = `${config.rootKeyFile}.next`;
  const authToken = config.vaultDbAuthTokenFile
    ? readFileSync(config.vaultDbAuthTokenFile, "utf8").trim()
    : undefined;

  if (!existsSync(config.rootKeyFile)) {
    const inUse = remote ? await remoteHasKeyring(config.vaultDb, authToken) : existsSync(config.vaultDb);
    if (inUse) {
      throw new KeeperError(
        "ROOT_KEY_MISSING",
        `vault.db ${config.vaultDb} exists but the root key file ${config.rootKeyFile} does not: restore the root key (a new one would open nothing)`,
      );
    }
    if (options.create === false) {
      throw new KeeperError("NO_KEEPER", `there is no keeper here yet: ${config.rootKeyFile} does not exist`);
    }
    mkdirSync(dirname(config.rootKeyFile), { recursive: true, mode: 0o700 });
    writeKeyFile(config.rootKeyFile, newKey(random));
    syncPath(config.rootKeyFile);
    syncPath(dirname(config.rootKeyFile));
  }
  if (!remote && !existsSync(config.vaultDb)) {
    if (options.create === false) {
      throw new KeeperError("NO_KEEPER", `there is no keeper here yet: ${config.vaultDb} does not exist`);
    }
    mkdirSync(dirname(config.vaultDb), { recursive: true, mode: 0o700 });
  }
  const current = readKeyFile(config.rootKeyFile, "root key file");
  const next = existsSync(nextFile) ? readKeyFile(nextFile, "staged root key file") : undefined;
  const candidates = next === undefined ? [current] : [current, next];

  const { db, dbKey } = await openVaultDb(config.vaultDb, remote, authToken, candidates, config.durability);
  let rootKey = dbKey;
  try {
    await migrate(db, vaultMigrations);
    const store = createStore(db);
    const sealed = await store.loadKeyring();
    const ringKey = sealed === null ? dbKey : candidates.find((key) => opens(key, sealed));
    if (ringKey === undefined) {
      throw new KeeperError(
        "WRONG_ROOT_KEY",
        `the root key in ${config.rootKeyFile} does not open the keyring in vault.db`,
      );
    }
    if (next !== undefined) {
      if (dbKey === current && ringKey === current) {
        unlinkSync(nextFile); // staged but never used: the rotation did not start
      } else {
        // Roll the interrupted root-key rotation forward.
        if (ringKey === current && sealed !== null) {
          const ring = openKeyring(current, sealed);
          await store.saveKeyring(sealKeyring(next, ring, random), now());
          ring.destroy();
        }
        if (dbKey === current && !remote) await rekeyAtRest(db, atRestKeyFor(next));
        renameSync(nextFile, config.rootKeyFile);
        syncPath(dirname(config.rootKeyFile));
        rootKey = next;
      }
    } else {
      rootKey = ringKey;
    }
    return await createKeeper({
      db,
      rootKey,
      config,
      random,
      now,
      log: options.log,
      onCommit: options.onCommit,
      custody: fileCustody(config.rootKeyFile),
    });
  } catch (error) {
    db.close();
    throw error;
  } finally {
    // createKeeper holds its own copy.
    for (const key of candidates) key.fill(0);
  }
}

/** The root key file's custody for rotateRoot(): stage `.next` durably, then rename it into place. */
export function fileCustody(rootKeyFile: string): RootKeyCustody {
  const nextFile = `${rootKeyFile}.next`;
  return {
    stage(next) {
      // Start-up always finishes or discards a `.next` it finds, so one here is not ours: leave it alone.
      if (existsSync(nextFile)) {
        throw new KeeperError("IN_USE", `${nextFile} exists: another root-key rotation is in progress`);
      }
      writeKeyFile(nextFile, next);
      syncPath(nextFile);
      syncPath(dirname(nextFile));
    },
    commit() {
      renameSync(nextFile, rootKeyFile);
      syncPath(dirname(rootKeyFile));
    },
  };
}

async function openVaultDb(
  location: string,
  remote: boolean,
  authToken: string | undefined,
  candidates: Uint8Array[],
  durability: Durability | undefined,
): Promise<{ db: Database; dbKey: Uint8Array }> {
  const first = candidates[0]!;
  if (remote) return { db: await openDatabase({ location, authToken, label: "vault.db" }), dbKey: first };
  let lastError: unknown;
  for (const key of candidates) {
    const atRestKey = atRestKeyFor(key);
    try {
      return {
        db: await openDatabase({ location, atRestKey, label: "vault.db", concurrency: 1, durability }),
        dbKey: key,
      };
    } catch (error) {
      if (!(error instanceof DatabaseError && error.code === "WRONG_KEY")) throw error;
      lastError = error;
    } finally {
      atRestKey.fill(0);
    }
  }
  throw new KeeperError(
    "WRONG_ROOT_KEY",
    `the root key does not open vault.db ${location} (wrong root key file?)`,
    {
      cause: lastError,
    },
  );
}

function opens(rootKey: Uint8Array, sealed: Uint8Array): boolean {
  try {
    openKeyring(rootKey, sealed).destroy();
    return true;
  } catch {
    return false;
  }
}

async function remoteHasKeyring(location: string, authToken: string | undefined): Promise<boolean> {
  const db = await openDatabase({ location, authToken, label: "vault.db" });
  try {
    const rows = await db.client.execute("SELECT count(*) AS n FROM sqlite_master WHERE name = 'keyring'");
    if (Number(rows.rows[0]?.n ?? 0) === 0) return false;
    const ring = await db.client.execute("SELECT count(*) AS n FROM keyring");
    return Number(ring.rows[0]?.n ?? 0) > 0;
  } finally {
    db.close();
  }
}

/** fsync a file or a directory, so a key is on disk before anything depends on it. */
function syncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
