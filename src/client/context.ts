/**
 * What every client command resolves first, in one place:
 *
 * - the server URL: `--server`, then `VAULT_SERVER`, then `DOTENV_API_URL` in
 *   `.env.vault`, then the server `vault login` signed in to last;
 * - the credential: `VAULT_TOKEN` (a service token, for CI), then `DOTENV_ME`
 *   or `.env.me` (a `me_` credential for the linked project), then the
 *   session `vault login` stored for that server (never sent elsewhere);
 * - whether the credential may go to that server. A checkout's `.env.vault`
 *   may come from anyone who can commit to the repository, so a server named
 *   only by its `DOTENV_API_URL` gets a credential from VAULT_TOKEN,
 *   DOTENV_ME or `.env.me` only when the config directory binds that
 *   credential to it (`vault trust`, a yes at the prompt on a terminal, or
 *   `vault tokens create` there). A server chosen by the user (`--server`,
 *   `VAULT_SERVER`, the last `vault login`) gets it as before;
 * - the project: `--project`, then `DOTENV_VAULT` in `.env.vault`, then the
 *   project a service token or `me_` credential is bound to.
 *
 * And the one way a client command fails: `vault: error:` / `vault: hint:`
 * lines (plus `vault: detail:` lines with --verbose, never a secret) and an
 * exit code from src/exit-codes.ts.
 */
import { createHash } from "node:crypto";
import type { CommandContext } from "../cli-kit";
import { CliError, type Io, printError } from "../cli-kit";
import { DotenvError } from "../dotenv";
import { EXIT, exitCodeOf } from "../exit-codes";
import { type ApiClient, createApiClient, normalizeBaseUrl } from "./api";
import { CacheError } from "./cache";
import { ClientError } from "./errors";
import { ExportError } from "./formats";
import { type Link, readLink, readMeFile } from "./link";
import { clean, nameList, note } from "./output";
import { confirmSync, isInteractive } from "./prompt";
import { checkProjectId, RefError } from "./refs";
import { configDirOf, createStore, type Store, StoreError } from "./store";

export type CredentialSource = "VAULT_TOKEN" | "DOTENV_ME" | ".env.me" | "session";

/** Where the server URL came from: the user's choice, or a checkout's `.env.vault`. */
export type ServerSource = "--server" | "VAULT_SERVER" | "link" | "login";

/** What a bearer credential looks like (src/server/auth/credentials.ts): anything else is refused here. */
const CREDENTIAL_SHAPE = /^(vss_|me_|vst_)[0-9a-f]{64}$/;

const MALFORMED_HINTS: Record<Exclude<CredentialSource, "session">, string> = {
  VAULT_TOKEN: "a service token is vst_ and 64 hex characters, as vault tokens create prints it",
  DOTENV_ME: "a me_ credential is me_ and 64 hex characters",
  ".env.me": "remove .env.me, or replace it with DOTENV_ME=me_... (64 hex characters)",
};

/** "the service token in VAULT_TOKEN", for messages. */
export function credentialLabel(credential: Pick<Credential, "source" | "token">): string {
  const kind = credential.token.startsWith("vst_")
    ? "service token"
    : credential.token.startsWith("me_")
      ? "me_ credential"
      : "session token";
  return credential.source === "session" ? "your session" : `the ${kind} in ${credential.source}`;
}

export interface Credential {
  token: string;
  source: CredentialSource;
  /** The signed-in email, for sessions. */
  email?: string;
}

export interface Client {
  io: Io;
  cwd: string;
  flags: CommandContext["flags"];
  positionals: string[];
  rest: string[];
  store: Store;
  link: Link;
  verbose: boolean;
  json: boolean;
  /** The server URL, or a usage error saying how to give one. */
  server(): string;
  /** Where the server URL came from (resolves it). */
  serverSource(): ServerSource;
  /** The credential for the server, or an auth error saying how to get one. */
  credential(): Credential;
  /** An API client for the server, with the credential unless `anonymous`. */
  api(options?: { anonymous?: boolean }): ApiClient;
  /** The project the command is about. */
  projectId(): Promise<string>;
  /** A short stable fingerprint of the credential (never the credential itself). */
  fingerprint(): string;
  /** Where the credential came from, once resolved. */
  credentialSource(): CredentialSource | undefined;
  /**
   * Set by a command that fell back on the default environment: a refusal
   * then names the environments the credential can read, as `example(env)`.
   */
  defaultEnv?: { env: string; need: "read" | "write"; example: (env: string) => string };
  detail(text: string): void;
}

export function flagString(ctx: { flags: CommandContext["flags"] }, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === "string" ? v : undefined;
}

export function createClient(ctx: CommandContext): Client {
  const io = ctx.io;
  const cwd = io.cwd ?? process.cwd();
  const store = createStore(configDirOf(io.env));
  const link = readLink(cwd);
  const verbose = ctx.flags.verbose === true;
  let server: string | undefined;
  let serverFrom: ServerSource | undefined;
  let credential: Credential | undefined;
  let cleared = false;
  let project: string | undefined;

  const client: Client = {
    io,
    cwd,
    flags: ctx.flags,
    positionals: ctx.positionals,
    rest: ctx.rest,
    store,
    link,
    verbose,
    json: ctx.flags.json === true,
    detail(text) {
      if (verbose) io.stderr.write(`vault: detail: ${clean(text)}\n`);
    },
    server() {
      if (server) return server;
      const given: [string | undefined, string, ServerSource][] = [
        [flagString(ctx, "server"), "--server", "--server"],
        [io.env.VAULT_SERVER, "VAULT_SERVER", "VAULT_SERVER"],
        [link.apiUrl, `DOTENV_API_URL in ${link.path}`, "link"],
        [store.currentServer(), "the last vault login", "login"],
      ];
      const found = given.find(([v]) => v !== undefined && v !== "");
      if (!found) {
        throw new CliError("which server? none is configured here", EXIT.usage, [
          "sign in: vault login https://vault.example.com",
          "or pass --server URL, set VAULT_SERVER, or link a project: vault link vlt_...",
        ]);
      }
      server = normalizeBaseUrl(found[0]!);
      serverFrom = found[2];
      client.detail(`server ${server} (from ${found[1]})`);
      return server;
    },
    serverSource() {
      client.server();
      return serverFrom!;
    },
    credential() {
      if (credential) return credential;
      const env = io.env;
      if (env.VAULT_TOKEN) credential = { token: env.VAULT_TOKEN.trim(), source: "VAULT_TOKEN" };
      else if (env.DOTENV_ME) credential = { token: env.DOTENV_ME.trim(), source: "DOTENV_ME" };
      else {
        const me = readMeFile(cwd);
        if (me) credential = { token: me, source: ".env.me" };
        else {
          const url = client.server();
          const session = store.session(url);
          if (!session) {
            throw new CliError(`not signed in to ${url}`, EXIT.auth, [
              `sign in: vault login ${url}`,
              "in CI, set VAULT_TOKEN to a service token (vault tokens create)",
            ]);
          }
          if (session.expiresAt <= Date.now()) {
            throw new CliError(`your session on ${url} expired`, EXIT.auth, [
              `sign in again: vault login ${url}`,
            ]);
          }
          credential = { token: session.token, source: "session", email: session.email };
        }
      }
      if (credential.source !== "session" && !CREDENTIAL_SHAPE.test(credential.token)) {
        const source = credential.source;
        credential = undefined;
        throw new CliError(`${source} does not hold a vault credential`, EXIT.auth, [
          MALFORMED_HINTS[source],
        ]);
      }
      client.detail(`credential from ${credential.source}`);
      return credential;
    },
    api(options = {}) {
      const baseUrl = client.server();
      if (options.anonymous) return createApiClient({ baseUrl, timeoutMs: timeoutOf(io.env) });
      const cred = client.credential();
      if (!cleared) {
        checkDestination(client, cred, baseUrl);
        cleared = true;
      }
      return createApiClient({ baseUrl, token: cred.token, timeoutMs: timeoutOf(io.env) });
    },
    credentialSource: () => credential?.source,
    fingerprint() {
      return createHash("sha256").update(client.credential().token).digest("hex").slice(0, 16);
    },
    async projectId() {
      if (project) return project;
      const flag = flagString(ctx, "project");
      if (flag) project = checkProjectId(flag);
      else if (link.projectId) project = checkProjectId(link.projectId);
      else {
        const cred = client.credential();
        if (cred.source === "session") {
          throw new CliError("no project is linked here", EXIT.usage, [
            "link this directory: vault link vlt_... (see vault projects), or create one: vault new",
            "or pass --project vlt_...",
          ]);
        }
        const me = await client.api().auth.me();
        if (!me.projectId) throw new CliError("this credential is bound to no project", EXIT.usage);
        project = me.projectId;
      }
      client.detail(`project ${project}`);
      return project;
    },
  };
  return client;
}

/**
 * Refuses (or, on a terminal, asks) before a credential goes to a server
 * that only a checkout's `.env.vault` names and that the config directory
 * does not bind it to. A yes binds it, so the question comes once.
 */
function checkDestination(client: Client, credential: Credential, url: string): void {
  if (credential.source === "session") return; // looked up by the server's URL: bound already
  if (client.serverSource() !== "link") return; // chosen by the user
  if (client.store.boundServer(credential.token) === url) return;
  const what = credentialLabel(credential);
  const where = `DOTENV_API_URL in ${client.link.path}`;
  const hints = [
    `if ${url} is the server it is for: vault trust ${url} (remembered in ${client.store.dir})`,
    "or name the server yourself: --server URL, or VAULT_SERVER=URL",
  ];
  if (isInteractive(client.io)) {
    note(client.io, `only ${where} names ${url}, and ${what} has not been used with it from here`);
    if (confirmSync(client.io, `Send ${what} to ${url}, now and from now on? [y/N] `)) {
      client.store.bind(credential.token, url);
      return;
    }
    throw new CliError(`not confirmed: ${what} was not sent`, EXIT.auth, hints);
  }
  throw new CliError(
    `refusing to send ${what} to ${url}: only ${where} names that server, and the credential is not bound to it`,
    EXIT.auth,
    hints,
  );
}

function timeoutOf(env: Record<string, string | undefined>): number | undefined {
  const text = env.VAULT_TIMEOUT;
  if (!text) return undefined;
  const m = /^(\d+)(ms|s)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === "ms" ? 1 : 1000);
}

const UNAUTHENTICATED_HINTS: Record<CredentialSource, string[]> = {
  VAULT_TOKEN: [
    "the token in VAULT_TOKEN is unknown, expired or revoked",
    "ask a project owner for a new one: vault tokens create NAME --env ENV",
  ],
  DOTENV_ME: [
    "the me_ credential in DOTENV_ME is unknown or revoked; get a new one from the project's owner",
  ],
  ".env.me": ["the me_ credential in .env.me is unknown or revoked; remove the file, or replace it"],
  session: ["your session expired or was revoked: vault login"],
};

/** A ClientError (or another known failure) as the CLI's error lines. */
export function toCliError(error: unknown, source?: CredentialSource): { cli: CliError; details: string[] } {
  if (error instanceof CliError) return { cli: error, details: [] };
  if (error instanceof ClientError) {
    const details = [
      `${error.details.method ?? ""} ${error.details.path ?? ""}`.trim(),
      error.status !== undefined ? `HTTP ${error.status} ${error.code}` : error.code,
      ...(error.details.cause ? [`cause: ${error.details.cause}`] : []),
    ].filter((d) => d !== "");
    let hints = error.hint ? [error.hint] : [];
    if (error.code === "UNAUTHENTICATED" && source) hints = UNAUTHENTICATED_HINTS[source];
    if (error.code === "RATE_LIMITED" && error.details.retryAfterSeconds) {
      hints = [`retry in ${error.details.retryAfterSeconds} s`];
    }
    return { cli: new CliError(error.message, exitCodeOf(error)!, hints), details };
  }
  if (error instanceof CacheError) {
    return {
      cli: new CliError(error.message, exitCodeOf(error)!, [
        "remove the config directory's cache/ and cache.key to start over",
      ]),
      details: [],
    };
  }
  if (error instanceof RefError || error instanceof ExportError || error instanceof StoreError) {
    return {
      cli: new CliError(error.message, exitCodeOf(error)!, error.hint ? [error.hint] : []),
      details: [],
    };
  }
  if (error instanceof DotenvError) {
    return { cli: new CliError(error.message, exitCodeOf(error)!), details: [] };
  }
  const e = error as { code?: string; message?: string; path?: string };
  if (e && typeof e.code === "string" && /^E[A-Z]+$/.test(e.code)) {
    // A file system error: its code and path, which hold no secret.
    return {
      cli: new CliError(`${e.code}: ${e.path ?? "a local file"}`, EXIT.failure, []),
      details: [String(e.message ?? "").slice(0, 300)],
    };
  }
  throw error;
}

/**
 * After a refusal on the default environment (a CI token without --env):
 * which environments the credential can read, and the command with one.
 */
async function readableHints(client: Client, fallback: NonNullable<Client["defaultEnv"]>): Promise<string[]> {
  try {
    const project = await client.api().projects.get(await client.projectId());
    const usable = project.environments
      .filter((e) => (fallback.need === "write" ? e.permission === "write" : e.permission !== "none"))
      .map((e) => e.name)
      .filter((name) => name !== fallback.env);
    if (usable.length === 0) return [];
    const pick = usable.includes("ci") ? "ci" : usable[0]!;
    const verb = fallback.need === "write" ? "writes" : "reads";
    const who =
      client.credentialSource() === "VAULT_TOKEN" ? `this token ${verb}` : `you can ${verb.slice(0, -1)}`;
    return [`${fallback.env} is the default; ${who} ${nameList(usable)}: ${fallback.example(pick)}`];
  } catch {
    return []; // A courtesy: the refusal stands without it.
  }
}

/** Runs a client command: resolves nothing up front, and turns every known failure into error lines. */
export async function runClient(
  ctx: CommandContext,
  work: (client: Client) => Promise<number>,
): Promise<number> {
  let client: Client | undefined;
  try {
    client = createClient(ctx);
    return await work(client);
  } catch (error) {
    const { cli, details } = toCliError(error, client?.credentialSource());
    if (client?.defaultEnv && error instanceof ClientError && error.code === "FORBIDDEN") {
      cli.hints.unshift(...(await readableHints(client, client.defaultEnv)));
    }
    printError(ctx.io, cli);
    if (ctx.flags.verbose === true)
      for (const d of details) ctx.io.stderr.write(`vault: detail: ${clean(d)}\n`);
    return cli.exitCode;
  }
}
