/**
 * The keeper module's only import surface. See README.md for the format,
 * the keyring, rotation and the threat model.
 */
export { createKeeperClient, type KeeperClientOptions } from "./client";
export { KEEPER_ERROR_CODES, KeeperError, type KeeperErrorCode, keeperErrorCode } from "./errors";
export { createKeeper } from "./keeper";
export type { Keeper, KeeperEvent, KeeperOptions, RootKeyCustody, TickReport } from "./keeper-types";
export { atRestKeyFor } from "./keeper-types";
export { type OpenKeeperOptions, openKeeper } from "./open";
export {
  type KeeperService,
  type KeeperTls,
  keeperRoutes,
  type ServeKeeperOptions,
  serveKeeper,
} from "./service";
export { refsHeld } from "./snapshot";
export { startTicker, type Ticker } from "./ticker";
export type { KeeperApi, KeeperHealth, KeeperStats, Ref, TermStats } from "./types";
export { MAX_BATCH, MAX_BLOB_BYTES } from "./wire";
