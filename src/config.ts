/**
 * Configuration: command-line flags and VAULT_* environment variables, read
 * here and nowhere else, validated once and frozen. Flags win over the
 * environment; nothing secret has a default value (key files are generated on
 * first start, never defaulted to a constant).
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { EXIT, EXIT_CODE } from "./exit-codes";
import { type IpRange, IpRangeError, LOOPBACK_RANGES, parseIpRange } from "./ip-range";

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }

  readonly [EXIT_CODE] = EXIT.usage;
}

export type Role = "all" | "keeper" | "app";
export type Durability = "full" | "fast";
export type Endpoint = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };
export type KeeperAddress = { kind: "unix"; path: string } | { kind: "https"; host: string; port: number };

export interface Config {
  dataDir: string;
  role: Role;
  listen: Endpoint;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  tlsMin: "1.2" | "1.3";
  behindProxy: boolean;
  /**
   * Direct peers whose X-Forwarded-For is believed (only with behindProxy;
   * loopback by default). A unix-socket listener's peers count as trusted.
   */
  trustedProxies: readonly IpRange[];
  /** Let the same user ptrace the processes and read /proc/PID/mem (core files stay off either way). */
  debuggable: boolean;
  publicUrl: string;
  /** Where the app reaches the keeper. */
  keeper: KeeperAddress;
  /** Where a keeper listens: its unix socket, or TCP with mutual TLS 1.3. */
  keeperListen: Endpoint;
  keeperTlsCertFile: string | undefined;
  keeperTlsKeyFile: string | undefined;
  keeperTlsCaFile: string | undefined;
  rootKeyFile: string;
  appKeyFile: string;
  keeperTokenFile: string;
  appDb: string;
  vaultDb: string;
  appDbAuthTokenFile: string | undefined;
  vaultDbAuthTokenFile: string | undefined;
  rotateMinMs: number;
  rotateMaxMs: number;
  /** Seals allowed under one term before it is rotated (far below the GCM random-nonce limit of 2^32). */
  rotateCap: number;
  resealBatch: number;
  gcGraceMs: number;
  /** How long an opened version stays in the app's memory after its last use; 0 turns the cache off. */
  cacheTtlMs: number;
  /** Requests per second allowed from one client address (bursts of twice that); 0 turns the limit off. */
  rateLimitAddress: number;
  /** Requests per second allowed for one credential (bursts of twice that); 0 turns the limit off. */
  rateLimitCredential: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /**
   * How both databases sync their commits: "full" (synchronous=FULL, the default: an
   * acknowledged write survives a power cut) or "fast" (synchronous=NORMAL: it survives a
   * crash of the process, but the last commits before a power cut may roll back).
   */
  durability: Durability;
  logFormat: "json" | "pretty";
  /** How long a stopping app waits for in-flight requests before it closes them. */
  shutdownTimeoutMs: number;
  /** Single sign-on through an OpenID Connect provider; undefined when not configured. */
  oidc: OidcConfig | undefined;
  /** Whether email and password sign in (web page and API); off needs `oidc`. */
  passwordLogin: boolean;
  /** Webhook URLs may be plain http:// (default only https://). */
  webhooksAllowHttp: boolean;
  /** Non-public ranges webhooks may reach anyway (loopback, private, ... are refused by default). */
  webhooksAllowPrivate: readonly IpRange[];
  /** A failed delivery's first retry comes after about this long, then doubling (with jitter). */
  webhooksRetryBaseMs: number;
  /** One attempt at a delivery is cut after this long. */
  webhooksTimeoutMs: number;
}

/** `--oidc-*`: one OpenID Connect provider (see README, "SSO"). */
export interface OidcConfig {
  /** The issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Read at each sign-in (a replaced secret takes effect without a restart); never in the config itself. */
  clientSecretFile: string;
  /** Always holds `openid`. */
  scopes: readonly string[];
  /** Shown on the sign-in page: "Sign in with <name>". */
  name: string;
  /** Email domains that may sign in through the provider (lowercase); empty: any. */
  allowedDomains: readonly string[];
  /** The claim whose values map to the instance role (a name, or a dotted path such as realm_access.roles). */
  roleClaim: string | undefined;
  /** Values of `roleClaim` that make a user an instance admin; anyone else is a member. */
  adminValues: readonly string[];
  /** Just-in-time creation: a first sign-in with no matching user creates one. */
  jit: boolean;
  /** `<public URL>/signin/oidc/callback`, registered at the provider. */
  redirectUrl: string;
}

export type Flags = Record<string, string | boolean | undefined>;
export type Env = Record<string, string | undefined>;

/** Every flag the configuration knows, with its environment variable and help. */
export const CONFIG_FLAGS = {
  data: { env: "VAULT_DATA_DIR", help: "data directory (default ./vault-data)" },
  role: { env: "VAULT_ROLE", help: "all | keeper | app (default all: a supervisor running both)" },
  listen: { env: "VAULT_LISTEN", help: "public listener HOST:PORT or unix:PATH (default 127.0.0.1:8750)" },
  "tls-cert": { env: "VAULT_TLS_CERT", help: "PEM certificate file for HTTPS" },
  "tls-key": { env: "VAULT_TLS_KEY", help: "PEM private key file for HTTPS" },
  "tls-min": { env: "VAULT_TLS_MIN", help: "lowest TLS version accepted: 1.2 (default) or 1.3" },
  "behind-proxy": {
    env: "VAULT_BEHIND_PROXY",
    help: "allow plain HTTP on a non-loopback address (TLS ends at a proxy)",
    boolean: true,
  },
  "trusted-proxy": {
    env: "VAULT_TRUSTED_PROXY",
    help: "with --behind-proxy, peers whose X-Forwarded-For is believed: CIDR, repeatable or comma-separated (default loopback)",
    repeatable: true,
  },
  debuggable: {
    env: "VAULT_DEBUGGABLE",
    help: "let the same user attach a debugger and read /proc/PID/mem, maps, smaps (core files stay off)",
    boolean: true,
  },
  "public-url": {
    env: "VAULT_PUBLIC_URL",
    help: "this server's URL as clients see it (written into .env.vault)",
  },
  keeper: { env: "VAULT_KEEPER", help: "where the app reaches the keeper: unix:PATH or https://HOST:PORT" },
  "keeper-listen": {
    env: "VAULT_KEEPER_LISTEN",
    help: "where a keeper listens: unix:PATH or HOST:PORT (mutual TLS 1.3)",
  },
  "keeper-tls-cert": { env: "VAULT_KEEPER_TLS_CERT", help: "certificate for keeper mutual TLS" },
  "keeper-tls-key": { env: "VAULT_KEEPER_TLS_KEY", help: "private key for keeper mutual TLS" },
  "keeper-tls-ca": { env: "VAULT_KEEPER_TLS_CA", help: "CA that signs the other side of keeper mutual TLS" },
  "root-key-file": { env: "VAULT_ROOT_KEY_FILE", help: "root key file (default DATA/keeper/root.key)" },
  "app-key-file": { env: "VAULT_APP_KEY_FILE", help: "app key file (default DATA/app/app.key)" },
  "keeper-token-file": {
    env: "VAULT_KEEPER_TOKEN_FILE",
    help: "keeper token file (default DATA/app/keeper.token)",
  },
  "app-db": { env: "VAULT_APP_DB", help: "app database: a file path or a libsql:// / https:// URL" },
  "vault-db": { env: "VAULT_VAULT_DB", help: "vault database: a file path or a libsql:// / https:// URL" },
  "app-db-auth-token-file": {
    env: "VAULT_APP_DB_AUTH_TOKEN_FILE",
    help: "auth token file for a remote app database",
  },
  "vault-db-auth-token-file": {
    env: "VAULT_VAULT_DB_AUTH_TOKEN_FILE",
    help: "auth token file for a remote vault database",
  },
  "rotate-min": {
    env: "VAULT_ROTATE_MIN",
    help: "earliest data-key rotation after the last one (default 7d)",
  },
  "rotate-max": {
    env: "VAULT_ROTATE_MAX",
    help: "latest data-key rotation after the last one (default 30d)",
  },
  "rotate-cap": {
    env: "VAULT_ROTATE_CAP",
    help: "seals under one data key before it rotates (default 100000000)",
  },
  "reseal-batch": {
    env: "VAULT_RESEAL_BATCH",
    help: "values re-sealed per transaction after a rotation (default 500)",
  },
  "gc-grace": { env: "VAULT_GC_GRACE", help: "age before an unreferenced value is collected (default 1h)" },
  "cache-ttl": {
    env: "VAULT_CACHE_TTL",
    help: "keep recently read versions in the app's memory this long (default 60s; 0s = off)",
  },
  "rate-limit-address": {
    env: "VAULT_RATE_LIMIT_ADDRESS",
    help: "requests per second from one client address (default 200; 0 = off)",
  },
  "rate-limit-credential": {
    env: "VAULT_RATE_LIMIT_CREDENTIAL",
    help: "requests per second for one credential (default 100; 0 = off)",
  },
  durability: {
    env: "VAULT_DURABILITY",
    help: "full (default: every commit is synced) | fast (a power cut may lose the last commits)",
  },
  "log-level": { env: "VAULT_LOG_LEVEL", help: "debug | info | warn | error (default info)" },
  "log-format": {
    env: "VAULT_LOG_FORMAT",
    help: "json | pretty (default pretty on a terminal, json otherwise)",
  },
  "shutdown-timeout": {
    env: "VAULT_SHUTDOWN_TIMEOUT",
    help: "on SIGTERM, wait this long for in-flight requests before closing them (default 10s)",
  },
  "oidc-issuer": {
    env: "VAULT_OIDC_ISSUER",
    help: "single sign-on: the OpenID Connect issuer URL (https; discovery at /.well-known/openid-configuration)",
  },
  "oidc-client-id": { env: "VAULT_OIDC_CLIENT_ID", help: "the client id registered at the issuer" },
  "oidc-client-secret-file": {
    env: "VAULT_OIDC_CLIENT_SECRET_FILE",
    help: "file holding the client secret (read at each sign-in)",
  },
  "oidc-scopes": {
    env: "VAULT_OIDC_SCOPES",
    help: "scopes to ask for, space- or comma-separated (default openid email profile)",
  },
  "oidc-name": {
    env: "VAULT_OIDC_NAME",
    help: 'the provider\'s name on the sign-in page: "Sign in with NAME" (default SSO)',
  },
  "oidc-allowed-domains": {
    env: "VAULT_OIDC_ALLOWED_DOMAINS",
    help: "email domains that may sign in through SSO, comma-separated, or * for any (default any)",
  },
  "oidc-role-claim": {
    env: "VAULT_OIDC_ROLE_CLAIM",
    help: "claim whose values set the instance role at each SSO sign-in, e.g. groups or realm_access.roles",
  },
  "oidc-admin-values": {
    env: "VAULT_OIDC_ADMIN_VALUES",
    help: "values of --oidc-role-claim that make a user an instance admin, comma-separated",
  },
  "oidc-jit": {
    env: "VAULT_OIDC_JIT",
    help: "on | off: create a user at the first SSO sign-in when none has that email (default off; needs --oidc-allowed-domains)",
  },
  "password-login": {
    env: "VAULT_PASSWORD_LOGIN",
    help: "on | off: sign in with email and password (default on; off needs --oidc-issuer)",
  },
  "webhooks-allow-http": {
    env: "VAULT_WEBHOOKS_ALLOW_HTTP",
    help: "let webhook URLs be plain http:// (default https:// only)",
    boolean: true,
  },
  "webhooks-allow-private": {
    env: "VAULT_WEBHOOKS_ALLOW_PRIVATE",
    help: "ranges webhooks may reach although not public: CIDR, repeatable or comma-separated (default none)",
    repeatable: true,
  },
  "webhooks-retry-base": {
    env: "VAULT_WEBHOOKS_RETRY_BASE",
    help: "first retry of a failed webhook delivery after about this long, doubling to 1h, for 24h (default 10s)",
  },
  "webhooks-timeout": {
    env: "VAULT_WEBHOOKS_TIMEOUT",
    help: "cut one webhook delivery attempt after this long (default 10s)",
  },
} as const;

export type ConfigFlag = keyof typeof CONFIG_FLAGS;

/** Whether a configuration flag is a switch (no value), and whether it may be given more than once. */
export function configFlagKind(flag: ConfigFlag): { boolean: boolean; repeatable: boolean } {
  const spec = CONFIG_FLAGS[flag];
  return { boolean: "boolean" in spec && spec.boolean, repeatable: "repeatable" in spec && spec.repeatable };
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(flag: string, text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m)
    throw new ConfigError(
      `--${flag}: "${text}" is not a duration`,
      "use a number and a unit: 500ms, 30s, 15m, 12h, 7d",
    );
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(`--${flag}: "${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(`--${flag}: ${n} is outside ${min}..${max}`);
  return n;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function parseEndpoint(flag: string, text: string): Endpoint {
  if (text.startsWith("unix:")) {
    const path = text.slice(5);
    if (path.length === 0)
      throw new ConfigError(`--${flag}: "${text}" names no socket path`, "use unix:/path/to/socket");
    return { kind: "unix", path: resolve(path) };
  }
  const m = HOST_PORT.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port < 0 || port > 65535) {
    throw new ConfigError(
      `--${flag}: "${text}" is not HOST:PORT`,
      "for example 127.0.0.1:8750, 0.0.0.0:443 or unix:/run/vault.sock",
    );
  }
  return { kind: "tcp", host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function parseKeeperAddress(text: string): KeeperAddress {
  if (text.startsWith("unix:")) {
    const ep = parseEndpoint("keeper", text);
    return ep as KeeperAddress;
  }
  const m = /^https:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(text);
  if (!m) throw new ConfigError(`--keeper: "${text}" is not unix:PATH or https://HOST:PORT`);
  return { kind: "https", host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parseBool(flag: string, value: string | boolean): boolean {
  if (typeof value === "boolean") return value;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  throw new ConfigError(`--${flag}: "${value}" is not true or false`);
}

/**
 * Builds the frozen Config from parsed flags and the environment.
 * `cwd` resolves relative paths so that the result does not depend on a later chdir.
 */
export function loadConfig(flags: Flags, env: Env, cwd: string = process.cwd()): Readonly<Config> {
  const get = (flag: ConfigFlag): string | boolean | undefined => {
    const v = flags[flag];
    if (v !== undefined) return v;
    return env[CONFIG_FLAGS[flag].env];
  };
  const str = (flag: ConfigFlag): string | undefined => {
    const v = get(flag);
    if (v === undefined) return undefined;
    if (typeof v === "boolean") throw new ConfigError(`--${flag} needs a value`);
    return v;
  };
  const path = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const file = (flag: ConfigFlag, fallback?: string): string | undefined => {
    const v = str(flag);
    return v === undefined ? fallback : path(v);
  };

  const dataDir = path(str("data") ?? "vault-data");
  const roleText = str("role") ?? "all";
  if (roleText !== "all" && roleText !== "keeper" && roleText !== "app") {
    throw new ConfigError(`--role: "${roleText}" is not all, keeper or app`);
  }
  const role: Role = roleText;
  const listen = parseEndpoint("listen", str("listen") ?? "127.0.0.1:8750");
  const tlsCertFile = file("tls-cert");
  const tlsKeyFile = file("tls-key");
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new ConfigError(
      "--tls-cert and --tls-key go together",
      "give both files, or neither for plain HTTP on loopback",
    );
  }
  const tlsMinText = str("tls-min") ?? "1.2";
  if (tlsMinText === "1.0" || tlsMinText === "1.1") {
    throw new ConfigError(`--tls-min: TLS ${tlsMinText} is never accepted`, "use 1.2 (the default) or 1.3");
  }
  if (tlsMinText !== "1.2" && tlsMinText !== "1.3")
    throw new ConfigError(`--tls-min: "${tlsMinText}" is not 1.2 or 1.3`);
  const behindProxy = parseBool("behind-proxy", get("behind-proxy") ?? false);
  if (
    listen.kind === "tcp" &&
    !isLoopback(listen.host) &&
    tlsCertFile === undefined &&
    !behindProxy &&
    role !== "keeper"
  ) {
    throw new ConfigError(
      `--listen: refusing plain HTTP on ${listen.host}, which is not a loopback address`,
      "give --tls-cert and --tls-key, or --behind-proxy when a TLS proxy in front of vault terminates TLS",
    );
  }
  const trustedProxies = parseTrustedProxies(str("trusted-proxy"), behindProxy);
  const debuggable = parseBool("debuggable", get("debuggable") ?? false);
  const scheme = tlsCertFile ? "https" : "http";
  const defaultPublicUrl =
    listen.kind === "tcp"
      ? `${scheme}://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`
      : "http://localhost";
  const publicUrl = (str("public-url") ?? defaultPublicUrl).replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(publicUrl)) {
    throw new ConfigError(`--public-url: "${publicUrl}" is not an http(s) URL`);
  }

  const socketPath = join(dataDir, "keeper", "keeper.sock");
  const keeperText = str("keeper");
  const keeper: KeeperAddress = keeperText
    ? parseKeeperAddress(keeperText)
    : { kind: "unix", path: socketPath };
  const keeperListenText = str("keeper-listen");
  const keeperListen: Endpoint = keeperListenText
    ? parseEndpoint("keeper-listen", keeperListenText)
    : { kind: "unix", path: socketPath };
  const keeperTlsCertFile = file("keeper-tls-cert");
  const keeperTlsKeyFile = file("keeper-tls-key");
  const keeperTlsCaFile = file("keeper-tls-ca");
  const needsMutualTls =
    (role === "keeper" && keeperListen.kind === "tcp") || (role === "app" && keeper.kind === "https");
  if (needsMutualTls && (!keeperTlsCertFile || !keeperTlsKeyFile || !keeperTlsCaFile)) {
    throw new ConfigError(
      "a keeper over TCP needs mutual TLS 1.3",
      "give --keeper-tls-cert, --keeper-tls-key and --keeper-tls-ca on both the keeper and the app",
    );
  }
  if (role === "all" && (keeperText || keeperListenText)) {
    throw new ConfigError(
      "--keeper and --keeper-listen are for split hosts",
      "use them with --role keeper or --role app",
    );
  }

  const rotateMinMs = parseDuration("rotate-min", str("rotate-min") ?? "7d");
  const rotateMaxMs = parseDuration("rotate-max", str("rotate-max") ?? "30d");
  if (rotateMinMs < 60_000) throw new ConfigError("--rotate-min: must be at least 1m");
  if (rotateMaxMs <= rotateMinMs) {
    throw new ConfigError(
      "--rotate-max must be later than --rotate-min",
      "for example --rotate-min 7d --rotate-max 30d",
    );
  }
  const rotateCap = parseInteger("rotate-cap", str("rotate-cap") ?? "100000000", 1, 2 ** 31);
  const resealBatch = parseInteger("reseal-batch", str("reseal-batch") ?? "500", 1, 100_000);
  const gcGraceMs = parseDuration("gc-grace", str("gc-grace") ?? "1h");
  const cacheTtlText = str("cache-ttl") ?? "60s";
  const cacheTtlMs = cacheTtlText === "0" ? 0 : parseDuration("cache-ttl", cacheTtlText);
  const rateLimitAddress = parseInteger(
    "rate-limit-address",
    str("rate-limit-address") ?? "200",
    0,
    10_000_000,
  );
  const rateLimitCredential = parseInteger(
    "rate-limit-credential",
    str("rate-limit-credential") ?? "100",
    0,
    10_000_000,
  );

  const durability = str("durability") ?? "full";
  if (durability !== "full" && durability !== "fast") {
    throw new ConfigError(
      `--durability: "${durability}" is not full or fast`,
      "full syncs every commit (the default); fast may lose the last commits on a power cut",
    );
  }

  const logLevel = str("log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError(`--log-level: "${logLevel}" is not debug, info, warn or error`);
  }
  const logFormat = str("log-format") ?? (process.stderr.isTTY ? "pretty" : "json");
  if (logFormat !== "json" && logFormat !== "pretty")
    throw new ConfigError(`--log-format: "${logFormat}" is not json or pretty`);

  const shutdownTimeoutMs = parseDuration("shutdown-timeout", str("shutdown-timeout") ?? "10s");
  if (shutdownTimeoutMs > 600_000) throw new ConfigError("--shutdown-timeout: at most 10m");

  const oidc = parseOidc(str, file, publicUrl);
  const passwordLogin = parseBool("password-login", get("password-login") ?? true);
  if (!passwordLogin && !oidc) {
    throw new ConfigError(
      "--password-login off needs single sign-on: without it nobody could sign in",
      "give --oidc-issuer, --oidc-client-id and --oidc-client-secret-file, or leave password sign-in on",
    );
  }

  const webhooksAllowHttp = parseBool("webhooks-allow-http", get("webhooks-allow-http") ?? false);
  const webhooksAllowPrivate = parseRanges("webhooks-allow-private", str("webhooks-allow-private")) ?? [];
  const webhooksRetryBaseMs = parseDuration("webhooks-retry-base", str("webhooks-retry-base") ?? "10s");
  if (webhooksRetryBaseMs < 10 || webhooksRetryBaseMs > 3_600_000)
    throw new ConfigError("--webhooks-retry-base: from 10ms to 1h");
  const webhooksTimeoutMs = parseDuration("webhooks-timeout", str("webhooks-timeout") ?? "10s");
  if (webhooksTimeoutMs < 100 || webhooksTimeoutMs > 60_000)
    throw new ConfigError("--webhooks-timeout: from 100ms to 60s");

  const config: Config = {
    dataDir,
    role,
    listen,
    tlsCertFile,
    tlsKeyFile,
    tlsMin: tlsMinText,
    behindProxy,
    trustedProxies,
    debuggable,
    publicUrl,
    keeper,
    keeperListen,
    keeperTlsCertFile,
    keeperTlsKeyFile,
    keeperTlsCaFile,
    rootKeyFile: file("root-key-file", join(dataDir, "keeper", "root.key"))!,
    appKeyFile: file("app-key-file", join(dataDir, "app", "app.key"))!,
    keeperTokenFile: file("keeper-token-file", join(dataDir, "app", "keeper.token"))!,
    appDb: remoteOrPath(str("app-db"), path) ?? join(dataDir, "app", "app.db"),
    vaultDb: remoteOrPath(str("vault-db"), path) ?? join(dataDir, "keeper", "vault.db"),
    appDbAuthTokenFile: file("app-db-auth-token-file"),
    vaultDbAuthTokenFile: file("vault-db-auth-token-file"),
    rotateMinMs,
    rotateMaxMs,
    rotateCap,
    resealBatch,
    gcGraceMs,
    cacheTtlMs,
    rateLimitAddress,
    rateLimitCredential,
    logLevel: logLevel as Config["logLevel"],
    durability,
    logFormat,
    shutdownTimeoutMs,
    oidc,
    passwordLogin,
    webhooksAllowHttp,
    webhooksAllowPrivate,
    webhooksRetryBaseMs,
    webhooksTimeoutMs,
  };
  return Object.freeze(config);
}

const OIDC_FLAGS = [
  "oidc-client-id",
  "oidc-client-secret-file",
  "oidc-scopes",
  "oidc-name",
  "oidc-allowed-domains",
  "oidc-role-claim",
  "oidc-admin-values",
  "oidc-jit",
] as const;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/;
const CLAIM = /^[A-Za-z0-9_:/.#-]{1,200}$/;

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** `--oidc-*`, checked together: every rule that makes a provider unusable is refused here, at start. */
function parseOidc(
  str: (flag: ConfigFlag) => string | undefined,
  file: (flag: ConfigFlag) => string | undefined,
  publicUrl: string,
): OidcConfig | undefined {
  const issuerText = str("oidc-issuer");
  if (issuerText === undefined) {
    const stray = OIDC_FLAGS.find((flag) => str(flag) !== undefined);
    if (stray) throw new ConfigError(`--${stray} needs --oidc-issuer`, "see the README, section SSO");
    return undefined;
  }
  let issuer: URL;
  try {
    issuer = new URL(issuerText);
  } catch {
    throw new ConfigError(
      `--oidc-issuer: "${issuerText}" is not a URL`,
      "for example https://accounts.google.com",
    );
  }
  if (
    issuer.protocol !== "https:" &&
    !(issuer.protocol === "http:" && isLoopback(issuer.hostname.replace(/^\[|\]$/g, "")))
  ) {
    throw new ConfigError(
      `--oidc-issuer: "${issuerText}" is not an https:// URL`,
      "the issuer must use https (plain http only on a loopback address, for testing)",
    );
  }
  if (issuer.search || issuer.hash || issuer.username || issuer.password) {
    throw new ConfigError(
      `--oidc-issuer: "${issuerText}" has a query, fragment or credentials`,
      "give the issuer identifier exactly as the provider publishes it",
    );
  }
  const clientId = str("oidc-client-id");
  if (!clientId)
    throw new ConfigError("--oidc-issuer needs --oidc-client-id", "the client id registered at the issuer");
  if (clientId.length > 500 || /[\x00-\x1f\x7f]/.test(clientId))
    throw new ConfigError("--oidc-client-id: too long or holds control characters");
  const clientSecretFile = file("oidc-client-secret-file");
  if (!clientSecretFile) {
    throw new ConfigError(
      "--oidc-issuer needs --oidc-client-secret-file",
      "put the client secret in a file readable only by vault (never on the command line)",
    );
  }
  readClientSecret(clientSecretFile);

  const scopes = list(str("oidc-scopes") ?? "openid email profile");
  const badScope = scopes.find((scope) => !SCOPE.test(scope));
  if (badScope !== undefined) throw new ConfigError(`--oidc-scopes: "${badScope}" is not a scope`);
  if (!scopes.includes("openid"))
    throw new ConfigError("--oidc-scopes must include openid", "for example: openid email profile");

  const name = (str("oidc-name") ?? "SSO").trim();
  if (name.length === 0 || name.length > 60 || /[\x00-\x1f\x7f]/.test(name))
    throw new ConfigError("--oidc-name: give 1 to 60 printable characters", "for example --oidc-name Okta");

  const domainsText = str("oidc-allowed-domains");
  const domains = domainsText === undefined ? [] : list(domainsText.toLowerCase());
  if (domainsText !== undefined && domains.length === 0)
    throw new ConfigError(
      "--oidc-allowed-domains names no domain",
      "for example example.com,example.org, or * for any",
    );
  const anyDomain = domains.length === 1 && domains[0] === "*";
  const badDomain = anyDomain ? undefined : domains.find((domain) => !DOMAIN.test(domain));
  if (badDomain !== undefined)
    throw new ConfigError(
      `--oidc-allowed-domains: "${badDomain}" is not a domain`,
      "for example example.com, or * alone for any",
    );

  const jit = parseBool("oidc-jit", str("oidc-jit") ?? false);
  if (jit && domainsText === undefined) {
    throw new ConfigError(
      "--oidc-jit on needs --oidc-allowed-domains",
      "name the domains whose people may get an account by signing in (or * for anyone the provider signs in)",
    );
  }

  const roleClaim = str("oidc-role-claim");
  const adminText = str("oidc-admin-values");
  if ((roleClaim === undefined) !== (adminText === undefined)) {
    throw new ConfigError(
      "--oidc-role-claim and --oidc-admin-values go together",
      "for example --oidc-role-claim groups --oidc-admin-values vault-admins",
    );
  }
  if (roleClaim !== undefined && !CLAIM.test(roleClaim))
    throw new ConfigError(`--oidc-role-claim: "${roleClaim}" is not a claim name`);
  const adminValues =
    adminText === undefined
      ? []
      : adminText
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v.length > 0);
  if (adminText !== undefined && adminValues.length === 0)
    throw new ConfigError("--oidc-admin-values names no value", "for example vault-admins");

  return Object.freeze({
    issuer: issuerText,
    clientId,
    clientSecretFile,
    scopes: Object.freeze(scopes),
    name,
    allowedDomains: Object.freeze(anyDomain ? [] : domains),
    roleClaim,
    adminValues: Object.freeze(adminValues),
    jit,
    redirectUrl: `${publicUrl}/signin/oidc/callback`,
  });
}

/** The client secret from its file (trimmed); a clear error when it cannot be read or is empty. */
export function readClientSecret(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `--oidc-client-secret-file: cannot read ${path}${code ? ` (${code})` : ""}`,
      "check the path and that the user running vault can read it",
    );
  }
  const secret = text.trim();
  if (secret.length === 0) throw new ConfigError(`--oidc-client-secret-file: ${path} is empty`);
  if (/[\r\n]/.test(secret))
    throw new ConfigError(
      `--oidc-client-secret-file: ${path} holds more than one line`,
      "put the secret alone in the file",
    );
  return secret;
}

/** `--trusted-proxy`: comma- or space-separated ranges; loopback when behind a proxy and none given. */
function parseTrustedProxies(text: string | undefined, behindProxy: boolean): readonly IpRange[] {
  if (text === undefined) return behindProxy ? LOOPBACK_RANGES : [];
  if (!behindProxy) {
    throw new ConfigError(
      "--trusted-proxy is for a server behind a proxy",
      "add --behind-proxy, or leave out --trusted-proxy",
    );
  }
  const items = text.split(/[\s,]+/).filter((item) => item.length > 0);
  if (items.length === 0)
    throw new ConfigError("--trusted-proxy names no address", "for example 10.0.0.0/8,fd00::/8");
  return Object.freeze(
    items.map((item) => {
      try {
        return parseIpRange(item);
      } catch (error) {
        if (!(error instanceof IpRangeError)) throw error;
        throw new ConfigError(
          `--trusted-proxy: ${error.message}`,
          error.hint ?? "give IPv4 or IPv6 addresses or CIDR ranges: 10.0.0.0/8, 192.168.1.5, fd00::/8",
        );
      }
    }),
  );
}

/** A list of CIDR ranges (comma- or space-separated), or undefined when the flag is not given. */
function parseRanges(flag: string, text: string | undefined): readonly IpRange[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(/[\s,]+/).filter((item) => item.length > 0);
  if (items.length === 0)
    throw new ConfigError(`--${flag} names no range`, "for example 10.0.0.0/8,fd00::/8");
  return Object.freeze(
    items.map((item) => {
      try {
        return parseIpRange(item);
      } catch (error) {
        if (!(error instanceof IpRangeError)) throw error;
        throw new ConfigError(
          `--${flag}: ${error.message}`,
          error.hint ?? "give IPv4 or IPv6 addresses or CIDR ranges: 10.0.0.0/8, 192.168.1.5, fd00::/8",
        );
      }
    }),
  );
}

function remoteOrPath(value: string | undefined, path: (p: string) => string): string | undefined {
  if (value === undefined) return undefined;
  if (/^(libsql|https?):\/\//.test(value)) return value;
  if (/^[a-z]+:\/\//i.test(value))
    throw new ConfigError(`"${value}" is not a file path or a libsql://, https:// or http:// URL`);
  return path(value);
}
