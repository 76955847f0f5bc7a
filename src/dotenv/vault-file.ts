/**
 * `.env.vault` files and `DOTENV_KEY`s, as npm dotenv 16.1-17.4 and the
 * dotenv-vault CLI read them (PROTOCOL.md section 1).
 *
 * A vault value is base64 (standard alphabet, padded, one line) of
 * `nonce (12 bytes) | AES-256-GCM ciphertext | tag (16 bytes)`, no AAD; its
 * plaintext is a whole dotenv file, starting with `# <env>@v<version>`.
 * A DOTENV_KEY is `dotenv://:key_<64 hex>@<host>/vault/.env.vault?environment=<env>`;
 * readers take the last 64 characters of the password and `environment`,
 * and try a comma-separated list of keys in order.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { DotenvError } from "./errors";
import { parse } from "./scan";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const ENVIRONMENT = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const PROJECT_ID = /^vlt_[0-9a-f]{64}$/;
/** Text that reads back as written between double quotes: no quote, backslash or line break. */
const QUOTABLE_SETTING = /^[^"\\\r\n\u2028\u2029]*$/;

export const DEFAULT_DOTENV_CLI = "npx dotenv-vault@1.27.0";

/** The header dotenv-vault writes at the top of a `.env.vault`. */
export const ENV_VAULT_HEADER = `#/-------------------.env.vault---------------------/
#/         cloud-agnostic vaulting standard         /
#/   [how it works](https://dotenv.org/env-vault)   /
#/--------------------------------------------------/`;

const SETTINGS_HEADER = "#/----------------settings/metadata-----------------/";

function checkKey(key32: Uint8Array): void {
  if (key32.length !== KEY_BYTES) throw new DotenvError("INVALID_DOTENV_KEY", "a key is 32 bytes");
}

export function encryptVaultValue(
  plaintext: string,
  key32: Uint8Array,
  random: (bytes: number) => Uint8Array = randomBytes,
): string {
  checkKey(key32);
  const nonce = random(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES)
    throw new DotenvError("INVALID_DOTENV_KEY", "the nonce source gave a wrong length");
  const cipher = createCipheriv("aes-256-gcm", key32, nonce);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64");
}

export function decryptVaultValue(base64: string, key32: Uint8Array): string {
  checkKey(key32);
  const bytes = Buffer.from(base64, "base64");
  if (bytes.length < NONCE_BYTES + TAG_BYTES)
    throw new DotenvError("DECRYPTION_FAILED", "the value is too short");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key32, bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(-TAG_BYTES));
    const plain = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, -TAG_BYTES)), decipher.final()]);
    return new TextDecoder().decode(plain);
  } catch (cause) {
    throw new DotenvError("DECRYPTION_FAILED", "please check your DOTENV_KEY", { cause });
  }
}

function checkEnvironment(environment: string): void {
  if (!ENVIRONMENT.test(environment)) {
    throw new DotenvError("INVALID_ENVIRONMENT", "an environment name is a letter then letters, digits or _");
  }
}

export function formatDotenvKey(options: { key32: Uint8Array; environment: string; host: string }): string {
  checkKey(options.key32);
  checkEnvironment(options.environment);
  if (!/^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$/.test(options.host)) {
    throw new DotenvError("INVALID_DOTENV_KEY", "the host is a host name or address, with an optional port");
  }
  const hex = Buffer.from(options.key32).toString("hex");
  return `dotenv://:key_${hex}@${options.host}/vault/.env.vault?environment=${options.environment}`;
}

export interface DotenvKey {
  readonly key32: Uint8Array;
  readonly environment: string;
}

/** Reads a DOTENV_KEY as dotenv does: any URL, the last 64 characters of its password, its `environment`. */
export function parseDotenvKey(uri: string): DotenvKey {
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch {
    throw new DotenvError(
      "INVALID_DOTENV_KEY",
      "wrong format. Must be in valid uri format like dotenv://:key_1234@example.com/vault/.env.vault?environment=development",
    );
  }
  const password = url.password;
  if (!password) throw new DotenvError("INVALID_DOTENV_KEY", "missing key part");
  const environment = url.searchParams.get("environment");
  if (!environment) throw new DotenvError("INVALID_DOTENV_KEY", "missing environment part");
  const hex = password.slice(-64);
  if (!HEX64.test(hex))
    throw new DotenvError("INVALID_DOTENV_KEY", "it must be 64 characters long (or more)");
  return { key32: new Uint8Array(Buffer.from(hex, "hex")), environment };
}

/** A comma-separated DOTENV_KEY (rotation overlap: `<old>,<new>`), in order. */
export function parseDotenvKeyList(list: string): DotenvKey[] {
  return list.split(",").map((uri) => parseDotenvKey(uri));
}

/** The variable holding an environment's ciphertext: `DOTENV_VAULT_<ENV>`. */
export function vaultVariable(environment: string): string {
  return `DOTENV_VAULT_${environment.toUpperCase()}`;
}

export interface VaultEnvironment {
  readonly name: string;
  readonly version: number;
  /** The environment's dotenv file, as pushed. */
  readonly plaintext: string;
  readonly key32: Uint8Array;
}

export interface EnvVaultOptions {
  readonly projectId: string;
  readonly apiUrl: string;
  readonly cli?: string;
  readonly environments: readonly VaultEnvironment[];
  readonly random?: (bytes: number) => Uint8Array;
}

function checkSetting(name: string, value: string): string {
  if (!QUOTABLE_SETTING.test(value))
    throw new DotenvError("UNREPRESENTABLE", `${name} holds a quote, backslash or break`);
  return value;
}

/** The `.env.vault` text, laid out as the hosted service lays it out. */
export function buildEnvVault(options: EnvVaultOptions): string {
  if (!PROJECT_ID.test(options.projectId))
    throw new DotenvError("INVALID_PROJECT", "a project id is vlt_ and 64 hex");
  const apiUrl = checkSetting("DOTENV_API_URL", options.apiUrl);
  const cli = checkSetting("DOTENV_CLI", options.cli ?? DEFAULT_DOTENV_CLI);
  const seen = new Set<string>();
  const blocks = options.environments.map((env) => {
    checkEnvironment(env.name);
    if (!Number.isSafeInteger(env.version) || env.version < 1) {
      throw new DotenvError("INVALID_ENVIRONMENT", `${env.name}: a version is a positive integer`);
    }
    const variable = vaultVariable(env.name);
    if (seen.has(variable)) throw new DotenvError("INVALID_ENVIRONMENT", `${env.name} is listed twice`);
    seen.add(variable);
    const plaintext = `# ${env.name}@v${env.version}\n${env.plaintext}`;
    const sealed = encryptVaultValue(plaintext, env.key32, options.random);
    return `# ${env.name}\n${variable}="${sealed}"\n${variable}_VERSION=${env.version}\n`;
  });
  const settings = [
    SETTINGS_HEADER,
    `DOTENV_VAULT="${options.projectId}"`,
    `DOTENV_API_URL="${apiUrl}"`,
    `DOTENV_CLI="${cli}"`,
  ].join("\n");
  return [`${ENV_VAULT_HEADER}\n`, ...blocks, `${settings}\n`].join("\n");
}

/**
 * Opens a `.env.vault` with a DOTENV_KEY list the way dotenv's config does:
 * each key in order, the first that decrypts wins, the last one's error is
 * thrown. Returns the parsed variables of the decrypted file.
 */
export function openEnvVault(text: string, dotenvKeyList: string): Record<string, string> {
  if (dotenvKeyList.trim() === "") throw new DotenvError("INVALID_DOTENV_KEY", "missing DOTENV_KEY");
  const parsed = parse(text);
  const uris = dotenvKeyList.split(",");
  for (let i = 0; i < uris.length; i++) {
    try {
      const { key32, environment } = parseDotenvKey(uris[i]!);
      const variable = vaultVariable(environment);
      const ciphertext = Object.hasOwn(parsed, variable) ? parsed[variable] : undefined;
      if (!ciphertext) {
        throw new DotenvError(
          "NOT_FOUND_DOTENV_ENVIRONMENT",
          `cannot locate environment ${variable} in the .env.vault`,
        );
      }
      return parse(decryptVaultValue(ciphertext, key32));
    } catch (error) {
      if (i + 1 >= uris.length) throw error;
    }
  }
  throw new DotenvError("MISSING_DATA", "no key opened the .env.vault");
}

export interface EnvVaultSettings {
  readonly DOTENV_VAULT?: string;
  readonly DOTENV_API_URL?: string;
  readonly DOTENV_CLI?: string;
}

/** The project link settings of a `.env.vault` (or `.env.me`-style file), as dotenv reads them. */
export function readEnvVaultSettings(text: string): EnvVaultSettings {
  const parsed = parse(text);
  const pick = (name: keyof EnvVaultSettings) =>
    Object.hasOwn(parsed, name) ? { [name]: parsed[name] } : {};
  return { ...pick("DOTENV_VAULT"), ...pick("DOTENV_API_URL"), ...pick("DOTENV_CLI") };
}
