/**
 * Durable audit with group commit. `record()` resolves once the event is
 * committed; events recorded while a commit is in flight are committed
 * together in the next one, so auditing every read costs one commit per
 * burst, not one per request. Appends are serialized here, which keeps the
 * hash chain in order.
 *
 * A commit starts on `setImmediate`, not on a microtask: requests arrive one
 * socket event at a time, and a microtask would commit each one alone (a
 * commit is about 0.3 ms of synchronous work whatever its size). Waiting for
 * the end of the current turn of the event loop gathers every request that
 * arrived in it; this one change took pulls over HTTP from 3,300 to 11,400 a
 * second in process.
 *
 * The write path rides on it (issue 17): a new version's statements are
 * committed in the transaction of its `secrets.*` event, so pushes that
 * arrive together share one transaction and one sync of app.db with each
 * other and with the reads' events. When such a transaction fails, each event
 * and its rider are committed again alone: the push at fault (a version
 * another writer took) gets its own error, and the others are committed.
 */
import type { InStatement } from "@libsql/client";
import type { AuditEvent } from "../appdb";
import { createGroupCommit } from "../db";
import type { Logger } from "../log";
import { actorOf, type Caller } from "./auth/caller";

/**
 * Writes that must commit with their event, in its transaction (a new version and its
 * `secrets.*` event): both are committed, or neither.
 */
export type Rider = readonly InStatement[];

export interface AuditSink {
  /** Appends the events, after the riders' statements, in one transaction. */
  append(events: AuditEvent[], at: number, riders?: InStatement[]): Promise<void>;
}

/** Where an event happened: its project and environment, and the client's address. */
export interface AuditWhere {
  projectId?: string | null;
  environmentId?: string | null;
  ip?: string | null;
}

export interface AuditLog {
  /** Commits the event (and its rider's statements, before it, in the same transaction). */
  record(event: Omit<AuditEvent, "at"> & { at?: number }, rider?: Rider): Promise<void>;
  /** Records what a caller did: the actor from the caller, the details as JSON (names and counts, never values). */
  event(caller: Caller, action: string, where: AuditWhere, detail?: object, rider?: Rider): Promise<void>;
  /** Events waiting for the next commit (for /metrics). */
  queueDepth(): number;
  flush(): Promise<void>;
}

export function createAuditLog(
  sink: AuditSink,
  options: { now: () => number; log?: Logger; maxBatch?: number },
): AuditLog {
  // A failed transaction of several events is tried again event by event (src/db/group-commit.ts):
  // a rider at fault (a version another writer took) fails alone, and the others are committed.
  const group = createGroupCommit<{ event: AuditEvent; rider?: Rider }, void>(
    async (items) => {
      const riders = items.flatMap((i) => i.rider ?? []);
      try {
        await sink.append(
          items.map((i) => i.event),
          options.now(),
          riders.length > 0 ? riders : undefined,
        );
      } catch (error) {
        options.log?.error("audit commit failed", { events: items.length, error: (error as Error).name });
        throw error;
      }
      return [];
    },
    { maxBatch: options.maxBatch },
  );

  const log: AuditLog = {
    event(caller, action, where, detail, rider) {
      return log.record(
        {
          action,
          ...actorOf(caller),
          projectId: where.projectId ?? null,
          environmentId: where.environmentId ?? null,
          detail: detail === undefined ? null : JSON.stringify(detail),
          ip: where.ip ?? null,
        },
        rider,
      );
    },
    record(event, rider) {
      return group.submit({ event: { ...event, at: event.at ?? options.now() } as AuditEvent, rider });
    },
    queueDepth: () => group.queueDepth(),
    flush: () => group.flush(),
  };
  return log;
}
