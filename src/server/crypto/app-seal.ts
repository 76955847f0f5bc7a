/**
 * The app's sealing layer: every value, layout and DOTENV_KEY is sealed here
 * with AES-256-GCM under a key derived from app.key before it reaches the
 * keeper, so the keeper never holds a plaintext value.
 *
 * Envelope v1 (the same discipline as the keeper's, see src/vault/README.md):
 *
 *   version (1 byte, 0x01) | key id (4 bytes BE) | nonce (12) | ciphertext | tag (16)
 *
 * Authenticated data: the label `vault/v1/app-value`, the version byte, the
 * key id and the 32-byte *binding*. The binding is the SHA-256 of what the
 * sealed thing belongs to (its kind, project id, environment id and name or
 * version), each part length-prefixed. It is recomputed on every read and
 * never stored, so a ref moved to another name in app.db fails to open
 * instead of returning the other value.
 *
 * A value's binding names no version, on purpose: an unchanged value keeps
 * its ref from one version to the next (what makes a push of one changed key
 * cheap). So a version's refs swapped for an older version's refs of the same
 * names would still open here; each version's snapshot is authenticated on
 * its own instead, by a MAC that app.db cannot compute (versionMac in
 * src/appdb/repos/versions.ts), checked before any value of it is opened.
 *
 * Known-answer vectors, from app.key through the seal key's derivation to
 * the blob: test/vectors/app-seal-*.json (scripts/gen-format-vectors.ts).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export const APP_ENVELOPE_V1 = 0x01;
const LABEL = Buffer.from("vault/v1/app-value", "utf8");
const HEADER = 1 + 4;
const NONCE = 12;
const TAG = 16;

export class SealError extends Error {
  constructor(
    readonly code: "INTEGRITY" | "UNKNOWN_VERSION" | "UNKNOWN_KEY" | "TRUNCATED",
    message: string,
  ) {
    super(message);
    this.name = "SealError";
  }
}

export type BindingKind = "value" | "layout" | "dotenv-key" | "draft" | "override" | "request";

/** SHA-256 over length-prefixed parts: no two different part lists collide by concatenation. */
export function binding(kind: BindingKind, ...parts: (string | number)[]): Uint8Array {
  const all = [kind, ...parts.map(String)];
  let size = 0;
  for (const part of all) size += 4 + Buffer.byteLength(part, "utf8");
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const part of all) {
    const n = bytes.write(part, at + 4, "utf8");
    bytes.writeUInt32BE(n, at);
    at += 4 + n;
  }
  return Bun.SHA256.hash(bytes) as Uint8Array;
}

/** The authenticated data: label, version, key id, binding. */
function aad(keyId: number, bindingBytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(LABEL.length + HEADER + bindingBytes.length);
  LABEL.copy(out, 0);
  out[LABEL.length] = APP_ENVELOPE_V1;
  out.writeUInt32BE(keyId, LABEL.length + 1);
  out.set(bindingBytes, LABEL.length + HEADER);
  return out;
}

export interface AppSealer {
  seal(plaintext: Uint8Array, bindingBytes: Uint8Array): Uint8Array;
  /** Seals many at once, with their nonces drawn in one call (a push seals every new value). */
  sealMany(items: readonly { plaintext: Uint8Array; binding: Uint8Array }[]): Uint8Array[];
  open(blob: Uint8Array, bindingBytes: Uint8Array): Uint8Array;
}

/** Keys by id; the highest id seals. Today there is one (id 1), derived from app.key. */
export function createAppSealer(
  keys: ReadonlyMap<number, Uint8Array>,
  random: (n: number) => Uint8Array = randomBytes,
): AppSealer {
  const sealId = Math.max(...keys.keys());
  const sealKey = keys.get(sealId);
  if (sealKey?.length !== 32) throw new Error("the app sealer needs a 32-byte key");
  const sealWith = (nonce: Uint8Array, plaintext: Uint8Array, bindingBytes: Uint8Array): Uint8Array => {
    const cipher = createCipheriv("aes-256-gcm", sealKey, nonce);
    cipher.setAAD(aad(sealId, bindingBytes));
    const out = new Uint8Array(HEADER + NONCE + plaintext.length + TAG);
    out[0] = APP_ENVELOPE_V1;
    // The key id, big-endian (a DataView over `out.buffer` would cost more than the seal).
    out[1] = sealId >>> 24;
    out[2] = (sealId >>> 16) & 0xff;
    out[3] = (sealId >>> 8) & 0xff;
    out[4] = sealId & 0xff;
    out.set(nonce, HEADER);
    const body = cipher.update(plaintext);
    cipher.final();
    out.set(body, HEADER + NONCE);
    out.set(cipher.getAuthTag(), HEADER + NONCE + body.length);
    return out;
  };
  return {
    seal: (plaintext, bindingBytes) => sealWith(random(NONCE), plaintext, bindingBytes),
    sealMany(items) {
      if (items.length === 0) return [];
      const nonces = random(NONCE * items.length);
      return items.map((item, i) =>
        sealWith(nonces.subarray(i * NONCE, (i + 1) * NONCE), item.plaintext, item.binding),
      );
    },
    open(blob, bindingBytes) {
      if (blob.length < HEADER + NONCE + TAG) throw new SealError("TRUNCATED", "sealed value is too short");
      if (blob[0] !== APP_ENVELOPE_V1)
        throw new SealError("UNKNOWN_VERSION", `unknown app envelope version ${blob[0]}`);
      const keyId = blob[1]! * 0x100_0000 + ((blob[2]! << 16) | (blob[3]! << 8) | blob[4]!);
      const key = keys.get(keyId);
      if (!key) throw new SealError("UNKNOWN_KEY", `unknown app key id ${keyId}`);
      const nonce = blob.subarray(HEADER, HEADER + NONCE);
      const tag = blob.subarray(blob.length - TAG);
      const decipher = createDecipheriv("aes-256-gcm", key, nonce);
      decipher.setAAD(aad(keyId, bindingBytes));
      decipher.setAuthTag(tag);
      try {
        const out = decipher.update(blob.subarray(HEADER + NONCE, blob.length - TAG));
        decipher.final();
        return new Uint8Array(out);
      } catch {
        throw new SealError(
          "INTEGRITY",
          "sealed value failed its integrity check (tampered, or bound elsewhere)",
        );
      }
    },
  };
}
