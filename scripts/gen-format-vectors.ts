/**
 * Generates the known-answer vectors of the sealed formats other than the
 * keeper's envelope (which scripts/gen-vectors.ts made): the app's seal of
 * values (from app.key through its derivation), the keeper's keyring blob,
 * and the CLI's offline copy. Like the envelope's, they are a promise about
 * the format: checked in, never regenerated. This script refuses to
 * overwrite any existing vector; adding a case means adding a new file name.
 *
 *   bun scripts/gen-format-vectors.ts
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SEAL_LABEL } from "../src/appdb/open";
import { sealCache } from "../src/client/cache";
import { hkdf32 } from "../src/db";
import { binding, createAppSealer } from "../src/server/crypto/app-seal";
import { Keyring, scheduleOf, sealKeyring } from "../src/vault/keyring";

const OUT = join(import.meta.dir, "..", "test", "vectors");

const bytes = (label: string, n: number) =>
  new Uint8Array(createHash("sha256").update(label).digest().subarray(0, n));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** A deterministic byte stream: SHA-256 of a label and a counter, as long as asked. */
function stream(label: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 32) {
      const block = createHash("sha256").update(`${label} ${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, n - at)), at);
    }
    return out;
  };
}

const vectors: Record<string, unknown> = {};

// ---------------------------------------------------------------- the app's seal
{
  const appKey = bytes("vault test vector app.key", 32);
  const sealKey = hkdf32(appKey, SEAL_LABEL);
  const cases: {
    name: string;
    kind: "value" | "layout" | "dotenv-key";
    parts: string[];
    plaintext: Uint8Array;
  }[] = [
    {
      name: "value",
      kind: "value",
      parts: ["vlt_0123", "env_prod", "DATABASE_URL"],
      plaintext: new TextEncoder().encode("postgres://u:p@db/app"),
    },
    { name: "empty", kind: "value", parts: ["vlt_0123", "env_prod", "EMPTY"], plaintext: new Uint8Array(0) },
    {
      name: "unicode-name",
      kind: "value",
      parts: ["vlt_0123", "env_dev", "CLÉ_日本"],
      plaintext: new TextEncoder().encode('line one\nline two\r\n"quoted" $HOME'),
    },
    {
      name: "layout",
      kind: "layout",
      parts: ["vlt_0123", "env_prod", "3"],
      plaintext: new TextEncoder().encode('{"lines":["# comment","A="]}'),
    },
    {
      name: "dotenv-key",
      kind: "dotenv-key",
      parts: ["vlt_0123", "production"],
      plaintext: bytes("a DOTENV_KEY's key", 32),
    },
  ];
  for (const c of cases) {
    const nonce = bytes(`app-seal nonce ${c.name}`, 12);
    const blob = createAppSealer(new Map([[1, sealKey]]), () => nonce).seal(
      c.plaintext,
      binding(c.kind, ...c.parts),
    );
    vectors[`app-seal-v1-ok-${c.name}`] = {
      description: `a ${c.kind} sealed by the app under key id 1, derived from app.key`,
      appKey: hex(appKey),
      sealKey: hex(sealKey),
      binding: { kind: c.kind, parts: c.parts, sha256: hex(binding(c.kind, ...c.parts)) },
      nonce: hex(nonce),
      blob: hex(blob),
      expect: { plaintext: hex(c.plaintext) },
    };
  }
  const base = vectors["app-seal-v1-ok-value"] as { blob: string; binding: { parts: string[] } };
  const blob = Buffer.from(base.blob, "hex");
  const refused = (description: string, b: Uint8Array, error: string, parts = base.binding.parts) => ({
    description,
    appKey: hex(appKey),
    sealKey: hex(sealKey),
    binding: { kind: "value", parts, sha256: hex(binding("value", ...parts)) },
    blob: hex(b),
    expect: { error },
  });
  const flipped = (at: number) => {
    const copy = new Uint8Array(blob);
    copy[at]! ^= 0x01;
    return copy;
  };
  vectors["app-seal-v1-other-name"] = refused(
    "the same blob read for another name (a ref moved in app.db) is INTEGRITY",
    blob,
    "INTEGRITY",
    ["vlt_0123", "env_prod", "OTHER_KEY"],
  );
  vectors["app-seal-v1-other-environment"] = refused(
    "the same blob read for another environment is INTEGRITY",
    blob,
    "INTEGRITY",
    ["vlt_0123", "env_dev", "DATABASE_URL"],
  );
  vectors["app-seal-v1-flipped-tag"] = refused(
    "a flipped tag bit is INTEGRITY",
    flipped(blob.length - 1),
    "INTEGRITY",
  );
  vectors["app-seal-v1-flipped-ciphertext"] = refused(
    "a flipped ciphertext bit is INTEGRITY",
    flipped(17),
    "INTEGRITY",
  );
  vectors["app-seal-v1-unknown-key"] = refused(
    "a key id the app does not hold is UNKNOWN_KEY",
    Uint8Array.from([blob[0]!, 0, 0, 0, 2, ...blob.subarray(5)]),
    "UNKNOWN_KEY",
  );
  vectors["app-seal-unknown-version"] = refused(
    "a version byte the app does not know is UNKNOWN_VERSION",
    Uint8Array.from([0x02, ...blob.subarray(1)]),
    "UNKNOWN_VERSION",
  );
  vectors["app-seal-v1-truncated"] = refused(
    "a blob shorter than header, nonce and tag is TRUNCATED",
    blob.subarray(0, 32),
    "TRUNCATED",
  );
}

// ---------------------------------------------------------------- the keeper's keyring
{
  const rootKey = bytes("vault test vector root key", 32);
  const window = { rotateMinMs: 7 * 86_400_000, rotateMaxMs: 14 * 86_400_000 };
  const random = stream("keyring vector");
  const t0 = Date.UTC(2026, 0, 1);
  const keyring = Keyring.create(t0, window, random)
    .rotated(t0 + 10 * 86_400_000, window, random)
    .rotated(t0 + 20 * 86_400_000, window, random)
    .retired(1, t0 + 21 * 86_400_000);
  const blob = sealKeyring(rootKey, keyring, random);
  const schedule = scheduleOf(keyring);
  const expect = {
    activeTerm: keyring.activeTerm,
    terms: keyring.terms(),
    keys: Object.fromEntries(
      keyring.terms().map((t) => [t.term, keyring.keyFor(t.term) ? hex(keyring.keyFor(t.term)!) : null]),
    ),
    schedule: { lastRotationAt: schedule.lastRotationAt, nextRotationAt: schedule.nextRotationAt },
  };
  vectors["keyring-v1-ok"] = {
    description: "three terms: 1 retired, 2 draining, 3 active, with the next rotation drawn in the window",
    rootKey: hex(rootKey),
    blob: hex(blob),
    expect,
  };
  vectors["keyring-v1-wrong-root-key"] = {
    description: "another root key does not open the keyring: WRONG_ROOT_KEY",
    rootKey: hex(bytes("vault test vector another root key", 32)),
    blob: hex(blob),
    expect: { error: "WRONG_ROOT_KEY" },
  };
  const flipped = new Uint8Array(blob);
  flipped[20]! ^= 0x01;
  vectors["keyring-v1-flipped-ciphertext"] = {
    description:
      "a flipped bit in the sealed keyring fails its tag: WRONG_ROOT_KEY (the two cannot be told apart)",
    rootKey: hex(rootKey),
    blob: hex(flipped),
    expect: { error: "WRONG_ROOT_KEY" },
  };
  vectors["keyring-unknown-version"] = {
    description: "a version byte this keeper does not know is KEYRING",
    rootKey: hex(rootKey),
    blob: hex(Uint8Array.from([0x02, ...blob.subarray(1)])),
    expect: { error: "KEYRING" },
  };
}

// ---------------------------------------------------------------- the CLI's offline copy
{
  const key = bytes("vault test vector cache.key", 32);
  const identity = {
    server: "https://vault.example.com",
    projectId: `vlt_${"ab".repeat(32)}`,
    environment: "production",
  };
  const entry = {
    environment: "production",
    version: 42,
    fetchedAt: Date.UTC(2026, 10, 1, 12),
    values: { DATABASE_URL: "postgres://u:p@db/app", MULTI: "a\nb", EMPTY: "", CLÉ: "é" },
  };
  const nonce = bytes("cli-cache nonce", 12);
  const blob = sealCache(entry, key, identity, () => nonce);
  vectors["cli-cache-v1-ok"] = {
    description: "the offline copy of production's version 42",
    key: hex(key),
    identity,
    nonce: hex(nonce),
    blob: hex(blob),
    expect: { entry },
  };
  vectors["cli-cache-v1-other-environment"] = {
    description: "the same file read as another environment's copy (renamed) is CORRUPT",
    key: hex(key),
    identity: { ...identity, environment: "staging" },
    blob: hex(blob),
    expect: { error: "CORRUPT" },
  };
  vectors["cli-cache-v1-other-server"] = {
    description: "the same file read as another server's copy is CORRUPT",
    key: hex(key),
    identity: { ...identity, server: "https://evil.example.com" },
    blob: hex(blob),
    expect: { error: "CORRUPT" },
  };
}

mkdirSync(OUT, { recursive: true });
const paths = Object.keys(vectors).map((name) => join(OUT, `${name}.json`));
const existing = paths.filter((p) => existsSync(p));
if (existing.length > 0) {
  console.error(
    `gen-format-vectors: refusing to overwrite ${existing.length} existing vector(s), e.g. ${existing[0]}`,
  );
  console.error("gen-format-vectors: vectors are never regenerated; add a case under a new name instead");
  process.exit(1);
}
for (const [name, vector] of Object.entries(vectors)) {
  writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(vector, null, 2)}\n`, { flag: "wx" });
}
console.log(`gen-format-vectors: wrote ${paths.length} vectors to ${OUT}`);
