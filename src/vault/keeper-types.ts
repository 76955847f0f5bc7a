/**
 * The in-process keeper's options, answers and events (keeper.ts), and the
 * derivation of vault.db's at-rest key from the root key.
 */
import type { Config } from "../config";
import { type Database, hkdf32 } from "../db";
import type { Random } from "./envelope";
import type { KeeperApi } from "./types";

/** vault.db's at-rest key: HKDF of the root key under a label of its own. */
export const atRestKeyFor = (rootKey: Uint8Array): Uint8Array => hkdf32(rootKey, "vault/v1/at-rest");

export type KeeperEvent =
  | { event: "keeper.keyring_created"; term: number }
  | { event: "keeper.rotated"; term: number; reason: "schedule" | "cap" | "forced" }
  | { event: "keeper.resealed"; values: number }
  | { event: "keeper.retired"; term: number }
  | { event: "keeper.root_rotated" };

/** Where the root key lives, so that a new one is durable before it is used (see open.ts). */
export interface RootKeyCustody {
  stage(next: Uint8Array): void;
  commit(): void;
}

export interface KeeperOptions {
  db: Database;
  rootKey: Uint8Array;
  config: Pick<Config, "rotateMinMs" | "rotateMaxMs" | "rotateCap" | "resealBatch">;
  random?: Random;
  now?: () => number;
  log?: (event: KeeperEvent) => void;
  /** Needed by rotateRoot(); openKeeper passes the root key file's custody. */
  custody?: RootKeyCustody;
  /** This keeper's name in the scheduled-work lease (default random; see lease.ts). */
  holder?: string;
  /** Told of each transaction that stores new values, with the number of puts it holds (tests). */
  onCommit?: (puts: number) => void;
}

export interface TickReport {
  rotated: boolean;
  resealed: number;
  retired: number[];
  /** More re-sealing is waiting: tick again soon. */
  pending: boolean;
}

export interface Keeper extends KeeperApi {
  /** Runs the scheduled work that is due: rotation, one re-seal batch, retirement. */
  tick(): Promise<TickReport>;
  /** Waits for work in flight, closes vault.db and overwrites the keys in memory. */
  close(): Promise<void>;
}
