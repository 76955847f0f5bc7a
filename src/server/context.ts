/**
 * What every feature module of the server receives: narrowed dependencies,
 * wired by hand in createServer. Time and randomness are parameters so tests
 * are deterministic without branches in src/.
 */
import { type AppDb, defaultRandom, type Random } from "../appdb";
import type { Config } from "../config";
import { hkdf32 } from "../db";
import type { Logger } from "../log";
import type { KeeperApi } from "../vault";
import { type AuditLog, createAuditLog } from "./audit-log";
import { type AccessCache, createAccessCache } from "./auth/access";
import { type CredentialCache, createCredentialCache } from "./auth/caller";
import { createUsageRecorder, type UsageRecorder } from "./auth/usage";
import { type AppSealer, createAppSealer } from "./crypto/app-seal";
import { createOidcService, type OidcService } from "./modules/oidc/service";
import type { Resolve } from "./modules/webhooks/address";
import { createWebhookDispatcher, type WebhookDispatcher } from "./modules/webhooks/dispatcher";
import { createRateLimiter, type RateLimiter } from "./rate-limit";
import { createSnapshotCache, type SnapshotCache } from "./snapshot-cache";

/** The most the cache of opened versions holds (an estimate of its heap). */
const SNAPSHOT_CACHE_BYTES = 32 * 1024 * 1024;

export interface AppContext {
  appdb: AppDb;
  keeper: KeeperApi;
  sealer: AppSealer;
  /** The key behind the web pages' CSRF tokens (derived from app.key). */
  csrfKey: Uint8Array;
  audit: AuditLog;
  limiter: RateLimiter;
  /** Recent access decisions (see auth/access.ts). */
  access: AccessCache;
  /** Recently authenticated credentials (see auth/caller.ts). */
  credentials: CredentialCache;
  /** Service tokens' last use, written at most once a minute each (see auth/usage.ts). */
  usage: UsageRecorder;
  /** Recently opened versions (see snapshot-cache.ts). */
  snapshots: SnapshotCache;
  /**
   * The head of every environment this process has committed a version to.
   * Versions are committed only through this process (one app per app.db),
   * so a push reads its head here instead of from app.db; a conflict, which
   * only another writer could cause, drops the entry.
   */
  heads: Map<string, number>;
  config: Pick<
    Config,
    | "publicUrl"
    | "tlsCertFile"
    | "behindProxy"
    | "gcGraceMs"
    | "rateLimitAddress"
    | "rateLimitCredential"
    | "cacheTtlMs"
  > &
    Partial<
      Pick<
        Config,
        | "trustedProxies"
        | "oidc"
        | "passwordLogin"
        | "webhooksAllowHttp"
        | "webhooksAllowPrivate"
        | "webhooksRetryBaseMs"
        | "webhooksTimeoutMs"
      >
    >;
  /** Single sign-on (modules/oidc), when `config.oidc` is set. */
  oidc: OidcService | undefined;
  /** Webhook deliveries (modules/webhooks); started by the app role, driven by hand in tests. */
  webhooks: WebhookDispatcher;
  log: Logger;
  now: () => number;
  random: Random;
}

export interface ContextOptions {
  appdb: AppDb;
  keeper: KeeperApi;
  config: AppContext["config"];
  log: Logger;
  now?: () => number;
  random?: Random;
  /** The app's requests to other servers (the OpenID provider); tests wrap it. */
  fetch?: typeof fetch;
  /** How webhook hosts are resolved (node's DNS by default); tests inject names. */
  resolve?: Resolve;
}

/** Wires the context by hand: the app's sealer from app.key, the audit log over app.db, the limiter. */
export function createAppContext(options: ContextOptions): AppContext {
  const now = options.now ?? Date.now;
  const random = options.random ?? defaultRandom;
  const credentials = createCredentialCache(now);
  const access = createAccessCache(now);
  const heads = new Map<string, number>();
  forgetOnChange(options.appdb, {
    forget: () => {
      credentials.clear();
      access.clear();
    },
    moved: (environmentId, head) => {
      heads.set(environmentId, head);
      access.moved(environmentId, head);
    },
  });
  const audit = createAuditLog(options.appdb.audit, { now, log: options.log });
  const limiter = createRateLimiter(now);
  const sealer = createAppSealer(new Map([[1, options.appdb.sealKey]]), random);
  const webhooks = createWebhookDispatcher({
    appdb: options.appdb,
    sealer,
    log: options.log,
    now,
    random,
    policy: {
      allowHttp: options.config.webhooksAllowHttp ?? false,
      allowPrivate: options.config.webhooksAllowPrivate ?? [],
    },
    resolve: options.resolve,
    retryBaseMs: options.config.webhooksRetryBaseMs,
    timeoutMs: options.config.webhooksTimeoutMs,
  });
  // Every audit commit may hold events a webhook wants: the dispatcher looks at their actions.
  const append = options.appdb.audit.append.bind(options.appdb.audit);
  // The riders (a version committed with its event) go through: dropping them would lose the version.
  options.appdb.audit.append = async (events, at, riders) => {
    await append(events, at, riders);
    webhooks.appended(events);
  };
  const oidcConfig = options.config.oidc;
  return {
    credentials,
    access,
    usage: createUsageRecorder(options.appdb.tokens, { log: options.log }),
    appdb: options.appdb,
    keeper: options.keeper,
    sealer,
    webhooks,
    csrfKey: hkdf32(options.appdb.sealKey, "vault/v1/csrf"),
    audit,
    limiter,
    oidc: oidcConfig
      ? createOidcService({
          config: oidcConfig,
          appdb: options.appdb,
          audit,
          limiter,
          log: options.log,
          now,
          random,
          fetch: options.fetch,
        })
      : undefined,
    heads,
    snapshots: createSnapshotCache({ ttlMs: options.config.cacheTtlMs, maxBytes: SNAPSHOT_CACHE_BYTES, now }),
    config: options.config,
    log: options.log,
    now,
    random,
  };
}

/**
 * Every write that can change who may do what, or what a project holds,
 * clears the credential and access caches, in this one place. A new version
 * changes neither: it moves its environment's head in the access cache.
 */
function forgetOnChange(
  appdb: AppDb,
  caches: { forget: () => void; moved: (environmentId: string, head: number) => void },
): void {
  const after =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await write(...args);
      } finally {
        caches.forget();
      }
    };
  const wrap = <T extends object>(repo: T, names: readonly (keyof T)[]) => {
    for (const name of names) {
      const write = repo[name] as (...args: unknown[]) => Promise<unknown>;
      (repo as Record<keyof T, unknown>)[name] = after(write.bind(repo));
    }
  };
  wrap(appdb.tokens, ["revoke", "revokeAllOfUser", "revokeMe"]);
  wrap(appdb.users, ["update", "updateKeepingAnOwner"]);
  wrap(appdb.projects, [
    "create",
    "rename",
    "delete",
    "addEnvironment",
    "deleteEnvironment",
    "setDotenvKeys",
    "addMember",
    "removeMember",
    "setGrant",
  ]);
  const commit = appdb.versions.commit.bind(appdb.versions);
  appdb.versions.commit = async (version, options) => {
    const head = await commit(version, options);
    caches.moved(version.environmentId, head);
    return head;
  };
}
