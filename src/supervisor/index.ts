export { roleLifecycle } from "./child";
export {
  acquireLock,
  DataDirLockedError,
  ensureKeeperToken,
  prepareDataDir,
  runningServer,
} from "./data-dir";
export { runKeeper } from "./keeper-role";
export { runSupervisor, selfCommand } from "./supervisor";
