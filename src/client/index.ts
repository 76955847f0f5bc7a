/**
 * The client module's only import surface: the typed API client (shared with
 * the TUI) and the CLI's client commands (loaded on demand by src/cli.ts).
 * It imports only types from src/server, and nothing from the stores.
 */

export type * from "./api";
export {
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
  type Fetch,
  normalizeBaseUrl,
} from "./api";
export { type CachedValues, type CacheIdentity, createCache, openCache, sealCache } from "./cache";
export { login, logout, whoami } from "./commands/auth";
export { diff, diffValues, renderDiff } from "./commands/diff";
export { build, decrypt, keys, rotatekey } from "./commands/envvault";
export { explain, overrides } from "./commands/layers";
export { envs, envsAdd, envsRm, link, newProject, projects } from "./commands/projects";
export {
  envsProtect,
  envsUnprotect,
  requestsApprove,
  requestsList,
  requestsRebase,
  requestsReject,
  requestsShow,
  requestsWithdraw,
} from "./commands/requests";
export { CREDENTIAL_VARIABLES, childEnvironment, exitCodeOfChild, exportValues, run } from "./commands/run";
export { get, parseAssignments, pull, push, rollback, set, unset, versions } from "./commands/secrets";
export {
  audit,
  membersAdd,
  membersGrant,
  membersList,
  membersRm,
  parseGrants,
  parseSince,
  tokensCreate,
  tokensList,
  tokensRevoke,
} from "./commands/team";
export { trust } from "./commands/trust";
export {
  webhooksAdd,
  webhooksDeliveries,
  webhooksDisable,
  webhooksEnable,
  webhooksList,
  webhooksPing,
  webhooksRedeliver,
  webhooksRm,
  webhooksRotateSecret,
  webhooksShow,
} from "./commands/webhooks";
export {
  COMPLETION_SHELLS,
  type CompletionCommand,
  completionCommand,
  completionScript,
  completionTree,
} from "./completion";
export {
  type Client,
  type CredentialSource,
  createClient,
  credentialLabel,
  runClient,
  type ServerSource,
} from "./context";
export { ClientError, type ClientErrorCode, exitCodeOfApi } from "./errors";
export {
  EXPORT_FORMATS,
  ExportError,
  type ExportFormat,
  formatExport,
  k8sName,
  shellQuote,
  yamlQuote,
} from "./formats";
export { gitignoreText, linkText, readLink } from "./link";
export { withProgress } from "./output";
export {
  checkEnvironmentName,
  type DiffSide,
  type EnvRef,
  parseDiffSide,
  parseEnvAtVersion,
  parseEnvRef,
  RefError,
} from "./refs";
