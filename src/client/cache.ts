/**
 * The offline copy `vault run` falls back on when the server cannot be
 * reached: the values of the last successful pull of an environment,
 * encrypted with AES-256-GCM under a key kept beside it (`cache.key`, 0600).
 *
 * File: `version (1 byte, 0x01) | nonce (12) | ciphertext | tag (16)`.
 * Authenticated data: a fixed label and the copy's identity (server, project,
 * environment), so a copy renamed to stand for another environment fails to
 * open. The key only keeps the copies from being read off a backup or a
 * stray disk image: anyone who can read the config directory can read both.
 * Known-answer vectors: test/vectors/cli-cache-*.json.
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { EXIT, EXIT_CODE } from "../exit-codes";
import { ensurePrivateDir, writeFileAtomic } from "./files";

const VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const LABEL = "vault/v1/cli-cache";

export interface CacheIdentity {
  server: string;
  projectId: string;
  environment: string;
}

export interface CachedValues {
  environment: string;
  version: number;
  /** When the pull happened (ms since the epoch). */
  fetchedAt: number;
  values: Record<string, string>;
}

export class CacheError extends Error {
  constructor(
    readonly code: "CORRUPT" | "KEY",
    message: string,
  ) {
    super(message);
    this.name = "CacheError";
  }

  readonly [EXIT_CODE] = EXIT.failure;
}

const identityText = (id: CacheIdentity) => `${id.server}\n${id.projectId}\n${id.environment}`;

function aad(id: CacheIdentity): Buffer {
  return Buffer.from(`${LABEL}\n${identityText(id)}`, "utf8");
}

export function sealCache(
  entry: CachedValues,
  key: Uint8Array,
  id: CacheIdentity,
  random: (n: number) => Uint8Array = randomBytes,
): Uint8Array {
  const nonce = random(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad(id));
  const body = Buffer.concat([cipher.update(JSON.stringify(entry), "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]);
}

export function openCache(bytes: Uint8Array, key: Uint8Array, id: CacheIdentity): CachedValues {
  const buf = Buffer.from(bytes);
  if (buf.length < 1 + NONCE_BYTES + TAG_BYTES || buf[0] !== VERSION) {
    throw new CacheError("CORRUPT", "the offline copy is not in a format this vault reads");
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, buf.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(aad(id));
    decipher.setAuthTag(buf.subarray(-TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(buf.subarray(1 + NONCE_BYTES, -TAG_BYTES)),
      decipher.final(),
    ]);
    const entry = JSON.parse(plain.toString("utf8")) as CachedValues;
    if (entry.environment !== id.environment) throw new Error("environment mismatch");
    return entry;
  } catch {
    throw new CacheError("CORRUPT", "the offline copy does not open (changed, or made with another key)");
  }
}

export function createCache(options: { dir: string; random?: (n: number) => Uint8Array }) {
  const random = options.random ?? randomBytes;
  const keyPath = join(options.dir, "cache.key");
  const cacheDir = join(options.dir, "cache");
  const fileOf = (id: CacheIdentity) =>
    join(cacheDir, `${createHash("sha256").update(identityText(id)).digest("hex").slice(0, 32)}.bin`);

  const readKey = (): Uint8Array | undefined => {
    if (!existsSync(keyPath)) return undefined;
    if ((statSync(keyPath).mode & 0o077) !== 0) {
      throw new CacheError("KEY", `${keyPath} is readable by others; run: chmod 600 ${keyPath}`);
    }
    const text = readFileSync(keyPath, "utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new CacheError("KEY", `${keyPath} is not 64 hex characters`);
    return new Uint8Array(Buffer.from(text, "hex"));
  };

  return {
    save(id: CacheIdentity, entry: CachedValues): void {
      ensurePrivateDir(options.dir);
      let key = readKey();
      if (!key) {
        key = new Uint8Array(random(32));
        writeFileAtomic(keyPath, `${Buffer.from(key).toString("hex")}\n`, 0o600);
      }
      ensurePrivateDir(cacheDir);
      writeFileAtomic(fileOf(id), sealCache(entry, key, id, random), 0o600);
    },
    /** The copy for this identity; undefined when there is none. Throws CacheError when it does not open. */
    load(id: CacheIdentity): CachedValues | undefined {
      const path = fileOf(id);
      if (!existsSync(path)) return undefined;
      const key = readKey();
      if (!key) throw new CacheError("KEY", "the offline copy's key (cache.key) is missing");
      return openCache(readFileSync(path), key, id);
    },
    remove(id: CacheIdentity): void {
      rmSync(fileOf(id), { force: true });
    },
  };
}

export type Cache = ReturnType<typeof createCache>;
