/**
 * Generates the keeper envelope test vectors in test/vectors/, once.
 *
 * Inputs are fixed (keys derived from labels, fixed refs and nonces), so a run
 * is reproducible, but the vectors are a promise about the format: they are
 * checked in and never regenerated. This script refuses to overwrite any
 * existing vector; adding a case means adding a new file name.
 *
 *   bun scripts/gen-vectors.ts
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seal } from "../src/vault/envelope";

const OUT = join(import.meta.dir, "..", "test", "vectors");

const bytes = (label: string, n: number) => createHash("sha256").update(label).digest().subarray(0, n);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fixedNonce = (label: string) => () => new Uint8Array(bytes(`nonce ${label}`, 12));

const keyA = bytes("vault test vector key A", 32);
const keyB = bytes("vault test vector key B", 32);
const ref1 = bytes("vault test vector ref 1", 16);
const ref2 = bytes("vault test vector ref 2", 16);

interface Sealed {
  key: Buffer;
  term: number;
  ref: Buffer;
  nonce: Uint8Array;
  plaintext: Uint8Array;
  blob: Uint8Array;
}

function sealCase(label: string, key: Buffer, term: number, ref: Buffer, plaintext: Uint8Array): Sealed {
  const nonce = fixedNonce(label)();
  return { key, term, ref, nonce, plaintext, blob: seal(key, term, ref, plaintext, () => nonce) };
}

const hello = sealCase(
  "hello",
  keyA,
  7,
  ref1,
  new TextEncoder().encode("DATABASE_URL=postgres://u:p@db/app"),
);
const empty = sealCase("empty", keyA, 1, ref1, new Uint8Array(0));
const binary = sealCase(
  "binary",
  keyB,
  0xffff_fffe,
  ref2,
  Uint8Array.from({ length: 1024 }, (_, i) => (i * 31 + 7) & 0xff),
);

const flip = (blob: Uint8Array, at: number) => {
  const copy = new Uint8Array(blob);
  copy[at]! ^= 0x01;
  return copy;
};
const withTerm = (blob: Uint8Array, term: number) => {
  const copy = Buffer.from(blob);
  copy.writeUInt32BE(term, 1);
  return copy;
};

type Expect = { plaintext: string } | { error: string };
interface Vector {
  description: string;
  keys: Record<string, string>;
  ref: string;
  blob: string;
  expect: Expect;
  sealedWith?: { key: string; term: number; nonce: string; plaintext: string };
}

const ok = (description: string, s: Sealed): Vector => ({
  description,
  keys: { [s.term]: hex(s.key) },
  ref: hex(s.ref),
  blob: hex(s.blob),
  expect: { plaintext: hex(s.plaintext) },
  sealedWith: { key: hex(s.key), term: s.term, nonce: hex(s.nonce), plaintext: hex(s.plaintext) },
});
const bad = (
  description: string,
  keys: Record<string, Buffer>,
  ref: Buffer,
  blob: Uint8Array,
  error: string,
) => ({
  description,
  keys: Object.fromEntries(Object.entries(keys).map(([t, k]) => [t, hex(k)])),
  ref: hex(ref),
  blob: hex(blob),
  expect: { error },
});

const vectors: Record<string, Vector> = {
  "keeper-envelope-v1-ok-text": ok("a text value sealed under term 7 opens", hello),
  "keeper-envelope-v1-ok-empty": ok("an empty value sealed under term 1 opens", empty),
  "keeper-envelope-v1-ok-binary-high-term": ok("1024 binary bytes under term 0xfffffffe open", binary),
  "keeper-envelope-v1-flipped-ciphertext": bad(
    "one flipped ciphertext bit fails",
    { 7: keyA },
    ref1,
    flip(hello.blob, 17),
    "INTEGRITY",
  ),
  "keeper-envelope-v1-flipped-nonce": bad(
    "one flipped nonce bit fails",
    { 7: keyA },
    ref1,
    flip(hello.blob, 5),
    "INTEGRITY",
  ),
  "keeper-envelope-v1-flipped-tag": bad(
    "one flipped tag bit fails",
    { 7: keyA },
    ref1,
    flip(hello.blob, hello.blob.length - 1),
    "INTEGRITY",
  ),
  "keeper-envelope-v1-other-ref": bad(
    "a blob copied to another ref fails",
    { 7: keyA },
    ref2,
    hello.blob,
    "INTEGRITY",
  ),
  "keeper-envelope-v1-term-edited": bad(
    "a header edited to name another term fails, even when both terms hold the same key",
    { 7: keyA, 8: keyA },
    ref1,
    withTerm(hello.blob, 8),
    "INTEGRITY",
  ),
  "keeper-envelope-v1-unknown-term": bad(
    "a blob whose term the keyring does not hold is UNKNOWN_TERM",
    { 8: keyA },
    ref1,
    hello.blob,
    "UNKNOWN_TERM",
  ),
  "keeper-envelope-unknown-version": bad(
    "a version byte this keeper does not know is UNKNOWN_VERSION",
    { 7: keyA },
    ref1,
    Uint8Array.from([0x02, ...hello.blob.subarray(1)]),
    "UNKNOWN_VERSION",
  ),
  "keeper-envelope-v1-truncated": bad(
    "a blob shorter than header and tag is TRUNCATED",
    { 7: keyA },
    ref1,
    hello.blob.subarray(0, 32),
    "TRUNCATED",
  ),
};

mkdirSync(OUT, { recursive: true });
const paths = Object.keys(vectors).map((name) => join(OUT, `${name}.json`));
const existing = paths.filter((p) => existsSync(p));
if (existing.length > 0) {
  console.error(
    `gen-vectors: refusing to overwrite ${existing.length} existing vector(s), e.g. ${existing[0]}`,
  );
  console.error("gen-vectors: vectors are never regenerated; add a case under a new name instead");
  process.exit(1);
}
for (const [name, vector] of Object.entries(vectors)) {
  writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(vector, null, 2)}\n`, { flag: "wx" });
}
console.log(`gen-vectors: wrote ${paths.length} vectors to ${OUT}`);
