/**
 * Webhooks, their deliveries and the attempts at them (migration 0011).
 *
 * The dispatcher's one invariant lives here, in `enqueue`: the delivery rows made from audit
 * events and the cursor past those events are written in one transaction. A crash before it
 * leaves the events to be read again; after it, the deliveries are queued. The unique index on
 * (webhook, event) refuses a second row for one event even if a cursor were ever moved back.
 */
import type { Client } from "@libsql/client";
import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { AppDrizzle } from "../orm";
import { audit, meta, webhookAttempts, webhookDeliveries, webhooks } from "../schema";

export type Webhook = typeof webhooks.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
export type WebhookAttempt = typeof webhookAttempts.$inferSelect;
export type DeliveryState = WebhookDelivery["state"];

export const WEBHOOKS_CURSOR = "webhooks_cursor";

/** What an attempt changes on its delivery. */
export interface AttemptOutcome {
  attempt: WebhookAttempt;
  state: DeliveryState;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
}

export function webhooksRepo(db: AppDrizzle, client: Client) {
  return {
    async insert(row: Webhook): Promise<void> {
      await db.insert(webhooks).values(row);
    },
    async byId(id: string): Promise<Webhook | undefined> {
      return db.query.webhooks.findFirst({ where: eq(webhooks.id, id) });
    },
    async ofProject(projectId: string): Promise<Webhook[]> {
      return db
        .select()
        .from(webhooks)
        .where(eq(webhooks.projectId, projectId))
        .orderBy(asc(webhooks.createdAt), asc(webhooks.id));
    },
    /** Every enabled webhook of every project (the dispatcher's routing table; a small table). */
    async enabled(): Promise<Webhook[]> {
      return db.select().from(webhooks).where(eq(webhooks.enabled, true));
    },
    async update(
      id: string,
      patch: Partial<
        Pick<
          Webhook,
          | "url"
          | "origin"
          | "environments"
          | "events"
          | "secret"
          | "previousSecret"
          | "previousSecretUntil"
          | "enabled"
          | "afterSeq"
        >
      > & {
        updatedAt: number;
      },
    ): Promise<void> {
      await db.update(webhooks).set(patch).where(eq(webhooks.id, id));
    },
    async remove(id: string): Promise<boolean> {
      const gone = await db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
      return gone.length > 0;
    },

    /** The last audit seq turned into deliveries (0 when the row is missing). */
    async cursor(): Promise<number> {
      const row = await db.query.meta.findFirst({ where: eq(meta.key, WEBHOOKS_CURSOR) });
      const n = Number(row?.value ?? 0);
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    },
    /**
     * Audit events after `seq` (up to `upTo`), oldest first; only those with one of `actions` in
     * one of `projects` when given (the filter runs in SQLite: reads, the bulk of the log, never
     * reach the dispatcher).
     */
    async eventsAfter(
      seq: number,
      limit: number,
      filter: { upTo?: number; actions?: readonly string[]; projects?: readonly string[] } = {},
    ) {
      const where: SQL[] = [sql`${audit.seq} > ${seq}`];
      if (filter.upTo !== undefined) where.push(sql`${audit.seq} <= ${filter.upTo}`);
      if (filter.actions) where.push(inArray(audit.action, [...filter.actions]));
      if (filter.projects) where.push(inArray(audit.projectId, [...filter.projects]));
      return db
        .select()
        .from(audit)
        .where(and(...where))
        .orderBy(asc(audit.seq))
        .limit(limit);
    },
    async lastSeq(): Promise<number> {
      const rows = await client.execute("SELECT COALESCE(MAX(seq), 0) AS seq FROM audit");
      return Number(rows.rows[0]?.seq ?? 0);
    },
    /** Queues deliveries and moves the cursor to `cursor`, in one transaction. */
    async enqueue(rows: readonly WebhookDelivery[], cursor: number, at: number): Promise<void> {
      const statements = rows.map((r) => ({
        sql: "INSERT INTO webhook_deliveries (id, webhook_id, event_seq, type, body, state, attempts, next_attempt_at, retry_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        args: [
          r.id,
          r.webhookId,
          r.eventSeq,
          r.type,
          r.body,
          r.state,
          r.attempts,
          r.nextAttemptAt,
          r.retryFrom,
          r.createdAt,
        ],
      }));
      statements.push({
        sql: "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        args: [WEBHOOKS_CURSOR, String(cursor), at],
      });
      await client.batch(statements, "write");
    },
    /** A delivery made by hand (a ping), outside the cursor. */
    async insertDelivery(row: WebhookDelivery): Promise<void> {
      await db.insert(webhookDeliveries).values(row);
    },

    /** Pending deliveries of enabled webhooks that are due, soonest first. */
    async due(now: number, limit: number): Promise<WebhookDelivery[]> {
      const rows = await db
        .select({ d: webhookDeliveries })
        .from(webhookDeliveries)
        .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
        .where(
          and(
            eq(webhookDeliveries.state, "pending"),
            sql`${webhookDeliveries.nextAttemptAt} <= ${now}`,
            eq(webhooks.enabled, true),
          ),
        )
        .orderBy(asc(webhookDeliveries.nextAttemptAt))
        .limit(limit);
      return rows.map((r) => r.d);
    },
    /** The soonest next attempt of any pending delivery of an enabled webhook, if any. */
    async nextDue(): Promise<number | undefined> {
      const rows = await client.execute(
        "SELECT MIN(d.next_attempt_at) AS at FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = 'pending' AND w.enabled = 1",
      );
      const at = rows.rows[0]?.at;
      return at === null || at === undefined ? undefined : Number(at);
    },
    /** Logs an attempt and updates its delivery, in one transaction. */
    async recordAttempt(outcome: AttemptOutcome): Promise<void> {
      const a = outcome.attempt;
      await client.batch(
        [
          {
            sql: "INSERT INTO webhook_attempts (delivery_id, number, at, status, latency_ms, error, excerpt) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            args: [a.deliveryId, a.number, a.at, a.status, a.latencyMs, a.error, a.excerpt],
          },
          {
            sql: "UPDATE webhook_deliveries SET attempts = ?, state = ?, next_attempt_at = ?, last_status = ?, last_error = ?, last_latency_ms = ?, delivered_at = COALESCE(?, delivered_at) WHERE id = ?",
            args: [
              a.number,
              outcome.state,
              outcome.nextAttemptAt,
              a.status,
              a.error,
              a.latencyMs,
              outcome.deliveredAt,
              a.deliveryId,
            ],
          },
        ],
        "write",
      );
    },
    async delivery(id: string): Promise<WebhookDelivery | undefined> {
      return db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, id) });
    },
    /** A webhook's deliveries, newest first. */
    async deliveries(webhookId: string, limit: number): Promise<WebhookDelivery[]> {
      return db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.webhookId, webhookId))
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
        .limit(limit);
    },
    async attempts(deliveryId: string): Promise<WebhookAttempt[]> {
      return db
        .select()
        .from(webhookAttempts)
        .where(eq(webhookAttempts.deliveryId, deliveryId))
        .orderBy(asc(webhookAttempts.number));
    },
    /** Deliveries by state, over every webhook (for /metrics). */
    async counts(): Promise<Record<DeliveryState, number>> {
      const rows = await client.execute("SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state");
      const out: Record<DeliveryState, number> = { pending: 0, delivered: 0, failed: 0 };
      for (const r of rows.rows)
        if (String(r.state) in out) out[String(r.state) as DeliveryState] = Number(r.n);
      return out;
    },
    /** Removes delivered and failed deliveries (and their attempts) queued before `before`. */
    async purge(before: number): Promise<number> {
      const gone = await client.execute({
        sql: "DELETE FROM webhook_deliveries WHERE state != 'pending' AND created_at < ?",
        args: [before],
      });
      return gone.rowsAffected;
    },
    /** Queues a delivery again, now, with a fresh retry window (same id and body). */
    async redeliver(id: string, now: number): Promise<void> {
      await db
        .update(webhookDeliveries)
        .set({ state: "pending", nextAttemptAt: now, retryFrom: now })
        .where(eq(webhookDeliveries.id, id));
    },
  };
}

export type WebhooksRepo = ReturnType<typeof webhooksRepo>;
