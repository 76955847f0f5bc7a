/**
 * The typed client of the native API (`/api/v1`, see `/api/v1/openapi.json`),
 * shared by the CLI and the TUI: one place that knows the routes, the bearer
 * header, timeouts, and how an answer becomes a value or a `ClientError`.
 * UI-free: it prints nothing and reads no environment.
 */
import { ClientError } from "./errors";

export type Permission = "none" | "read" | "write";
export type Role = "owner" | "admin" | "member";

export interface User {
  id: string;
  email: string;
  role: Role;
  mustChangePassword: boolean;
}

export interface LoginAnswer {
  token: string;
  expiresAt: number;
  user: User;
}

export type Me =
  | {
      kind: "service";
      token: { id: string; name: string | null; canWrite: boolean };
      projectId: string;
      user: null;
    }
  | { kind: "session" | "me"; user: User; projectId: string | null; expiresAt: number | null };

export interface ProjectSummary {
  id: string;
  name: string;
  createdAt: number;
}

export interface EnvironmentInfo {
  name: string;
  main: boolean;
  version: number;
  permission: Permission;
  /** A branch environment's parent (absent for an ordinary one, and from servers before issue 15). */
  parent?: string;
}

export interface Project extends ProjectSummary {
  canManage: boolean;
  environments: EnvironmentInfo[];
}

export interface Summary {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface ChangeAnswer {
  environment: string;
  version: number;
  summary: Summary;
  unchanged: boolean;
  /**
   * Set when the environment is protected (HTTP 202): the change became this change request and
   * no version was made (`version` is still the latest). Absent from servers before issue 16.
   */
  request?: { number: number; baseVersion: number };
}

export interface Protection {
  environment: string;
  /** Approvers' emails, or null: every member with write on the environment. */
  approvers: string[] | null;
  allowTokenBypass: boolean;
}

export interface ChangeRequest {
  number: number;
  environment: string;
  state: "open" | "stale" | "approved" | "rejected" | "withdrawn" | "applied";
  kind: string;
  author: string;
  baseVersion: number;
  head: number;
  summary: Summary;
  createdAt: number;
  updatedAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  appliedVersion: number | null;
  canApprove: boolean;
  canWithdraw: boolean;
}

export interface RevealedRequest {
  number: number;
  environment: string;
  values: Record<string, { from: string | null; to: string | null }>;
}

export interface PullDotenv {
  environment: string;
  version: number;
  dotenv: string;
}

export interface PullValues {
  environment: string;
  version: number;
  values: Record<string, string>;
  /** With `written`: what each value that differs from its resolved form is as written (null: only personal). */
  written?: Record<string, string | null>;
  /** The names your personal overrides gave. */
  personal?: string[];
}

export interface ExplainLayer {
  kind: "personal" | "environment" | "parent";
  environment: string;
  version?: number;
  state: "set" | "removed";
}

export interface ExplainReference {
  reference: string;
  environment?: string;
  project?: string;
  key: string;
  version?: number;
  layer?: ExplainLayer["kind"];
  error?: string;
  references: ExplainReference[];
}

export interface ExplainAnswer {
  environment: string;
  version: number;
  key: string;
  found: boolean;
  layers: ExplainLayer[];
  references: ExplainReference[];
  value?: string | null;
  written?: string | null;
}

export interface OverridesAnswer {
  environment: string;
  set: string[];
  unset: string[];
  names: string[];
}

export interface VersionInfo {
  version: number;
  kind: string;
  author: string;
  createdAt: number;
  summary: Summary;
}

export interface VersionsAnswer {
  environment: string;
  head: number;
  versions: VersionInfo[];
}

export interface DiffAnswer {
  from: { environment: string; version: number };
  to: { environment: string; version: number };
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
  values?: Record<string, { from: string | null; to: string | null }>;
}

export interface Member {
  userId: string;
  email: string;
  role: "owner" | "member";
  permissions: Record<string, Permission>;
}

export interface ServiceToken {
  id: string;
  name: string;
  environments: string[];
  write: boolean;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** `suspended`: its creator is disabled, so it does not work. */
  status: "active" | "suspended" | "revoked" | "expired";
}

/** A webhook as the API lists it (never its secret). */
export interface Webhook {
  id: string;
  url: string;
  origin: string;
  /** Environment names; null: every environment. */
  environments: string[] | null;
  /** Event types; null: every event. */
  events: string[] | null;
  enabled: boolean;
  /** Until when the secret before the last rotation still signs too. */
  previousSecretUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDelivery {
  id: string;
  type: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  createdAt: number;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

export interface WebhookAttempt {
  number: number;
  at: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
  excerpt: string | null;
}

export interface WebhookInput {
  url?: string;
  environments?: string[] | null;
  events?: string[] | null;
  enabled?: boolean;
}

export interface CreatedToken {
  id: string;
  token: string;
  name: string;
  environments: string[];
  write: boolean;
  expiresAt: number | null;
}

export interface AuditEvent {
  seq: number;
  at: number;
  action: string;
  actor: { kind: string; id: string | null; label: string };
  projectId: string | null;
  /** The project's name ("(removed)" once deleted); absent from servers before issue 18. */
  project?: string | null;
  environmentId: string | null;
  /** The environment's name ("(removed)" once deleted); absent from servers before issue 18. */
  environment?: string | null;
  /** The email of the user the event is about (a member granted or removed). */
  subject?: string | null;
  detail: unknown;
  ip: string | null;
}

export type AuditVerify = { ok: true; rows: number } | { ok: false; seq: number; problem: string };

export interface AuditQuery {
  project?: string;
  actor?: string;
  action?: string;
  since?: number;
  until?: number;
  before?: number;
  limit?: number;
}

export interface DotenvKeyEntry {
  environment: string;
  key: string;
}

export type HandoffAnswer = { status: "pending" } | LoginAnswer;

export type Fetch = (request: Request) => Promise<Response>;

export interface ApiClientOptions {
  /** The server's base URL, e.g. `https://vault.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** A session token, a `me_` credential or a service token. */
  token?: string;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Injected in tests (`app.handle`); the global fetch otherwise. */
  fetch?: Fetch;
}

const DEFAULT_TIMEOUT_MS = 30_000;

const enc = encodeURIComponent;

function query(params: Record<string, string | number | boolean | undefined>): string {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined);
  if (pairs.length === 0) return "";
  return `?${pairs.map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join("&")}`;
}

/** The base URL without a trailing slash; refuses what is not http(s). */
export function normalizeBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClientError("INVALID_REQUEST", `"${url.slice(0, 200)}" is not a URL`, {
      hint: "give the server's URL, like https://vault.example.com or http://127.0.0.1:8750",
    });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ClientError("INVALID_REQUEST", `"${url.slice(0, 200)}" is not an http(s) URL`, {
      hint: "give the server's URL, like https://vault.example.com",
    });
  }
  if (parsed.username || parsed.password) {
    throw new ClientError("INVALID_REQUEST", "the server URL must not carry a user name or password", {
      hint: "sign in with vault login instead",
    });
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

const UNTRUSTED_CERTIFICATE = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REJECTED",
  "INVALID_CA",
]);
const WRONG_HOST = new Set(["ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH"]);
const HANDSHAKE = /^(EPROTO|ERR_SSL_.*|ERR_TLS_.*)$/;

/**
 * Why a request got no answer, in words a person can act on: which part of
 * TLS failed (the certificate is not trusted, is for another host, has
 * expired; the handshake itself), else "cannot reach the server".
 */
export function networkFailure(
  base: string,
  error: { code?: string; message?: string },
): {
  message: string;
  hint: string;
} {
  const code = error.code ?? "";
  const host = (() => {
    try {
      return new URL(base).hostname;
    } catch {
      return base;
    }
  })();
  const ca = "NODE_EXTRA_CA_CERTS=/path/to/ca.pem (the PEM of the CA that signed it) before the command";
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    const self = code === "DEPTH_ZERO_SELF_SIGNED_CERT" || code === "SELF_SIGNED_CERT_IN_CHAIN";
    return {
      message: `the certificate of ${base} is not trusted here (${self ? "self-signed" : "signed by a CA this machine does not know"}: ${code})`,
      hint: `if it is your own CA's (or the server's self-signed one), trust it for the CLI: ${ca}`,
    };
  }
  if (WRONG_HOST.has(code)) {
    return {
      message: `the certificate of ${base} is not for ${host} (host name mismatch)`,
      hint: "use the host name the certificate names (the server's --public-url), or have the operator add this one to it",
    };
  }
  if (code === "CERT_HAS_EXPIRED") {
    return {
      message: `the certificate of ${base} has expired`,
      hint: "the server's operator renews it (then systemctl reload vault); check this machine's clock too",
    };
  }
  if (code === "CERT_NOT_YET_VALID") {
    return {
      message: `the certificate of ${base} is not valid yet`,
      hint: "check this machine's clock (date), or the certificate's start date",
    };
  }
  if (/^CERT_|_CERT$|CERT_/.test(code)) {
    return {
      message: `the certificate of ${base} was refused (${code})`,
      hint: `check the server's certificate; for your own CA: ${ca}`,
    };
  }
  if (HANDSHAKE.test(code)) {
    return {
      message: `the TLS handshake with ${base} failed (${code})`,
      hint: base.startsWith("https:")
        ? "does the server speak TLS on this port? if not, use http://; TLS 1.2 is the lowest version the CLI accepts"
        : "check the URL and the server's TLS settings",
    };
  }
  return {
    message: `cannot reach the server at ${base}`,
    hint: "check the URL (vault login URL, --server, VAULT_SERVER or DOTENV_API_URL in .env.vault) and that the server runs",
  };
}

export function createApiClient(options: ApiClientOptions) {
  const base = normalizeBaseUrl(options.baseUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch: Fetch = options.fetch ?? ((request) => fetch(request));

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    accept: (status: number) => boolean = (s) => s >= 200 && s < 300,
  ): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const request = new Request(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    const where = { method, path };
    let response: Response;
    try {
      response = await doFetch(request);
    } catch (error) {
      const e = error as { name?: string; message?: string; code?: string };
      if (e?.name === "TimeoutError" || e?.name === "AbortError") {
        throw new ClientError(
          "TIMEOUT",
          `the server at ${base} did not answer within ${timeoutMs / 1000} s`,
          {
            ...where,
            hint: "check the server and your network, then retry",
          },
        );
      }
      const { message, hint } = networkFailure(base, e ?? {});
      throw new ClientError("NETWORK", message, {
        ...where,
        hint,
        cause:
          (e?.code && !e.message?.startsWith(e.code)
            ? `${e.code}: ${e.message ?? ""}`
            : (e?.message ?? e?.code)
          )?.slice(0, 300) || undefined,
      });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      const e = error as { name?: string };
      const code = e?.name === "TimeoutError" || e?.name === "AbortError" ? "TIMEOUT" : "NETWORK";
      throw new ClientError(code, `the answer from ${base} was cut short`, {
        ...where,
        status: response.status,
      });
    }
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (accept(response.status)) {
      if (parsed === undefined || typeof parsed !== "object" || parsed === null) {
        throw new ClientError("BAD_RESPONSE", `the server at ${base} did not answer with the API's JSON`, {
          ...where,
          status: response.status,
          hint: "is this URL a vault server? (a proxy in between?)",
        });
      }
      return { status: response.status, body: parsed as T };
    }
    const err = (parsed as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | undefined)
      ?.error;
    const retry = Number(response.headers.get("retry-after"));
    if (err && typeof err.code === "string" && typeof err.message === "string") {
      throw new ClientError(err.code as ClientError["code"], err.message, {
        ...where,
        status: response.status,
        hint: typeof err.hint === "string" ? err.hint : undefined,
        retryAfterSeconds: Number.isFinite(retry) && retry > 0 ? retry : undefined,
      });
    }
    if (response.status >= 300 && response.status < 400) {
      throw new ClientError("BAD_RESPONSE", `the server at ${base} redirected (HTTP ${response.status})`, {
        ...where,
        status: response.status,
        hint: `use the URL it redirects to: ${response.headers.get("location")?.slice(0, 200) ?? "(none given)"}`,
      });
    }
    throw new ClientError(
      response.status >= 500 ? "INTERNAL" : "BAD_RESPONSE",
      `the server at ${base} answered HTTP ${response.status} without the API's error shape`,
      { ...where, status: response.status, hint: "is this URL a vault server? (a proxy in between?)" },
    );
  }

  const get = async <T>(path: string) => (await call<T>("GET", path)).body;
  const send = async <T>(method: string, path: string, body?: unknown) =>
    (await call<T>(method, path, body ?? {})).body;
  const project = (id: string) => `/api/v1/projects/${enc(id)}`;
  const envPath = (id: string, env: string) => `${project(id)}/environments/${enc(env)}`;

  return {
    baseUrl: base,

    /** Answers 200 when the app and its keeper are reachable. */
    ready: async () => (await call<{ status: string }>("GET", "/readyz", undefined, () => true)).body,

    auth: {
      login: (email: string, password: string) =>
        send<LoginAnswer>("POST", "/api/v1/auth/login", { email, password }),
      logout: () => send<{ ok: true }>("POST", "/api/v1/auth/logout"),
      changePassword: (currentPassword: string, newPassword: string) =>
        send<{ ok: true }>("POST", "/api/v1/auth/password", { currentPassword, newPassword }),
      me: () => get<Me>("/api/v1/me"),
      /**
       * Polls a browser sign-in: pending (202) until the request is approved, then a session. The
       * secret (and, in the first poll, the verification code) never leave this process except
       * in this body.
       */
      handoff: async (requestId: string, secret: string, code?: string): Promise<HandoffAnswer> =>
        (await call<HandoffAnswer>("POST", "/api/v1/auth/cli-handoff", { request: requestId, secret, code }))
          .body,
    },

    projects: {
      list: async () => (await get<{ projects: ProjectSummary[] }>("/api/v1/projects")).projects,
      create: (name: string) => send<Project>("POST", "/api/v1/projects", { name }),
      get: (id: string) => get<Project>(project(id)),
      /** With `parent`, a branch of that environment. */
      addEnvironment: (id: string, name: string, parent?: string) =>
        send<Project>("POST", `${project(id)}/environments`, parent ? { name, parent } : { name }),
      removeEnvironment: (id: string, name: string) =>
        send<Project>("DELETE", envPath(id, name), { confirm: name }),
    },

    secrets: {
      /** The file as written (references as they are); `resolve`: with them resolved and your overrides. */
      pullFile: (id: string, env: string, version?: number, options: { resolve?: boolean } = {}) =>
        get<PullDotenv & { personal?: string[] }>(
          `${envPath(id, env)}/secrets${query({ version, format: "dotenv", resolve: options.resolve ? "true" : undefined })}`,
        ),
      /** The values, resolved (with your personal overrides); `written`: also what differs as written. */
      pullValues: (id: string, env: string, version?: number, options: { written?: boolean } = {}) =>
        get<PullValues>(
          `${envPath(id, env)}/secrets${query({ version, format: "json", written: options.written ? "true" : undefined })}`,
        ),
      getKey: (id: string, env: string, key: string, version?: number, options: { written?: boolean } = {}) =>
        get<PullValues>(
          `${envPath(id, env)}/secrets${query({ version, format: "json", key, written: options.written ? "true" : undefined })}`,
        ),
      explain: (id: string, env: string, key: string, reveal = false) =>
        get<ExplainAnswer>(
          `${envPath(id, env)}/explain${query({ key, reveal: reveal ? "true" : undefined })}`,
        ),
      push: (id: string, env: string, body: { dotenv: string; baseVersion?: number; merge?: boolean }) =>
        send<ChangeAnswer>("PUT", `${envPath(id, env)}/secrets`, body),
      patch: (
        id: string,
        env: string,
        body: { set?: Record<string, string>; unset?: string[]; baseVersion?: number },
      ) => send<ChangeAnswer>("PATCH", `${envPath(id, env)}/secrets`, body),
      /** Sets and unsets keys as ONE new version; the server keeps the file's layout. */
      change: (
        id: string,
        env: string,
        changes: { set?: Record<string, string>; unset?: string[] },
        baseVersion?: number,
      ): Promise<ChangeAnswer> => {
        const set = changes.set ?? {};
        const unset = changes.unset ?? [];
        return send<ChangeAnswer>("PATCH", `${envPath(id, env)}/secrets`, {
          ...(Object.keys(set).length > 0 ? { set } : {}),
          ...(unset.length > 0 ? { unset } : {}),
          baseVersion,
        });
      },
      versions: (id: string, env: string, options: { limit?: number; before?: number } = {}) =>
        get<VersionsAnswer>(`${envPath(id, env)}/versions${query(options)}`),
      diff: (
        id: string,
        env: string,
        options: { from?: number; to?: number; other?: string; otherVersion?: number; reveal?: boolean },
      ) =>
        get<DiffAnswer>(
          `${envPath(id, env)}/diff${query({ ...options, reveal: options.reveal ? "true" : undefined })}`,
        ),
      rollback: (id: string, env: string, version: number, baseVersion?: number) =>
        send<ChangeAnswer & { rolledBackTo: number }>("POST", `${envPath(id, env)}/rollback`, {
          version,
          baseVersion,
        }),
    },

    /** Protected environments: a change to one becomes a change request. */
    protection: {
      list: async (id: string) =>
        (await get<{ protections: Protection[] }>(`${project(id)}/protections`)).protections,
      protect: (id: string, env: string, body: { approvers?: string[]; allowTokenBypass?: boolean }) =>
        send<Protection>("PUT", `${envPath(id, env)}/protection`, body),
      unprotect: (id: string, env: string) =>
        send<{ environment: string; wasProtected: boolean }>("DELETE", `${envPath(id, env)}/protection`),
    },

    /** Change requests of protected environments. */
    requests: {
      list: async (id: string, options: { env?: string; all?: boolean } = {}) =>
        (
          await get<{ requests: ChangeRequest[] }>(
            `${project(id)}/requests${query({ env: options.env, all: options.all ? "true" : undefined })}`,
          )
        ).requests,
      show: (id: string, n: number) => get<ChangeRequest>(`${project(id)}/requests/${n}`),
      reveal: (id: string, n: number) => send<RevealedRequest>("POST", `${project(id)}/requests/${n}/reveal`),
      approve: (id: string, n: number) =>
        send<{ number: number; environment: string; state: "applied"; version: number; summary: Summary }>(
          "POST",
          `${project(id)}/requests/${n}/approve`,
        ),
      reject: (id: string, n: number, reason?: string) =>
        send<{ number: number; environment: string; state: "rejected" }>(
          "POST",
          `${project(id)}/requests/${n}/reject`,
          reason ? { reason } : {},
        ),
      withdraw: (id: string, n: number) =>
        send<{ number: number; environment: string; state: "withdrawn" }>(
          "POST",
          `${project(id)}/requests/${n}/withdraw`,
        ),
      rebase: (id: string, n: number) =>
        send<{
          number: number;
          environment: string;
          baseVersion: number;
          rebased: boolean;
          summary?: Summary;
        }>("POST", `${project(id)}/requests/${n}/rebase`),
    },

    /** Your personal overrides: applied to your own resolved reads only. */
    overrides: {
      list: async (id: string) =>
        (
          await get<{ overrides: { environment: string; name: string; updatedAt: number }[] }>(
            `${project(id)}/overrides`,
          )
        ).overrides,
      change: (id: string, env: string, body: { set?: Record<string, string>; unset?: string[] }) =>
        send<OverridesAnswer>("PATCH", `${envPath(id, env)}/overrides`, body),
    },

    members: {
      list: async (id: string) => (await get<{ members: Member[] }>(`${project(id)}/members`)).members,
      add: async (
        id: string,
        body: { email: string; role?: "owner" | "member"; permissions?: Record<string, Permission> },
      ) => (await send<{ members: Member[] }>("POST", `${project(id)}/members`, body)).members,
      remove: async (id: string, userId: string) =>
        (await send<{ members: Member[] }>("DELETE", `${project(id)}/members/${enc(userId)}`)).members,
      grant: async (id: string, userId: string, permissions: Record<string, Permission>) =>
        (
          await send<{ members: Member[] }>("PUT", `${project(id)}/members/${enc(userId)}/permissions`, {
            permissions,
          })
        ).members,
    },

    tokens: {
      list: async (id: string) => (await get<{ tokens: ServiceToken[] }>(`${project(id)}/tokens`)).tokens,
      create: (
        id: string,
        body: { name: string; environments: string[]; write?: boolean; expiresInDays?: number },
      ) => send<CreatedToken>("POST", `${project(id)}/tokens`, body),
      revoke: (id: string, tokenId: string) =>
        send<{ ok: true }>("DELETE", `${project(id)}/tokens/${enc(tokenId)}`),
      createMe: (id: string) => send<{ id: string; token: string }>("POST", `${project(id)}/me`),
    },

    webhooks: {
      list: async (id: string) => (await get<{ webhooks: Webhook[] }>(`${project(id)}/webhooks`)).webhooks,
      create: (id: string, body: WebhookInput & { url: string }) =>
        send<{ webhook: Webhook; secret: string }>("POST", `${project(id)}/webhooks`, body),
      get: async (id: string, hook: string) =>
        (await get<{ webhook: Webhook }>(`${project(id)}/webhooks/${enc(hook)}`)).webhook,
      update: async (id: string, hook: string, body: WebhookInput) =>
        (await send<{ webhook: Webhook }>("PATCH", `${project(id)}/webhooks/${enc(hook)}`, body)).webhook,
      remove: (id: string, hook: string) =>
        send<{ ok: true }>("DELETE", `${project(id)}/webhooks/${enc(hook)}`),
      rotateSecret: (id: string, hook: string, keepPreviousHours?: number) =>
        send<{ webhook: Webhook; secret: string }>(
          "POST",
          `${project(id)}/webhooks/${enc(hook)}/rotate-secret`,
          keepPreviousHours === undefined ? undefined : { keepPreviousHours },
        ),
      ping: async (id: string, hook: string) =>
        (await send<{ delivery: WebhookDelivery }>("POST", `${project(id)}/webhooks/${enc(hook)}/ping`))
          .delivery,
      deliveries: async (id: string, hook: string, limit?: number) =>
        (
          await get<{ deliveries: WebhookDelivery[] }>(
            `${project(id)}/webhooks/${enc(hook)}/deliveries${query({ limit: limit === undefined ? undefined : String(limit) })}`,
          )
        ).deliveries,
      delivery: (id: string, hook: string, delivery: string) =>
        get<{ delivery: WebhookDelivery; attempts: WebhookAttempt[] }>(
          `${project(id)}/webhooks/${enc(hook)}/deliveries/${enc(delivery)}`,
        ),
      redeliver: async (id: string, hook: string, delivery: string) =>
        (
          await send<{ delivery: WebhookDelivery }>(
            "POST",
            `${project(id)}/webhooks/${enc(hook)}/deliveries/${enc(delivery)}/redeliver`,
          )
        ).delivery,
    },

    audit: {
      list: async (q: AuditQuery = {}) =>
        (await get<{ events: AuditEvent[] }>(`/api/v1/audit${query({ ...q })}`)).events,
      verify: () => get<AuditVerify>("/api/v1/audit/verify"),
    },

    envVault: {
      build: (id: string) => get<{ dotenvVault: string; environments?: string[] }>(`${project(id)}/vault`),
      keys: async (id: string, environment?: string) =>
        (await get<{ keys: DotenvKeyEntry[] }>(`${project(id)}/keys${query({ environment })}`)).keys,
      rotateKey: (id: string, env: string) =>
        send<{ environment?: string; key: string; previousKey: string }>(
          "POST",
          `${envPath(id, env)}/rotate-key`,
        ),
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
