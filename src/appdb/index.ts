export { keyedDigest } from "./keyed";
export {
  type AppDb,
  type AppDbConfig,
  type AppDrizzle,
  appDbAtRestKey,
  appDbMigrationHooks,
  openAppDb,
} from "./open";
export {
  type AuditEvent,
  type AuditFilter,
  AuditIntegrityError,
  type AuditRow,
  GENESIS,
  hashEvent,
  macEvent,
  type VerifyResult,
} from "./repos/audit";
export type { Draft } from "./repos/drafts";
export type { Handoff, HandoffKind, HandoffOrigin } from "./repos/handoffs";
export type { Identity, OidcLogin } from "./repos/identities";
export { defaultRandom, newId, type Random } from "./repos/ids";
export type { Override } from "./repos/overrides";
export type { Environment, Membership, Permission, Project } from "./repos/projects";
export type { ChangeRequest, Protection, RequestState } from "./repos/requests";
export type { Token, TokenKind } from "./repos/tokens";
export type { Role, User } from "./repos/users";
export {
  type Entries,
  type NewVersion,
  type Version,
  VersionConflictError,
  VersionIntegrityError,
  type VersionRow,
  type VersionSummary,
} from "./repos/versions";
export type {
  AttemptOutcome,
  DeliveryState,
  Webhook,
  WebhookAttempt,
  WebhookDelivery,
} from "./repos/webhooks";
export * as schema from "./schema";
export { refsNamed } from "./snapshot";
