export { disableCoreDumps, type HardenResult } from "../harden";
export { unpackAddonForChildren } from "./addon";
export { roleLifecycle } from "./child";
export {
  acquireLock,
  DataDirLockedError,
  ensureKeeperToken,
  prepareDataDir,
  runningServer,
} from "./data-dir";
export { PreflightError, preflight } from "./preflight";
/** The keeper role, loaded on demand so that the supervisor does not carry the keeper's code. */
export const keeperRole = () => import("./keeper-role");
export { runSupervisor, selfCommand } from "./supervisor";
