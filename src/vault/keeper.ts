/**
 * The keeper in process: seals values under the keyring's active term, stores
 * them in vault.db, and runs the scheduled work (rotation, re-seal,
 * retirement) when `tick()` is called.
 *
 * Invariants:
 * - A value is written only under a term that holds a key, and a term is
 *   retired only when no row uses it. In process both hold because writes
 *   share the gate and retirement holds it alone; across keepers on one
 *   vault.db, because every write is guarded by the keyring it sealed under
 *   and the retiring swap by the rows under the term (lease.ts).
 * - After a retirement (the end of a re-seal) the WAL is truncated: the old
 *   keyring, which held the retired key, and the values sealed under it leave
 *   the files (with secure_delete, src/db/open.ts).
 * - Re-sealing is resumable: the rows still on older terms are the progress.
 * - Seal counts per term are persisted with the writes that make them, so the
 *   encryption cap survives restarts.
 * - The schedule stays inside the sealed keyring: no answer, event or error
 *   carries it.
 */
import { randomBytes } from "node:crypto";
import { createGroupCommit, migrate, newKey, truncateWal } from "../db";
import { checkRef } from "./envelope";
import { KeeperError } from "./errors";
import { atRestKeyFor, type Keeper, type KeeperOptions, type TickReport } from "./keeper-types";
import { Keyring, openKeyring, sealKeyring } from "./keyring";
import { createLease, RETIRE_GRACE_MS, SCHEDULED_WORK, sameBytes, swapKeyring } from "./lease";
import { Gate, Mutex } from "./lock";
import { vaultMigrations } from "./migrations";
import { createStore, leaveWal, type NewValue, rekeyAtRest } from "./store";
import type { KeeperHealth, KeeperStats } from "./types";

/** A put whose keyring went stale is sealed again under the new one; this many times at most. */
const PUT_ATTEMPTS = 5;

export async function createKeeper(options: KeeperOptions): Promise<Keeper> {
  const { db, config, custody } = options;
  const random = options.random ?? ((n: number) => randomBytes(n));
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  let rootKey: Uint8Array = new Uint8Array(options.rootKey);
  const store = createStore(db);
  const gate = new Gate();
  const ticks = new Mutex();
  let closed = false;
  /** A root key written to `.next` by a rotation that has not finished. */
  let staged: Uint8Array | null = null;
  /** The keyring as this keeper last read or wrote it: replaced only by compare-and-swap (lease.ts). */
  let lastSealed: Uint8Array | null = null;
  const lease = createLease(db, {
    name: SCHEDULED_WORK,
    holder: options.holder ?? randomBytes(8).toString("hex"),
    now,
  });

  let ring: Keyring;
  const seals = new Map<number, number>();
  try {
    await migrate(db, vaultMigrations);
    ring = await loadKeyring();
    for (const [term, c] of await store.counters()) seals.set(term, c.seals);
  } catch (error) {
    rootKey.fill(0);
    throw error;
  }

  /** Stores `next` if the keyring is still the one this keeper knows; false when another keeper changed it. */
  async function persist(
    next: Keyring,
    options: { key?: Uint8Array; newTerm?: number; retiring?: number[] } = {},
  ): Promise<boolean> {
    const sealed = sealKeyring(options.key ?? rootKey, next, random);
    if (!(await swapKeyring(db, lastSealed, sealed, now(), options.newTerm, options.retiring))) return false;
    lastSealed = sealed;
    return true;
  }

  async function loadKeyring(): Promise<Keyring> {
    for (;;) {
      const sealed = await store.loadKeyring();
      if (sealed === null) {
        const created = Keyring.create(now(), config, random);
        if (!(await persist(created, { newTerm: created.activeTerm }))) continue; // another keeper made one
        log({ event: "keeper.keyring_created", term: created.activeTerm });
        return created;
      }
      lastSealed = sealed;
      const opened = openKeyring(rootKey, sealed);
      if (opened.fitsWindow(config)) return opened;
      // The window was changed since the schedule was drawn: draw again inside the new one.
      const rescheduled = opened.rescheduled(config, random);
      if (await persist(rescheduled)) return rescheduled;
    }
  }

  /** Takes the keyring another keeper stored (under the exclusive gate); true when it changed. */
  async function reloadLocked(): Promise<boolean> {
    const sealed = await store.loadKeyring();
    if (sealed === null || sameBytes(sealed, lastSealed)) return false;
    const opened = openKeyring(rootKey, sealed);
    ring.destroy();
    ring = opened;
    lastSealed = sealed;
    for (const [term, c] of await store.counters()) seals.set(term, c.seals);
    return true;
  }

  function ensureOpen(): void {
    if (closed) throw new KeeperError("CLOSED", "the keeper is closed");
  }

  /**
   * Puts that arrive together share one transaction and one sync of vault.db (group commit,
   * src/db/group-commit.ts); each keeps its own answer (false: its keyring went stale). A
   * transaction that fails is tried again put by put, so one put's failure stays its own. The
   * puts wait for it inside the shared gate, so no rotation or retirement runs meanwhile.
   */
  const inserts = createGroupCommit<{ values: NewValue[]; sealedKeyring: Uint8Array }, boolean>((groups) => {
    options.onCommit?.(groups.length);
    return store.insertValueGroups(groups, now());
  });

  const sealsUnder = (term: number) => seals.get(term) ?? 0;
  const countSeals = (term: number, n: number) => seals.set(term, sealsUnder(term) + n);
  /** A batch of n more seals would pass the cap (a first batch larger than the cap is let through). */
  const overCap = (n: number) => {
    const done = sealsUnder(ring.activeTerm);
    return done >= config.rotateCap || (done > 0 && done + n > config.rotateCap);
  };

  /** The new active term, or null when another keeper changed the keyring first (this one then reloads it). */
  async function rotateLocked(reason: "schedule" | "cap" | "forced"): Promise<number | null> {
    const next = ring.rotated(now(), config, random);
    if (!(await persist(next, { newTerm: next.activeTerm }))) {
      await reloadLocked();
      return null;
    }
    ring = next;
    seals.set(next.activeTerm, 0);
    log({ event: "keeper.rotated", term: next.activeTerm, reason });
    return next.activeTerm;
  }

  /**
   * Re-seals one batch of values from older terms under the active one;
   * returns [read, written], or null when another keeper changed the keyring
   * first (nothing was written; the caller reloads it).
   */
  async function resealBatch(): Promise<[number, number] | null> {
    const current = ring;
    const sealedRing = lastSealed!;
    const active = current.activeTerm;
    const stale = await store.readStale(active, config.resealBatch);
    if (stale.length === 0) return [0, 0];
    const resealed = stale.map((row) => {
      let plaintext: Uint8Array;
      try {
        plaintext = current.open(row.ref, row.blob);
      } catch (error) {
        const code = error instanceof KeeperError ? error.code : "INTERNAL";
        const ref = Buffer.from(row.ref).toString("hex");
        throw new KeeperError(
          code,
          `re-seal stopped: the value at ref ${ref} (term ${row.term}) does not open`,
          {
            cause: error,
          },
        );
      }
      try {
        return { ref: row.ref, fromTerm: row.term, blob: current.seal(row.ref, plaintext, random).blob };
      } finally {
        plaintext.fill(0);
      }
    });
    countSeals(active, resealed.length);
    const written = await store.writeResealed(resealed, active, sealedRing);
    if (written === null) {
      countSeals(active, -resealed.length);
      return null;
    }
    log({ event: "keeper.resealed", values: written });
    return [stale.length, written];
  }

  /** Destroys the keys of draining terms that no value uses any more. */
  async function retireDrained(): Promise<number[]> {
    let next = ring;
    const retired: number[] = [];
    // On a shared vault.db, other keepers may still seal under the old term until they reload the keyring.
    const active = ring.terms().find((t) => t.term === ring.activeTerm);
    if (db.remote && active && now() - active.createdAt < RETIRE_GRACE_MS) return retired;
    for (const term of ring.drainingTerms()) {
      if ((await store.valuesUnder(term)) > 0) continue;
      next = next.retired(term, now());
      retired.push(term);
    }
    if (retired.length === 0) return retired;
    // Refused when another keeper changed the keyring, or sealed a value under one of these terms
    // since it was counted: the next tick re-seals it and tries again.
    if (!(await persist(next, { retiring: retired }))) {
      await reloadLocked();
      return [];
    }
    ring.destroyRetired(next);
    ring = next;
    for (const term of retired) log({ event: "keeper.retired", term });
    return retired;
  }

  const keeper: Keeper = {
    async put(blobs) {
      ensureOpen();
      if (blobs.length === 0) return [];
      for (let attempt = 1; ; attempt++) {
        if (overCap(blobs.length)) {
          await gate.exclusive(async () => {
            if (overCap(blobs.length)) await rotateLocked("cap");
          });
        }
        const refs = await gate.shared(async () => {
          const sealedRing = lastSealed!;
          const { term, refs, blobs: sealed } = ring.sealNew(blobs, random, now());
          const values: NewValue[] = refs.map((ref, i) => ({ ref, term, blob: sealed[i]! }));
          countSeals(term, values.length);
          if (await inserts.submit({ values, sealedKeyring: sealedRing })) return refs;
          countSeals(term, -values.length);
          return null;
        });
        if (refs !== null) return refs;
        // Another keeper rotated or retired since this one read the keyring, and nothing was
        // written: seal again under the keyring as it is now (never under a term that is going).
        if (attempt >= PUT_ATTEMPTS) {
          throw new KeeperError("KEYRING", "the keyring kept changing under this keeper's put; retry");
        }
        await gate.exclusive(reloadLocked);
      }
    },

    async get(refs) {
      ensureOpen();
      for (const ref of refs) checkRef(ref);
      const read = () =>
        gate.shared(async () => {
          const found = await store.getValues(refs);
          return refs.map((ref) => {
            const blob = found.get(Buffer.from(ref).toString("hex"));
            return blob === undefined ? null : ring.open(ref, blob);
          });
        });
      try {
        return await read();
      } catch (error) {
        // A value another keeper re-sealed under a term this one has not loaded yet: reload once.
        if (!(error instanceof KeeperError && error.code === "UNKNOWN_TERM")) throw error;
        if (!(await gate.exclusive(reloadLocked))) throw error;
        return read();
      }
    },

    async delete(refs) {
      ensureOpen();
      for (const ref of refs) checkRef(ref);
      if (refs.length === 0) return 0;
      return gate.shared(() => store.deleteValues(refs));
    },

    async list({ createdBefore, after, limit }) {
      ensureOpen();
      if (after !== undefined) checkRef(after);
      if (!Number.isInteger(limit) || limit < 1)
        throw new KeeperError("BAD_REQUEST", "limit is a positive integer");
      return gate.shared(() => store.listRefs(createdBefore, after, limit));
    },

    async stats(): Promise<KeeperStats> {
      ensureOpen();
      return gate.shared(async () => {
        const byTerm = await store.valuesByTerm();
        const counters = await store.counters();
        const active = ring.activeTerm;
        const terms = ring.terms().map((t) => ({
          term: t.term,
          values: byTerm.get(t.term) ?? 0,
          createdAt: t.createdAt,
          state: t.state,
          seals: sealsUnder(t.term),
        }));
        const draining = ring.drainingTerms();
        const remaining = [...byTerm].reduce((sum, [term, n]) => (term < active ? sum + n : sum), 0);
        const synchronous = db.remote
          ? undefined
          : Number((await db.client.execute("PRAGMA synchronous")).rows[0]?.[0]);
        return {
          values: [...byTerm.values()].reduce((a, b) => a + b, 0),
          terms,
          reseal:
            draining.length === 0
              ? null
              : { fromTerms: draining, remaining, done: counters.get(active)?.resealed ?? 0 },
          rotations: active - 1,
          ...(synchronous === undefined ? {} : { synchronous }),
        };
      });
    },

    async health(): Promise<KeeperHealth> {
      ensureOpen();
      return gate.shared(async () => {
        await db.client.execute("SELECT 1");
        return { ok: true, activeTerm: ring.activeTerm };
      });
    },

    async rotate() {
      ensureOpen();
      return { term: (await gate.exclusive(() => rotateLocked("forced"))) ?? ring.activeTerm };
    },

    async rotateRoot() {
      ensureOpen();
      if (custody === undefined)
        throw new KeeperError("UNSUPPORTED", "this keeper was started without a root key file");
      await gate.exclusive(async () => {
        // A rotation that failed after staging its key is finished with that key, never a new one:
        // the keyring may already be sealed under it.
        const next = staged ?? newKey(random);
        if (staged === null) {
          custody.stage(next);
          staged = next;
        }
        // Order matters for recovery (open.ts): the keyring, then the file at rest, then the rename.
        if (!(await persist(ring, { key: next }))) {
          throw new KeeperError(
            "KEYRING",
            "another keeper changed the keyring during the root-key rotation; retry",
          );
        }
        if (rootKey !== next) {
          rootKey.fill(0);
          rootKey = next;
        }
        if (!db.remote) {
          const atRestKey = atRestKeyFor(next);
          try {
            await rekeyAtRest(db, atRestKey);
          } finally {
            atRestKey.fill(0);
          }
        }
        custody.commit();
        staged = null;
        log({ event: "keeper.root_rotated" });
      });
    },

    tick() {
      return ticks.run(async () => {
        ensureOpen();
        const report: TickReport = { rotated: false, resealed: 0, retired: [], pending: false };
        // Another keeper on a shared vault.db may have rotated or retired: take its keyring first.
        if (db.remote) await gate.exclusive(reloadLocked);
        const due = ring.isDue(now());
        if (!due && !overCap(0) && ring.drainingTerms().length === 0) return report;
        // A local vault.db has one keeper (serve.lock); a shared one has a lease holder.
        if (db.remote && !(await lease.acquire())) return report; // another keeper does the scheduled work
        if (due || overCap(0)) {
          report.rotated = (await gate.exclusive(() => rotateLocked(due ? "schedule" : "cap"))) !== null;
        }
        if (ring.drainingTerms().length > 0) {
          const batch = await gate.shared(resealBatch);
          if (batch === null) {
            // Another keeper changed the keyring under this batch: take it, and look again soon.
            await gate.exclusive(reloadLocked);
            report.pending = true;
          } else {
            const [read, written] = batch;
            report.resealed = written;
            if (read < config.resealBatch) report.retired = await gate.exclusive(retireDrained);
            // Waiting out the retirement grace is not pending work: the next idle tick retires.
            report.pending = read === config.resealBatch;
            // The re-seal is done (and its old terms retired): fold the WAL, which still holds
            // the old keyring and the old seals, into the file and truncate it. Best effort: a
            // reader elsewhere can keep it from finishing, and the next retirement tries again.
            if (read < config.resealBatch && (written > 0 || report.retired.length > 0)) {
              await gate.exclusive(() => truncateWal(db)).catch(() => false);
            }
          }
        }
        if (db.remote && !report.pending) await lease.release();
        return report;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      await ticks.run(() =>
        gate.exclusive(async () => {
          // Best effort: fold the WAL into vault.db so that a stopped keeper leaves one file.
          if (!db.remote) await leaveWal(db, 4).catch(() => false);
          // Best effort: let another keeper take the scheduled work now rather than at expiry.
          else await lease.release().catch(() => {});
        }),
      );
      db.close();
      ring.destroy();
      rootKey.fill(0);
    },
  };
  return keeper;
}
