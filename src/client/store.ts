/**
 * The CLI's own files, under the config directory (`VAULT_CONFIG_DIR`, else
 * `$XDG_CONFIG_HOME/vault`, else `~/.config/vault`; 0700):
 *
 *   sessions.json  signed-in sessions, one per server URL (token, email, expiry); 0600
 *   state.json     the version last pulled or pushed per server, project, environment and
 *                  checkout directory (two checkouts on one machine are two bases); 0600
 *   trust.json     the server each credential from VAULT_TOKEN, DOTENV_ME or .env.me is bound to,
 *                  by the credential's fingerprint (a labelled SHA-256, never the credential); 0600
 *   cache.key      the key of the offline copies (32 random bytes, hex); 0600
 *   cache/         offline copies of the last pull per environment (AES-256-GCM); 0600
 *
 * A session is only ever sent to the server that issued it: it is looked up
 * by that server's URL. Another credential is sent to a server named only by
 * a checkout's `.env.vault` only when trust.json binds it to that server.
 */

import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { EXIT, EXIT_CODE } from "../exit-codes";
import { ensurePrivateDir, writeFileAtomic } from "./files";

export class StoreError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "StoreError";
  }

  readonly [EXIT_CODE] = EXIT.failure;
}

export function configDirOf(env: Record<string, string | undefined>): string {
  if (env.VAULT_CONFIG_DIR) return env.VAULT_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "vault");
  return join(env.HOME || homedir(), ".config", "vault");
}

export interface Session {
  token: string;
  email: string;
  userId: string;
  expiresAt: number;
}

interface SessionsFile {
  /** The server `vault login` signed in to last: the default when nothing else names one. */
  current?: string;
  sessions: Record<string, Session>;
}

interface StateFile {
  /** `server project env checkout` -> the version last pulled or pushed there. */
  versions: Record<string, number>;
  /** A credential's fingerprint -> its project, so that an offline run knows which copy to use. */
  projects: Record<string, string>;
}

interface TrustFile {
  /** A credential's fingerprint -> the server it may be sent to, and since when. */
  credentials: Record<string, { server: string; since: number }>;
}

/** What trust.json knows a credential by: a labelled SHA-256 of it, never the credential itself. */
export function credentialFingerprint(token: string): string {
  return createHash("sha256").update(`vault/v1/cli-credential-binding\n${token}`, "utf8").digest("hex");
}

function readPrivateJson<T>(path: string, empty: T): T {
  if (!existsSync(path)) return empty;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new StoreError(
      `${path} is readable by others (mode ${mode.toString(8).padStart(4, "0")})`,
      `run: chmod 600 ${path}`,
    );
  }
  try {
    return { ...empty, ...(JSON.parse(readFileSync(path, "utf8")) as T) };
  } catch {
    throw new StoreError(`${path} is not valid JSON`, "remove it (vault logout, or rm) and sign in again");
  }
}

export function createStore(dir: string) {
  const sessionsPath = join(dir, "sessions.json");
  const statePath = join(dir, "state.json");
  const trustPath = join(dir, "trust.json");
  const write = (path: string, value: unknown) => {
    ensurePrivateDir(dir);
    writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
  };
  const sessions = () => readPrivateJson<SessionsFile>(sessionsPath, { sessions: {} });
  const state = () => readPrivateJson<StateFile>(statePath, { versions: {}, projects: {} });
  const trust = () => readPrivateJson<TrustFile>(trustPath, { credentials: {} });
  const versionKey = (server: string, projectId: string, env: string, checkout: string) =>
    `${server} ${projectId} ${env} ${checkout}`;

  return {
    dir,
    /** The server signed in to last, if any. */
    currentServer: () => sessions().current,
    session: (server: string): Session | undefined => sessions().sessions[server],
    saveSession(server: string, session: Session): void {
      const file = sessions();
      file.sessions[server] = session;
      file.current = server;
      write(sessionsPath, file);
    },
    /** Forgets the session for a server; true when there was one. */
    forgetSession(server: string): boolean {
      const file = sessions();
      if (!(server in file.sessions)) return false;
      delete file.sessions[server];
      if (file.current === server) file.current = Object.keys(file.sessions)[0];
      write(sessionsPath, file);
      return true;
    },
    lastVersion: (server: string, projectId: string, env: string, checkout: string): number | undefined =>
      state().versions[versionKey(server, projectId, env, checkout)],
    rememberVersion(server: string, projectId: string, env: string, checkout: string, version: number): void {
      const file = state();
      file.versions[versionKey(server, projectId, env, checkout)] = version;
      write(statePath, file);
    },
    /** The server a credential is bound to, if any. */
    boundServer: (token: string): string | undefined =>
      trust().credentials[credentialFingerprint(token)]?.server,
    /** Binds a credential to a server (replacing another binding); the server it was bound to before. */
    bind(token: string, server: string, now = Date.now()): string | undefined {
      const file = trust();
      const fingerprint = credentialFingerprint(token);
      const before = file.credentials[fingerprint]?.server;
      if (before === server) return before;
      file.credentials[fingerprint] = { server, since: now };
      write(trustPath, file);
      return before;
    },
    /** Forgets a credential's binding; the server it was bound to. */
    unbind(token: string): string | undefined {
      const file = trust();
      const fingerprint = credentialFingerprint(token);
      const before = file.credentials[fingerprint]?.server;
      if (before === undefined) return undefined;
      delete file.credentials[fingerprint];
      write(trustPath, file);
      return before;
    },
    projectOf: (fingerprint: string): string | undefined => state().projects[fingerprint],
    rememberProject(fingerprint: string, projectId: string): void {
      const file = state();
      if (file.projects[fingerprint] === projectId) return;
      file.projects[fingerprint] = projectId;
      write(statePath, file);
    },
  };
}

export type Store = ReturnType<typeof createStore>;
