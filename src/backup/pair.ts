/**
 * The two databases as a pair: each opened with its own at-rest key, and
 * checked together (every ref app.db names is held by vault.db).
 */
import { existsSync } from "node:fs";
import { appDbAtRestKey, refsNamed } from "../appdb";
import type { Config } from "../config";
import { type Database, openDatabase, readKeyFile } from "../db";
import { atRestKeyFor, refsHeld } from "../vault";

export function openAppDbFile(location: string, appKey: Uint8Array): Promise<Database> {
  return openDatabase({ location, atRestKey: appDbAtRestKey(appKey), label: "app.db", concurrency: 1 });
}

export function openVaultDbFile(location: string, rootKey: Uint8Array): Promise<Database> {
  return openDatabase({ location, atRestKey: atRestKeyFor(rootKey), label: "vault.db", concurrency: 1 });
}

/** The root keys that may open vault.db: the file's, and a staged `.next` of an interrupted rotation. */
export function rootKeyCandidates(config: Pick<Config, "rootKeyFile">): { path: string; key: Uint8Array }[] {
  const out = [{ path: config.rootKeyFile, key: readKeyFile(config.rootKeyFile, "root key file") }];
  const next = `${config.rootKeyFile}.next`;
  if (existsSync(next)) out.push({ path: next, key: readKeyFile(next, "staged root key file") });
  return out;
}

export interface PairCheck {
  /** Refs app.db names that vault.db lacks. */
  missing: number;
  refs: number;
  values: number;
}

export async function checkPair(app: Database, vault: Database): Promise<PairCheck> {
  const named = await refsNamed(app);
  const held = await refsHeld(vault);
  let missing = 0;
  for (const ref of named) if (!held.has(ref)) missing++;
  return { missing, refs: named.size, values: held.size };
}
