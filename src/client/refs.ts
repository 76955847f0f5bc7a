/**
 * What the CLI's arguments name: an environment, an environment at a version
 * (`production@3`, `production@v3`, as dotenv-vault writes it), or a local
 * file. Pure functions; the commands turn a `RefError` into a usage error.
 */

export const ENVIRONMENT_NAME = /^[a-z][a-z0-9_]{0,31}$/;
export const PROJECT_ID = /^vlt_[0-9a-f]{64}$/;
const MAX_VERSION = 2_147_483_647;

import { EXIT, EXIT_CODE } from "../exit-codes";
export class RefError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "RefError";
  }

  readonly [EXIT_CODE] = EXIT.usage;
}

export interface EnvRef {
  env: string;
  /** Absent: the latest version. */
  version?: number;
}

export type DiffSide = { kind: "env"; env: string; version?: number } | { kind: "file"; path: string };

export function checkEnvironmentName(name: string): string {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new RefError(
      `"${name.slice(0, 40)}" is not an environment name`,
      "environment names are a lowercase letter, then up to 31 lowercase letters, digits or _",
    );
  }
  return name;
}

/** `ENV`, `ENV@N` or `ENV@vN`. */
export function parseEnvRef(text: string): EnvRef {
  const at = text.indexOf("@");
  if (at === -1) return { env: checkEnvironmentName(text) };
  const env = checkEnvironmentName(text.slice(0, at));
  const m = /^v?(\d{1,10})$/.exec(text.slice(at + 1));
  const version = m ? Number(m[1]) : Number.NaN;
  if (!m || version < 1 || version > MAX_VERSION) {
    throw new RefError(
      `"${text.slice(0, 60)}": the version after @ is a number from 1`,
      "like production@3 (see vault versions ENV)",
    );
  }
  return { env, version };
}

/** `ENV@VERSION` with the version required (rollback). */
export function parseEnvAtVersion(text: string): Required<EnvRef> {
  const ref = parseEnvRef(text);
  if (ref.version === undefined) {
    throw new RefError(`"${text.slice(0, 60)}" names no version`, "give ENV@VERSION, like production@3");
  }
  return { env: ref.env, version: ref.version };
}

/** An environment reference when it looks like one, else a local file path. */
export function parseDiffSide(text: string): DiffSide {
  if (/^[a-z][a-z0-9_]{0,31}(@v?\d{1,10})?$/.test(text)) return { kind: "env", ...parseEnvRef(text) };
  if (text === "") throw new RefError("an empty argument names nothing");
  return { kind: "file", path: text };
}

/** The file the dotenv-vault CLI writes for an environment: `.env` for the main one, `.env.<name>` otherwise. */
export function defaultFileFor(env: string, mainEnv = "development"): string {
  return env === mainEnv ? ".env" : `.env.${env}`;
}

export function checkProjectId(id: string): string {
  if (!PROJECT_ID.test(id)) {
    throw new RefError(
      `"${id.slice(0, 80)}" is not a project id`,
      "a project id is vlt_ and 64 lowercase hex characters (see vault projects)",
    );
  }
  return id;
}
