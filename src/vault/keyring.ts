/**
 * The keyring: the keeper's data keys, numbered by term, and its rotation schedule.
 *
 * The highest term that still holds a key is "active" and seals new values.
 * Lower terms that hold a key are "draining": values sealed under them still
 * open while the background re-seal moves them to the active term. A
 * "retired" term's key has been destroyed; only its number and dates remain.
 *
 * The keyring is stored in vault.db as one sealed blob, never in the clear:
 *
 *   sealed  = 0x01 | nonce (12) | AES-256-GCM(serialized) | tag (16)
 *   key     = HKDF-SHA-256(root key, label "vault/v1/keyring")
 *   AAD     = "vault/v1/keyring" (UTF-8) | 0x01
 *
 * Serialized form v1 (big-endian): version 0x01 | last rotation (u64 ms) |
 * next rotation (u64 ms) | count (u32) | count x [term (u32) | created (u64 ms)
 * | retired (u64 ms, 0 while not retired) | has key (u8) | key (32, when has key)].
 *
 * The next rotation time is drawn with the CSPRNG inside the configured window
 * (schedule.ts) and lives only here, sealed. The keeper asks only `isDue`; the
 * time is never served, logged or counted in stats.
 */
import { hkdf32 } from "../db";
import {
  gcmOpen,
  gcmSealInto,
  KEY_BYTES,
  NONCE_BYTES,
  open,
  type Random,
  REF_BYTES,
  seal,
  TAG_BYTES,
} from "./envelope";
import { KeeperError } from "./errors";
import { drawSchedule, type RotationWindow, type Schedule } from "./schedule";

const KEYRING_LABEL = "vault/v1/keyring";
const KEYRING_AAD = Buffer.concat([Buffer.from(KEYRING_LABEL, "utf8"), Buffer.from([0x01])]);
const SERIAL_V1 = 0x01;

export interface TermInfo {
  term: number;
  createdAt: number;
  retiredAt: number | null;
  state: "active" | "draining" | "retired";
}

interface Entry {
  term: number;
  createdAt: number;
  retiredAt: number | null;
  key: Uint8Array | null;
}

const REF_TIME_BYTES = 6;
const REF_RANDOM_BYTES = REF_BYTES - REF_TIME_BYTES;

export class Keyring {
  readonly #entries: readonly Entry[];
  readonly #schedule: Schedule;

  private constructor(entries: readonly Entry[], schedule: Schedule) {
    this.#entries = entries;
    this.#schedule = schedule;
  }

  /** A new keyring with term 1 active. */
  static create(now: number, window: RotationWindow, random: Random): Keyring {
    const entry: Entry = { term: 1, createdAt: now, retiredAt: null, key: freshKey(random) };
    return new Keyring([entry], drawSchedule(now, window, random));
  }

  get activeTerm(): number {
    return this.#active().term;
  }

  /** The key of a term, or undefined once it is retired (or never existed). */
  keyFor = (term: number): Uint8Array | undefined => {
    const entry = this.#entries.find((e) => e.term === term);
    return entry?.key ?? undefined;
  };

  terms(): TermInfo[] {
    const active = this.activeTerm;
    return this.#entries.map((e) => ({
      term: e.term,
      createdAt: e.createdAt,
      retiredAt: e.retiredAt,
      state: e.key === null ? "retired" : e.term === active ? "active" : "draining",
    }));
  }

  drainingTerms(): number[] {
    return this.terms()
      .filter((t) => t.state === "draining")
      .map((t) => t.term);
  }

  /** True when the scheduled rotation time has come. */
  isDue(now: number): boolean {
    return now >= this.#schedule.nextRotationAt;
  }

  /** True when the stored schedule lies inside the window (the window may have changed since it was drawn). */
  fitsWindow(window: RotationWindow): boolean {
    const { lastRotationAt: last, nextRotationAt: next } = this.#schedule;
    return next >= last + window.rotateMinMs && next <= last + window.rotateMaxMs;
  }

  /** The same keys with the next rotation drawn again inside the window, from the last rotation. */
  rescheduled(window: RotationWindow, random: Random): Keyring {
    return new Keyring(this.#entries, drawSchedule(this.#schedule.lastRotationAt, window, random));
  }

  /** A keyring with a new active term; the previous active term becomes draining. */
  rotated(now: number, window: RotationWindow, random: Random): Keyring {
    const term = this.#entries.reduce((max, e) => Math.max(max, e.term), 0) + 1;
    const entry: Entry = { term, createdAt: now, retiredAt: null, key: freshKey(random) };
    return new Keyring([...this.#entries, entry], drawSchedule(now, window, random));
  }

  /**
   * A keyring without the key of a draining term. The caller must have checked
   * that no value is sealed under it; call `destroyRetired` on this keyring
   * once the new one is saved.
   */
  retired(term: number, now: number): Keyring {
    if (term === this.activeTerm) throw new KeeperError("INTERNAL", "the active term cannot be retired");
    const entries = this.#entries.map((e) => (e.term === term ? { ...e, retiredAt: now, key: null } : e));
    return new Keyring(entries, this.#schedule);
  }

  /** Overwrites in memory every key this keyring holds (at close). */
  destroy(): void {
    for (const entry of this.#entries) entry.key?.fill(0);
  }

  /** Overwrites in memory the keys this keyring holds that `next` no longer holds. */
  destroyRetired(next: Keyring): void {
    for (const entry of this.#entries) {
      if (entry.key !== null && next.keyFor(entry.term) !== entry.key) entry.key.fill(0);
    }
  }

  /** Seals under the active term. */
  seal(ref: Uint8Array, plaintext: Uint8Array, random: Random): { term: number; blob: Uint8Array } {
    const active = this.#active();
    return { term: active.term, blob: seal(active.key!, active.term, ref, plaintext, random) };
  }

  /**
   * Seals a batch of new values under the active term, each under a fresh
   * random ref. Refs and nonces come from one draw of the random source: one
   * call per batch instead of two per value.
   */
  /**
   * Seals new values under the active term, each under a new ref: the
   * creation time in milliseconds (6 bytes, big-endian) then 10 random
   * bytes. The time prefix keeps a batch's inserts together in the B-tree
   * (several times fewer pages written than uniformly random keys), and says
   * nothing that vault.db's created_at column does not.
   */
  sealNew(
    plaintexts: readonly Uint8Array[],
    random: Random,
    nowMs: number,
  ): { term: number; refs: Uint8Array[]; blobs: Uint8Array[] } {
    const active = this.#active();
    const pool = random(plaintexts.length * (REF_RANDOM_BYTES + NONCE_BYTES));
    if (pool.length !== plaintexts.length * (REF_RANDOM_BYTES + NONCE_BYTES)) {
      throw new KeeperError("INTERNAL", "the random source returned too few bytes");
    }
    let at = 0;
    const next: Random = (n) => {
      const slice = pool.subarray(at, at + n);
      at += n;
      return slice;
    };
    const time = new Uint8Array(REF_TIME_BYTES);
    let t = Math.max(0, Math.floor(nowMs)) % 2 ** 48;
    for (let i = REF_TIME_BYTES - 1; i >= 0; i--) {
      time[i] = t % 256;
      t = Math.floor(t / 256);
    }
    const refs: Uint8Array[] = [];
    const blobs: Uint8Array[] = [];
    for (const plaintext of plaintexts) {
      const ref = new Uint8Array(REF_BYTES);
      ref.set(time, 0);
      ref.set(next(REF_RANDOM_BYTES), REF_TIME_BYTES);
      refs.push(ref);
      blobs.push(seal(active.key!, active.term, ref, plaintext, next));
    }
    return { term: active.term, refs, blobs };
  }

  /** Opens a value sealed under any term that still holds its key. */
  open(ref: Uint8Array, blob: Uint8Array): Uint8Array {
    return open(this.keyFor, ref, blob);
  }

  serialize(): Uint8Array {
    const withKey = this.#entries.filter((e) => e.key !== null).length;
    const out = Buffer.alloc(1 + 8 + 8 + 4 + this.#entries.length * (4 + 8 + 8 + 1) + withKey * KEY_BYTES);
    let at = out.writeUInt8(SERIAL_V1, 0);
    at = out.writeBigUInt64BE(BigInt(this.#schedule.lastRotationAt), at);
    at = out.writeBigUInt64BE(BigInt(this.#schedule.nextRotationAt), at);
    at = out.writeUInt32BE(this.#entries.length, at);
    for (const e of this.#entries) {
      at = out.writeUInt32BE(e.term, at);
      at = out.writeBigUInt64BE(BigInt(e.createdAt), at);
      at = out.writeBigUInt64BE(BigInt(e.retiredAt ?? 0), at);
      at = out.writeUInt8(e.key === null ? 0 : 1, at);
      if (e.key !== null) {
        out.set(e.key, at);
        at += KEY_BYTES;
      }
    }
    return out;
  }

  static parse(bytes: Uint8Array): Keyring {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const fail = () => new KeeperError("KEYRING", "the keyring is malformed");
    if (buf.length < 21 || buf[0] !== SERIAL_V1) throw fail();
    const schedule = {
      lastRotationAt: Number(buf.readBigUInt64BE(1)),
      nextRotationAt: Number(buf.readBigUInt64BE(9)),
    };
    const count = buf.readUInt32BE(17);
    const entries: Entry[] = [];
    let at = 21;
    for (let i = 0; i < count; i++) {
      if (at + 21 > buf.length) throw fail();
      const term = buf.readUInt32BE(at);
      const createdAt = Number(buf.readBigUInt64BE(at + 4));
      const retiredAt = Number(buf.readBigUInt64BE(at + 12));
      const hasKey = buf[at + 20] === 1;
      at += 21;
      if (hasKey && at + KEY_BYTES > buf.length) throw fail();
      const key = hasKey ? new Uint8Array(buf.subarray(at, at + KEY_BYTES)) : null;
      if (hasKey) at += KEY_BYTES;
      entries.push({ term, createdAt, retiredAt: retiredAt === 0 ? null : retiredAt, key });
    }
    if (at !== buf.length || entries.length === 0 || entries.at(-1)?.key === null) throw fail();
    return new Keyring(entries, schedule);
  }

  #active(): Entry {
    const active = this.#entries.at(-1);
    if (active?.key == null) throw new KeeperError("KEYRING", "the keyring has no active key");
    return active;
  }
}

/** Seals a keyring under a root key (the sealing key is derived with HKDF, label "vault/v1/keyring"). */
export function sealKeyring(rootKey: Uint8Array, keyring: Keyring, random: Random): Uint8Array {
  const plaintext = keyring.serialize();
  const nonce = random(NONCE_BYTES);
  const out = new Uint8Array(1 + NONCE_BYTES + plaintext.length + TAG_BYTES);
  out[0] = 0x01;
  out.set(nonce, 1);
  const key = hkdf32(rootKey, KEYRING_LABEL);
  try {
    gcmSealInto(out, 1 + NONCE_BYTES, key, nonce, KEYRING_AAD, plaintext);
  } finally {
    key.fill(0);
    plaintext.fill(0);
  }
  return out;
}

/** Opens a sealed keyring: WRONG_ROOT_KEY when the tag does not verify, KEYRING when it is malformed. */
export function openKeyring(rootKey: Uint8Array, sealed: Uint8Array): Keyring {
  if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== 0x01) {
    throw new KeeperError("KEYRING", "the stored keyring is not a sealed keyring this keeper knows");
  }
  const key = hkdf32(rootKey, KEYRING_LABEL);
  let plaintext: Uint8Array;
  try {
    plaintext = gcmOpen(
      key,
      sealed.subarray(1, 1 + NONCE_BYTES),
      KEYRING_AAD,
      sealed.subarray(1 + NONCE_BYTES),
    );
  } catch (error) {
    throw new KeeperError("WRONG_ROOT_KEY", "the root key does not open the keyring in vault.db", {
      cause: error,
    });
  } finally {
    key.fill(0);
  }
  try {
    return Keyring.parse(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

function freshKey(random: Random): Uint8Array {
  const key = new Uint8Array(random(KEY_BYTES));
  if (key.length !== KEY_BYTES) throw new KeeperError("INTERNAL", "the random source returned too few bytes");
  return key;
}

/**
 * The stored schedule, for tests that prove it stays inside the window. Not
 * exported from the module's index; never serve or log what it returns.
 */
export function scheduleOf(keyring: Keyring): Schedule {
  const bytes = Buffer.from(keyring.serialize());
  try {
    return {
      lastRotationAt: Number(bytes.readBigUInt64BE(1)),
      nextRotationAt: Number(bytes.readBigUInt64BE(9)),
    };
  } finally {
    bytes.fill(0);
  }
}
