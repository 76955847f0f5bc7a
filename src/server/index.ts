export { createServer, type ServerDeps, type VaultServer } from "./app";
export { ApiError, ERROR_STATUS, type ErrorCode } from "./errors";
export { afterListen, type ListenConfig, listenOptions } from "./listen";
export { type AppRoleOptions, runApp } from "./run";
