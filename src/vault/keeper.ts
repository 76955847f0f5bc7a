/**
 * The keeper in process: seals values under the keyring's active term, stores
 * them in vault.db, and runs the scheduled work (rotation, re-seal,
 * retirement) when `tick()` is called.
 *
 * Invariants:
 * - A value is written only under a term that holds a key, and a term is
 *   retired only when no row uses it. Both hold because writes share the gate
 *   and retirement holds it alone.
 * - Re-sealing is resumable: the rows still on older terms are the progress.
 * - Seal counts per term are persisted with the writes that make them, so the
 *   encryption cap survives restarts.
 * - The schedule stays inside the sealed keyring: no answer, event or error
 *   carries it.
 */
import { randomBytes } from "node:crypto";
import { migrate, newKey } from "../db";
import { checkRef } from "./envelope";
import { KeeperError } from "./errors";
import { atRestKeyFor, type Keeper, type KeeperOptions, type TickReport } from "./keeper-types";
import { Keyring, openKeyring, sealKeyring } from "./keyring";
import { Gate, Mutex } from "./lock";
import { vaultMigrations } from "./migrations";
import { createStore, leaveWal, type NewValue, rekeyAtRest } from "./store";
import type { KeeperHealth, KeeperStats } from "./types";

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

  async function loadKeyring(): Promise<Keyring> {
    const sealed = await store.loadKeyring();
    if (sealed === null) {
      const created = Keyring.create(now(), config, random);
      await store.saveKeyring(sealKeyring(rootKey, created, random), now(), created.activeTerm);
      log({ event: "keeper.keyring_created", term: created.activeTerm });
      return created;
    }
    const opened = openKeyring(rootKey, sealed);
    if (opened.fitsWindow(config)) return opened;
    // The window was changed since the schedule was drawn: draw again inside the new one.
    const rescheduled = opened.rescheduled(config, random);
    await store.saveKeyring(sealKeyring(rootKey, rescheduled, random), now());
    return rescheduled;
  }

  function ensureOpen(): void {
    if (closed) throw new KeeperError("CLOSED", "the keeper is closed");
  }

  const sealsUnder = (term: number) => seals.get(term) ?? 0;
  const countSeals = (term: number, n: number) => seals.set(term, sealsUnder(term) + n);
  /** A batch of n more seals would pass the cap (a first batch larger than the cap is let through). */
  const overCap = (n: number) => {
    const done = sealsUnder(ring.activeTerm);
    return done >= config.rotateCap || (done > 0 && done + n > config.rotateCap);
  };

  async function rotateLocked(reason: "schedule" | "cap" | "forced"): Promise<number> {
    const next = ring.rotated(now(), config, random);
    await store.saveKeyring(sealKeyring(rootKey, next, random), now(), next.activeTerm);
    ring = next;
    seals.set(next.activeTerm, 0);
    log({ event: "keeper.rotated", term: next.activeTerm, reason });
    return next.activeTerm;
  }

  /** Re-seals one batch of values from older terms under the active one; returns [read, written]. */
  async function resealBatch(): Promise<[number, number]> {
    const current = ring;
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
    const written = await store.writeResealed(resealed, active);
    log({ event: "keeper.resealed", values: written });
    return [stale.length, written];
  }

  /** Destroys the keys of draining terms that no value uses any more. */
  async function retireDrained(): Promise<number[]> {
    let next = ring;
    const retired: number[] = [];
    for (const term of ring.drainingTerms()) {
      if ((await store.valuesUnder(term)) > 0) continue;
      next = next.retired(term, now());
      retired.push(term);
    }
    if (retired.length === 0) return retired;
    await store.saveKeyring(sealKeyring(rootKey, next, random), now());
    ring.destroyRetired(next);
    ring = next;
    for (const term of retired) log({ event: "keeper.retired", term });
    return retired;
  }

  const keeper: Keeper = {
    async put(blobs) {
      ensureOpen();
      if (blobs.length === 0) return [];
      if (overCap(blobs.length)) {
        await gate.exclusive(async () => {
          if (overCap(blobs.length)) await rotateLocked("cap");
        });
      }
      return gate.shared(async () => {
        const { term, refs, blobs: sealed } = ring.sealNew(blobs, random, now());
        const values: NewValue[] = refs.map((ref, i) => ({ ref, term, blob: sealed[i]! }));
        countSeals(term, values.length);
        await store.insertValues(values, now());
        return refs;
      });
    },

    async get(refs) {
      ensureOpen();
      for (const ref of refs) checkRef(ref);
      return gate.shared(async () => {
        const found = await store.getValues(refs);
        return refs.map((ref) => {
          const blob = found.get(Buffer.from(ref).toString("hex"));
          return blob === undefined ? null : ring.open(ref, blob);
        });
      });
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
        return {
          values: [...byTerm.values()].reduce((a, b) => a + b, 0),
          terms,
          reseal:
            draining.length === 0
              ? null
              : { fromTerms: draining, remaining, done: counters.get(active)?.resealed ?? 0 },
          rotations: active - 1,
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
      return { term: await gate.exclusive(() => rotateLocked("forced")) };
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
        await store.saveKeyring(sealKeyring(next, ring, random), now());
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
        const due = ring.isDue(now());
        if (due || overCap(0)) {
          await gate.exclusive(() => rotateLocked(due ? "schedule" : "cap"));
          report.rotated = true;
        }
        if (ring.drainingTerms().length === 0) return report;
        const [read, written] = await gate.shared(resealBatch);
        report.resealed = written;
        if (read < config.resealBatch) report.retired = await gate.exclusive(retireDrained);
        report.pending = ring.drainingTerms().length > 0;
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
        }),
      );
      db.close();
      ring.destroy();
      rootKey.fill(0);
    },
  };
  return keeper;
}
