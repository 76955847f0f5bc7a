/**
 * The webhook dispatcher, in the app process: audit events in, signed deliveries out.
 *
 * The audit log is the source of truth. `enqueue` reads the events after the cursor (the last
 * audit seq turned into deliveries), makes a delivery row for every enabled webhook each one
 * matches, and writes the rows and the new cursor in one transaction (repos/webhooks.ts). So a
 * `kill -9` at any moment loses nothing: an event whose deliveries were not committed is read
 * again, and a committed delivery is attempted again until it is delivered or its retry window
 * ends. An attempt cut short by a crash is made again: delivery is at least once, and receivers
 * dedupe by the delivery id, which every retry and redelivery keeps.
 *
 * Cheap when idle: the audit log's append wakes the dispatcher only for events it may deliver
 * (an action that maps to a webhook event, in a project that has an enabled webhook), so reads
 * cost nothing here; a slow poll (`pollMs`) picks up due retries. The cursor skips events
 * nobody wants in memory and is written with the next deliveries (or at most once a minute):
 * scanning them again after a restart queues nothing.
 *
 * Retries: exponential backoff from `retryBaseMs`, doubling to `retryMaxMs`, with jitter (each
 * delay drawn between half and all of it), for `retryWindowMs` (24 hours) from its queueing or
 * its last redelivery by hand; then the delivery is failed. Every attempt is logged with its
 * status, latency and error class.
 */
import type { AppDb, AuditRow, Random, Webhook, WebhookDelivery } from "../../../appdb";
import { newId } from "../../../appdb";
import type { Logger } from "../../../log";
import { type AppSealer, binding } from "../../crypto/app-seal";
import { type AddressPolicy, defaultResolve, type Resolve } from "./address";
import { type AttemptResult, sendOnce } from "./deliver";
import {
  type BodyContext,
  bodyOf,
  DELIVERABLE_ACTIONS,
  eventOf,
  type Keys,
  pingBody,
  versionOf,
} from "./events";

export interface DispatcherOptions {
  appdb: Pick<AppDb, "webhooks" | "projects" | "versions">;
  sealer: AppSealer;
  log: Logger;
  now: () => number;
  random: Random;
  policy: AddressPolicy;
  resolve?: Resolve;
  retryBaseMs?: number;
  retryMaxMs?: number;
  retryWindowMs?: number;
  timeoutMs?: number;
  pollMs?: number;
  /** Attempts in flight at once. */
  concurrency?: number;
  /** Certificate authorities trusted for https receivers instead of the system's (tests). */
  ca?: string;
}

export const RETRY_WINDOW_MS = 24 * 3_600_000;
/** How long the delivery log keeps a delivered or failed delivery. */
export const DELIVERY_LOG_MS = 30 * 86_400_000;
const SCAN_BATCH = 500;
const CURSOR_WRITE_MS = 60_000;

export const secretBinding = (webhookId: string) => binding("value", "webhook-secret", webhookId);
export const previousSecretBinding = (webhookId: string) =>
  binding("value", "webhook-previous-secret", webhookId);
export const urlBinding = (webhookId: string) => binding("value", "webhook-url", webhookId);

export function createWebhookDispatcher(options: DispatcherOptions) {
  const { appdb, sealer, log, now, random, policy } = options;
  const resolve = options.resolve ?? defaultResolve;
  const retryBaseMs = options.retryBaseMs ?? 10_000;
  const retryMaxMs = options.retryMaxMs ?? 3_600_000;
  const retryWindowMs = options.retryWindowMs ?? RETRY_WINDOW_MS;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pollMs = options.pollMs ?? 1_000;
  const concurrency = options.concurrency ?? 8;

  const inFlight = new Map<string, Promise<void>>();
  /** Projects with an enabled webhook: the audit log wakes the dispatcher only for these. */
  let watched = new Set<string>();
  let memoryCursor: number | undefined;
  let cursorWrittenAt = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let started = false;
  const abort = new AbortController();

  const open = (sealed: string, bindingBytes: Uint8Array) =>
    new TextDecoder().decode(sealer.open(Buffer.from(sealed, "base64"), bindingBytes));

  /** Half to all of the doubled delay: retries of many deliveries spread out. */
  const backoff = (attempt: number): number => {
    const full = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(30, attempt - 1));
    const r = Buffer.from(random(4)).readUInt32BE(0) / 0x1_0000_0000;
    return Math.round(full / 2 + (r * full) / 2);
  };

  const matches = (hook: Webhook, type: string, environmentId: string | null): boolean => {
    if (hook.events !== null && !(JSON.parse(hook.events) as string[]).includes(type)) return false;
    // Project-wide events (members, tokens) go to every webhook of the project.
    if (hook.environments !== null && environmentId !== null)
      return (JSON.parse(hook.environments) as string[]).includes(environmentId);
    return true;
  };

  async function keysOf(row: AuditRow, version: number | null): Promise<Keys | null> {
    if (row.environmentId === null || version === null) return null;
    const [found] = await appdb.versions.list(row.environmentId, { limit: 1, before: version + 1 });
    if (found?.number !== version) return null;
    const s = JSON.parse(found.summary) as Partial<Keys>;
    return { added: s.added ?? [], changed: s.changed ?? [], removed: s.removed ?? [] };
  }

  /** Audit events after the cursor into delivery rows; the number of rows made (one already queued is kept). */
  async function enqueue(): Promise<number> {
    let queued = 0;
    for (;;) {
      const hooks = await appdb.webhooks.enabled();
      watched = new Set(hooks.map((h) => h.projectId));
      const cursor = Math.max(memoryCursor ?? 0, await appdb.webhooks.cursor());
      const top = await appdb.webhooks.lastSeq();
      if (top <= cursor) {
        memoryCursor = cursor;
        return queued;
      }
      // Only what a webhook may want, of the projects that have one, is read; the rest is skipped.
      const events =
        hooks.length === 0
          ? []
          : await appdb.webhooks.eventsAfter(cursor, SCAN_BATCH, {
              upTo: top,
              actions: DELIVERABLE_ACTIONS,
              // A bounded list of parameters; with very many projects, the loop below picks them.
              projects: watched.size <= 500 ? [...watched] : undefined,
            });
      const full = events.length === SCAN_BATCH;
      const last = full ? events[events.length - 1]!.seq : top;
      const rows: WebhookDelivery[] = [];
      const names = new Map<string, string | null>();
      const nameOf = async (kind: "project" | "environment", id: string) => {
        const k = `${kind}:${id}`;
        if (!names.has(k)) {
          const found =
            kind === "project" ? await appdb.projects.byId(id) : await appdb.projects.environmentById(id);
          names.set(k, found?.name ?? null);
        }
        return names.get(k) ?? null;
      };
      for (const row of events) {
        const type = eventOf(row.action);
        if (!type || row.projectId === null) continue;
        const targets = hooks.filter(
          (h) => h.projectId === row.projectId && h.afterSeq < row.seq && matches(h, type, row.environmentId),
        );
        if (targets.length === 0) continue;
        const projectName = await nameOf("project", row.projectId);
        if (projectName === null) continue;
        const envName = row.environmentId === null ? null : await nameOf("environment", row.environmentId);
        const context: BodyContext = {
          project: { id: row.projectId, name: projectName },
          environment:
            row.environmentId === null ? null : { id: row.environmentId, name: envName ?? "(removed)" },
          keys: type.startsWith("version.") ? await keysOf(row, versionOf(row)) : null,
        };
        const at = now();
        for (const hook of targets) {
          const id = newId.delivery(random);
          rows.push({
            id,
            webhookId: hook.id,
            eventSeq: row.seq,
            type,
            body: JSON.stringify(bodyOf(id, type, row, context)),
            state: "pending",
            attempts: 0,
            nextAttemptAt: at,
            retryFrom: at,
            createdAt: at,
            lastStatus: null,
            lastError: null,
            lastLatencyMs: null,
            deliveredAt: null,
          });
        }
      }
      if (rows.length > 0 || now() - cursorWrittenAt >= CURSOR_WRITE_MS) {
        await appdb.webhooks.enqueue(rows, last, now());
        cursorWrittenAt = now();
      }
      memoryCursor = last;
      queued += rows.length;
      if (!full) return queued;
    }
  }

  async function attempt(delivery: WebhookDelivery): Promise<void> {
    const hook = await appdb.webhooks.byId(delivery.webhookId);
    if (!hook) return;
    let result: AttemptResult;
    try {
      result = await sendOnce({
        url: open(hook.url, urlBinding(hook.id)),
        body: delivery.body,
        deliveryId: delivery.id,
        secret: [
          open(hook.secret, secretBinding(hook.id)),
          ...(hook.previousSecret !== null && (hook.previousSecretUntil ?? 0) > now()
            ? [open(hook.previousSecret, previousSecretBinding(hook.id))]
            : []),
        ],
        timestamp: Math.floor(now() / 1000),
        policy,
        resolve,
        timeoutMs,
        signal: abort.signal,
        ca: options.ca,
      });
    } catch (error) {
      log.error("webhook attempt failed to run", {
        webhook: hook.id,
        delivery: delivery.id,
        error: (error as Error).name,
      });
      result = { status: null, latencyMs: 0, error: "NETWORK", excerpt: null };
    }
    // A stopping app leaves the delivery pending: it is attempted again after the restart.
    if (result.aborted) return;
    const at = now();
    const number = delivery.attempts + 1;
    const ok = result.error === null;
    const windowOver = at >= delivery.retryFrom + retryWindowMs;
    const state = ok ? "delivered" : windowOver ? "failed" : "pending";
    await appdb.webhooks.recordAttempt({
      attempt: {
        deliveryId: delivery.id,
        number,
        at,
        status: result.status,
        latencyMs: result.latencyMs,
        error: result.error,
        excerpt: result.excerpt,
      },
      state,
      nextAttemptAt: state === "pending" ? at + backoff(number) : null,
      deliveredAt: ok ? at : null,
    });
    const fields = {
      webhook: hook.id,
      delivery: delivery.id,
      type: delivery.type,
      origin: hook.origin,
      attempt: number,
      status: result.status,
      latencyMs: result.latencyMs,
      error: result.error,
    };
    if (ok) log.debug("webhook delivered", fields);
    else if (state === "failed") log.warn("webhook delivery failed for good", fields);
    else log.info("webhook attempt failed; will retry", fields);
  }

  /** Runs one attempt of a delivery unless one is already in flight; resolves when it is recorded. */
  function track(delivery: WebhookDelivery): Promise<void> {
    const existing = inFlight.get(delivery.id);
    if (existing) return existing;
    const p = attempt(delivery)
      .catch((error) =>
        log.error("webhook attempt not recorded", { delivery: delivery.id, error: (error as Error).name }),
      )
      .finally(() => {
        inFlight.delete(delivery.id);
        // A slot is free: the next due delivery goes now, not at the next poll.
        run();
      });
    inFlight.set(delivery.id, p);
    return p;
  }

  /** Starts attempts of the due deliveries, up to `concurrency` in flight. */
  async function deliverDue(): Promise<number> {
    const room = concurrency - inFlight.size;
    if (room <= 0) return 0;
    const due = (await appdb.webhooks.due(now(), room + inFlight.size)).filter((d) => !inFlight.has(d.id));
    for (const d of due.slice(0, room)) void track(d);
    return Math.min(due.length, room);
  }

  async function runOnce(): Promise<void> {
    await enqueue();
    await deliverDue();
  }

  /** Runs `runOnce` now, or once more after the run in progress. */
  function run(): void {
    if (!started) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await runOnce();
        } catch (error) {
          log.warn("webhook dispatch failed; retrying at the next poll", { error: (error as Error).name });
        }
      } while (again && started);
      running = undefined;
    })();
  }

  return {
    policy,
    resolve,
    start(): void {
      if (started) return;
      started = true;
      timer = setInterval(run, pollMs);
      timer.unref?.();
      run();
    },
    async stop(): Promise<void> {
      started = false;
      if (timer) clearInterval(timer);
      abort.abort();
      await running;
      await Promise.all(inFlight.values());
    },
    /** After an audit commit: wakes the dispatcher when an event may be delivered. */
    appended(events: readonly { action: string; projectId?: string | null }[]): void {
      if (events.some((e) => e.projectId && watched.has(e.projectId) && eventOf(e.action))) run();
    },
    /** Forget the routing table (a webhook was made, changed or removed). */
    changed(): void {
      appdb.webhooks.enabled().then(
        (hooks) => {
          watched = new Set(hooks.map((h) => h.projectId));
        },
        () => undefined,
      );
    },
    /** Drops delivered and failed deliveries older than DELIVERY_LOG_MS (the app's periodic cleanup). */
    purge: () => appdb.webhooks.purge(now() - DELIVERY_LOG_MS),
    enqueue,
    deliverDue,
    runOnce,
    /** Every attempt in flight has been recorded. */
    async idle(): Promise<void> {
      while (inFlight.size > 0) await Promise.all(inFlight.values());
    },
    /** Attempts one delivery now (a ping, a redelivery) and resolves once it is recorded. */
    async attemptNow(deliveryId: string): Promise<void> {
      const d = await appdb.webhooks.delivery(deliveryId);
      if (d) await track(d);
    },
    /** A ping: a delivery outside the audit log, attempted now. */
    async ping(hook: Webhook, project: { id: string; name: string }): Promise<string> {
      const id = newId.delivery(random);
      const at = now();
      await appdb.webhooks.insertDelivery({
        id,
        webhookId: hook.id,
        eventSeq: null,
        type: "ping",
        body: JSON.stringify(pingBody(id, at, project)),
        state: "pending",
        attempts: 0,
        nextAttemptAt: at,
        retryFrom: at,
        createdAt: at,
        lastStatus: null,
        lastError: null,
        lastLatencyMs: null,
        deliveredAt: null,
      });
      await this.attemptNow(id);
      return id;
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
