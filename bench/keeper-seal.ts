/**
 * The keeper's crypto path against bare node:crypto, in one run:
 * seal and open 1 KB values in batches of 100 with the keyring (envelope
 * header, AAD with term and ref, a fresh ref and nonce per value), and the
 * same AES-256-GCM seal and open with nothing around it. No database.
 *
 *   bun bench/keeper-seal.ts
 *
 * Prints values per second for both and their ratio (goal: >= 0.8).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Keyring } from "../src/vault/keyring";

const VALUE_BYTES = 1024;
const BATCH = 100;
const ROUNDS = 7;
const BATCHES_PER_ROUND = 300;

const random = (n: number) => randomBytes(n);
const values = Array.from({ length: BATCH }, () => randomBytes(VALUE_BYTES));
const ring = Keyring.create(Date.now(), { rotateMinMs: 60_000, rotateMaxMs: 120_000 }, random);
const key = randomBytes(32);

function keeperBatch(): void {
  const { refs, blobs } = ring.sealNew(values, random, Date.now());
  for (let i = 0; i < BATCH; i++) {
    if (ring.open(refs[i]!, blobs[i]!).length !== VALUE_BYTES) throw new Error("bad open");
  }
}

function rawBatch(): void {
  const sealed: { nonce: Buffer; ct: Buffer; tag: Buffer }[] = [];
  for (const value of values) {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, nonce);
    const ct = Buffer.concat([cipher.update(value), cipher.final()]);
    sealed.push({ nonce, ct, tag: cipher.getAuthTag() });
  }
  for (const { nonce, ct, tag } of sealed) {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce);
    decipher.setAuthTag(tag);
    const pt = Buffer.concat([decipher.update(ct), decipher.final()]);
    if (pt.length !== VALUE_BYTES) throw new Error("bad open");
  }
}

function valuesPerSecond(batch: () => void): number {
  const start = performance.now();
  for (let i = 0; i < BATCHES_PER_ROUND; i++) batch();
  return (BATCHES_PER_ROUND * BATCH) / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (let i = 0; i < 50; i++) {
  keeperBatch();
  rawBatch();
}
const keeper: number[] = [];
const raw: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, so that both see the same machine.
  keeper.push(valuesPerSecond(keeperBatch));
  raw.push(valuesPerSecond(rawBatch));
}
const k = median(keeper);
const r = median(raw);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(12);
console.log(`seal+open of ${VALUE_BYTES} B values, batches of ${BATCH}, median of ${ROUNDS} rounds`);
console.log("path                  values/s");
console.log(`keeper (keyring)  ${fmt(k)}`);
console.log(`raw node:crypto   ${fmt(r)}`);
console.log(`ratio             ${(k / r).toFixed(2).padStart(12)}   (goal >= 0.80)`);
