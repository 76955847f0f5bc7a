/**
 * app.db: names, people and history. Never a value: values live in the
 * keeper, named by a random 16-byte `ref`. Times are milliseconds since the
 * epoch; ids carry a prefix that says what they are (`usr_`, `vlt_`, `env_`,
 * `tok_`).
 */
import {
  type AnySQLiteColumn,
  blob,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ["owner", "admin", "member"] }).notNull(),
  mustChangePassword: integer("must_change_password", { mode: "boolean" }).notNull(),
  disabledAt: integer("disabled_at"),
  failedLogins: integer("failed_logins").notNull().default(0),
  failedWindowStart: integer("failed_window_start"),
  lockedUntil: integer("locked_until"),
  createdAt: integer("created_at").notNull(),
});

/** Every bearer credential: user sessions, `me_` credentials and service tokens. Only hashes are kept. */
export const tokens = sqliteTable(
  "tokens",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["session", "me", "service"] }).notNull(),
    hash: text("hash").notNull().unique(),
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    projectId: text("project_id").references(() => projects.id, { onDelete: "cascade" }),
    name: text("name"),
    canWrite: integer("can_write", { mode: "boolean" }).notNull().default(false),
    /** Service tokens: JSON array of environment ids the token may use. */
    environments: text("environments"),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [index("tokens_project").on(t.projectId), index("tokens_user").on(t.userId)],
);

export const projects = sqliteTable("projects", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
});

export const environments = sqliteTable(
  "environments",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    isMain: integer("is_main", { mode: "boolean" }).notNull().default(false),
    /** The latest version number; 0 before the first push. */
    head: integer("head").notNull().default(0),
    /** The environment's DOTENV_KEY, sealed in the keeper. */
    dotenvKeyRef: blob("dotenv_key_ref", { mode: "buffer" }),
    /** The key before the last rotation, kept so `DOTENV_KEY='<old>,<new>'` overlaps. */
    previousDotenvKeyRef: blob("previous_dotenv_key_ref", { mode: "buffer" }),
    createdAt: integer("created_at").notNull(),
    /**
     * A branch environment's parent, in the same project (migration 0009): its versions hold only
     * its overrides, additions and removals over the parent's head. Null for an ordinary one.
     */
    parentId: text("parent_id").references((): AnySQLiteColumn => environments.id),
  },
  (t) => [
    uniqueIndex("environments_project_name").on(t.projectId, t.name),
    index("environments_parent").on(t.parentId),
  ],
);

export const memberships = sqliteTable(
  "memberships",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** A project owner manages members, tokens and keys of the project. */
    role: text("role", { enum: ["owner", "member"] }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId] }), index("memberships_user").on(t.userId)],
);

/** Per-environment permission of a member; no row means `none` (deny by default). */
export const grants = sqliteTable(
  "grants",
  {
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    permission: text("permission", { enum: ["read", "write"] }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.userId] }), index("grants_user").on(t.userId)],
);

/** An immutable snapshot: name -> ref, the sealed layout, and what changed. */
export const versions = sqliteTable(
  "versions",
  {
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    /** JSON: [[name, ref hex], ...] in file order. */
    entries: text("entries").notNull(),
    layoutRef: blob("layout_ref", { mode: "buffer" }).notNull(),
    /** JSON: { added: [], changed: [], removed: [] } (names only). */
    summary: text("summary").notNull(),
    kind: text("kind", { enum: ["push", "merge", "set", "unset", "rollback"] }).notNull(),
    authorId: text("author_id"),
    authorLabel: text("author_label").notNull(),
    createdAt: integer("created_at").notNull(),
    /** HMAC-SHA-256 of the snapshot under a key derived from app.key (migration 0005, repos/versions.ts). */
    mac: blob("mac", { mode: "buffer" }),
    /**
     * Whether its values are read with references resolved (migration 0009): false for every
     * version made before references existed, so that a stored file never changes meaning.
     */
    resolves: integer("resolves", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.number] })],
);

/**
 * Every ref app.db uses, so the garbage collector can tell orphans from live
 * values. A push adds a row per new value, so the table is kept to one
 * b-tree: WITHOUT ROWID (migration 0002, which drizzle cannot express) and no
 * index on the environment. Deleting an environment, which is rare, scans it.
 */
export const refs = sqliteTable("refs", {
  ref: blob("ref", { mode: "buffer" }).primaryKey(),
  environmentId: text("environment_id").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** Hash-chained audit events: each row stores the hash of the one before. Never a value. */
export const audit = sqliteTable(
  "audit",
  {
    seq: integer("seq").primaryKey(),
    at: integer("at").notNull(),
    action: text("action").notNull(),
    actorKind: text("actor_kind").notNull(),
    actorId: text("actor_id"),
    actorLabel: text("actor_label"),
    projectId: text("project_id"),
    environmentId: text("environment_id"),
    /** JSON details (names, counts, version numbers; never values). */
    detail: text("detail"),
    ip: text("ip"),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [index("audit_project_at").on(t.projectId, t.at), index("audit_actor").on(t.actorId)],
);

/** Browser hand-offs of the dotenv-vault CLI (`/login`, `/new`, `/logout`): single use, expiring. */
export const handoffs = sqliteTable("handoffs", {
  id: text("id").primaryKey(),
  kind: text("kind", { enum: ["login", "new", "logout", "cli"] }).notNull(),
  projectId: text("project_id"),
  /** The bound result: a project id, or a `me_` credential (stored only until collected). */
  result: text("result"),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  collectedAt: integer("collected_at"),
  /** `vault login --browser`: SHA-256 of a secret only the CLI holds; the request id alone cannot collect. */
  pollHash: text("poll_hash"),
  /** `vault login --browser`: the hash of the verification code the CLI shows (registered with the secret). */
  codeHash: text("code_hash"),
  /** Codes typed on the approval page so far (right or wrong); the request is refused at the limit. */
  codeAttempts: integer("code_attempts").notNull().default(0),
  /** When too many wrong codes refused the request for good. */
  refusedAt: integer("refused_at"),
});

/**
 * Where a hand-off request came from: its first poll (the CLI's, or whoever made the request),
 * shown on the approval page and recorded in the audit event of the approval. Kept apart from
 * `handoffs` because the first poll may come before any page made the request's row (and `/check`
 * does not say whether it is a login or a logout).
 */
export const handoffOrigins = sqliteTable("handoff_origins", {
  requestId: text("request_id").primaryKey(),
  seenAt: integer("seen_at").notNull(),
  /** The client's address as the server saw it (null on a unix socket). */
  ip: text("ip"),
  /** Its User-Agent, bounded and without control characters. */
  userAgent: text("user_agent"),
});

/**
 * The web editor's pending change sets: one per session and environment. The operations are
 * sealed in the keeper (`ref`, also listed in `refs`); this row holds none of them.
 */
export const drafts = sqliteTable(
  "drafts",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    /** The session the draft belongs to: no other session, even of the same user, sees it. */
    tokenId: text("token_id").notNull(),
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    /** The version the operations apply to; a save carries it as its baseVersion. */
    baseVersion: integer("base_version").notNull(),
    ref: blob("ref", { mode: "buffer" }).notNull(),
    /** Counts the draft's changes: a save names the revision it reviewed. */
    revision: integer("revision").notNull().default(1),
    updatedAt: integer("updated_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [
    uniqueIndex("drafts_session_environment").on(t.tokenId, t.environmentId),
    index("drafts_expires").on(t.expiresAt),
  ],
);

/**
 * Single sign-on (migration 0008): who a user is at an OpenID provider. A user is found by
 * `(issuer, subject)`, never by email once linked; a user has at most one identity per issuer.
 */
export const identities = sqliteTable(
  "identities",
  {
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The email the provider last sent (the vault account keeps its own). */
    email: text("email"),
    createdAt: integer("created_at").notNull(),
    lastSignInAt: integer("last_sign_in_at"),
  },
  (t) => [
    primaryKey({ columns: [t.issuer, t.subject] }),
    uniqueIndex("identities_issuer_user").on(t.issuer, t.userId),
  ],
);

/**
 * Sign-ins started through the provider, single use (migration 0008). `id` is a keyed digest of
 * the `state` sent to the provider, `bindingHash` one of the secret in the browser's cookie; the
 * nonce and the PKCE verifier are derived from that secret, so none of them is stored here.
 */
export const oidcLogins = sqliteTable(
  "oidc_logins",
  {
    id: text("id").primaryKey(),
    bindingHash: text("binding_hash").notNull(),
    /** The local page to go to once signed in. */
    next: text("next").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("oidc_logins_expires").on(t.expiresAt)],
);

/**
 * Personal overrides (migration 0010): a user's own values on top of an environment they can
 * read, applied to that user's resolved reads only. The value is sealed in the keeper (`ref`);
 * the garbage collector counts these refs as used while their row lives (they are not in `refs`).
 */
export const overrides = sqliteTable(
  "overrides",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    ref: blob("ref", { mode: "buffer" }).notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.environmentId, t.name] }),
    index("overrides_environment").on(t.environmentId),
    index("overrides_ref").on(t.ref),
  ],
);

/**
 * Protected environments (migration 0012): a change becomes a change request. `approvers`: a
 * JSON array of user ids, or null for every member with write on the environment.
 */
export const environmentProtections = sqliteTable("environment_protections", {
  environmentId: text("environment_id")
    .primaryKey()
    .references(() => environments.id, { onDelete: "cascade" }),
  approvers: text("approvers"),
  allowTokenBypass: integer("allow_token_bypass", { mode: "boolean" }).notNull().default(false),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull(),
});

/**
 * Change requests (migration 0012): a proposed change to a protected environment. The change
 * itself is sealed in the keeper (`ref`, listed in `refs` while the request is open, null once
 * it is closed); this row holds names only.
 */
export const changeRequests = sqliteTable(
  "change_requests",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    /** Numbered per project from 1: `vault requests show N`. */
    number: integer("number").notNull(),
    authorKind: text("author_kind").notNull(),
    authorId: text("author_id").notNull(),
    authorLabel: text("author_label").notNull(),
    /** The change's kind (push, merge, set, unset, rollback). */
    kind: text("kind").notNull(),
    baseVersion: integer("base_version").notNull(),
    ref: blob("ref", { mode: "buffer" }),
    /** JSON: the names added, changed and removed against the base version. */
    summary: text("summary").notNull(),
    state: text("state", {
      enum: ["open", "approved", "rejected", "withdrawn", "applied"],
    }).notNull(),
    /** Counts rebases: an approval or rebase names the revision it saw. */
    revision: integer("revision").notNull().default(1),
    reason: text("reason"),
    decidedById: text("decided_by_id"),
    decidedByLabel: text("decided_by_label"),
    decidedAt: integer("decided_at"),
    appliedVersion: integer("applied_version"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("change_requests_project_number").on(t.projectId, t.number),
    index("change_requests_environment_state").on(t.environmentId, t.state),
  ],
);

/**
 * Webhooks (migration 0011): a project's receivers of events. The URL and the signing secret are
 * sealed by the app (base64 text; the URL may carry a credential); `origin` is what lists and
 * logs show. `environments` and `events` are JSON arrays (environment ids, event types), null
 * for all. Only audit events after `afterSeq` (the log's end when it was made) are delivered.
 */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    origin: text("origin").notNull(),
    environments: text("environments"),
    events: text("events"),
    secret: text("secret").notNull(),
    /** After a rotation that keeps it: the old secret (sealed), also signing until `previousSecretUntil`. */
    previousSecret: text("previous_secret"),
    previousSecretUntil: integer("previous_secret_until"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    afterSeq: integer("after_seq").notNull(),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhooks_project").on(t.projectId)],
);

/**
 * One event for one webhook (migration 0011): its body is fixed when it is queued (ids, versions,
 * key names; never a value); `id` is the delivery id a receiver dedupes by. `state` is pending
 * until an attempt gets a 2xx (delivered) or the retry window from `retryFrom` ends (failed).
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    /** The audit event it was made from; null for a ping. */
    eventSeq: integer("event_seq"),
    type: text("type").notNull(),
    body: text("body").notNull(),
    state: text("state", { enum: ["pending", "delivered", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    /** When its retry window began: its queueing, or its last redelivery by hand. */
    retryFrom: integer("retry_from").notNull(),
    createdAt: integer("created_at").notNull(),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    lastLatencyMs: integer("last_latency_ms"),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event").on(t.webhookId, t.eventSeq),
    index("webhook_deliveries_due").on(t.state, t.nextAttemptAt),
    index("webhook_deliveries_webhook").on(t.webhookId, t.createdAt),
  ],
);

/** Every attempt at a delivery (migration 0011): status, latency, error class, a short cleaned excerpt. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    at: integer("at").notNull(),
    status: integer("status"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
    excerpt: text("excerpt"),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.number] })],
);
