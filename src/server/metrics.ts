/**
 * Prometheus metrics, in the text exposition format (version 0.0.4), with no
 * dependency: counters, gauges and histograms keyed by a few label values.
 *
 * Labels are chosen here, never by a caller's input: an HTTP route is the
 * route's TEMPLATE (`/api/v1/projects/:project/...`), never the URL, so no
 * project, environment or key name and no id can reach a label. A request
 * that matched no route is counted under `route="(unmatched)"`.
 */
import { Elysia } from "elysia";
import type { KeeperApi, KeeperStats } from "../vault";
import type { Rider } from "./audit-log";

type Labels = Record<string, string>;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.entries(labels));
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

export interface Histogram {
  observe(labels: Labels, seconds: number): void;
}

export interface Metrics {
  counter(name: string, help: string): Counter;
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram;
  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number | readonly [Labels, number][]): void;
  /** Gauges that need an asynchronous read (the keeper's stats), refreshed before each render. */
  beforeRender(refresh: () => Promise<void>): void;
  render(): Promise<string>;
  /** The route template each request matched (set by the server's hook, read by the request log). */
  routes: WeakMap<Request, string>;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

export function createMetrics(): Metrics {
  const families: Family[] = [];
  const refreshers: (() => Promise<void>)[] = [];

  return {
    routes: new WeakMap(),
    counter(name, help) {
      const values = new Map<string, { labels: Labels; value: number }>();
      families.push({
        name,
        help,
        type: "counter",
        render: () =>
          [...values.values()].map((v) => `${name}${labelText(v.labels)} ${formatNumber(v.value)}`),
      });
      return {
        inc(labels = {}, by = 1) {
          const key = keyOf(labels);
          const found = values.get(key);
          if (found) found.value += by;
          else values.set(key, { labels, value: by });
        },
      };
    },
    histogram(name, help, buckets = DURATION_BUCKETS) {
      const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
      families.push({
        name,
        help,
        type: "histogram",
        render: () => {
          const lines: string[] = [];
          for (const s of series.values()) {
            buckets.forEach((le, i) => {
              lines.push(`${name}_bucket${labelText({ ...s.labels, le: String(le) })} ${s.counts[i]}`);
            });
            lines.push(`${name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
            lines.push(`${name}_sum${labelText(s.labels)} ${formatNumber(s.sum)}`);
            lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
          }
          return lines;
        },
      });
      return {
        observe(labels, seconds) {
          const key = keyOf(labels);
          let s = series.get(key);
          if (!s) {
            s = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
            series.set(key, s);
          }
          for (let i = 0; i < buckets.length; i++) if (seconds <= buckets[i]!) s.counts[i]!++;
          s.sum += seconds;
          s.count++;
        },
      };
    },
    gauge(name, help, read) {
      families.push({
        name,
        help,
        type: "gauge",
        render: () => {
          const value = read();
          if (typeof value === "number") return [`${name} ${formatNumber(value)}`];
          return value.map(([labels, v]) => `${name}${labelText(labels)} ${formatNumber(v)}`);
        },
      });
    },
    beforeRender(refresh) {
      refreshers.push(refresh);
    },
    async render() {
      await Promise.all(refreshers.map((r) => r().catch(() => {})));
      const out: string[] = [];
      for (const f of families) {
        out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
      }
      return `${out.join("\n")}\n`;
    },
  };
}

/** The server's metrics: HTTP requests, the keeper, the audit queue, lockouts and caches. */
export interface ServerMetrics {
  registry: Metrics;
  requests: Counter;
  requestSeconds: Histogram;
  keeperCalls: Counter;
  keeperSeconds: Histogram;
  auditEvents: Counter;
}

export function createServerMetrics(): ServerMetrics {
  const registry = createMetrics();
  return {
    registry,
    requests: registry.counter(
      "vault_http_requests_total",
      "HTTP requests answered, by method, route template and status",
    ),
    requestSeconds: registry.histogram(
      "vault_http_request_duration_seconds",
      "Time to answer an HTTP request, by method and route template",
    ),
    keeperCalls: registry.counter(
      "vault_keeper_round_trips_total",
      "Calls from the app to the keeper, by operation and outcome",
    ),
    keeperSeconds: registry.histogram(
      "vault_keeper_round_trip_duration_seconds",
      "Time of a call from the app to the keeper, by operation",
    ),
    auditEvents: registry.counter(
      "vault_audit_events_total",
      "Audit events recorded since start, by action (lockouts: action auth.lockout)",
    ),
  };
}

const KEEPER_OPS = ["put", "get", "delete", "list", "stats", "health", "rotate", "rotateRoot"] as const;

/** The keeper API with each call counted and timed (the operation's name only: never a ref). */
export function instrumentKeeper(
  keeper: KeeperApi,
  metrics: ServerMetrics,
  now = performance.now,
): KeeperApi {
  const wrapped = { ...keeper };
  for (const op of KEEPER_OPS) {
    const call = keeper[op] as (...args: unknown[]) => Promise<unknown>;
    (wrapped as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      const started = now();
      try {
        const result = await call.apply(keeper, args);
        metrics.keeperCalls.inc({ op, outcome: "ok" });
        return result;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        metrics.keeperCalls.inc({ op, outcome: typeof code === "string" ? code.toLowerCase() : "error" });
        throw error;
      } finally {
        metrics.keeperSeconds.observe({ op }, (now() - started) / 1000);
      }
    };
  }
  return wrapped;
}

/**
 * The plugin the server uses first: it records the route template of each
 * request (Elysia's `route`, after routing) and serves `/metrics`.
 */
export function metricsRoutes(metrics: ServerMetrics) {
  return new Elysia({ name: "metrics" })
    .onTransform({ as: "global" }, ({ request, route }) => {
      metrics.registry.routes.set(request, route);
    })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
      return metrics.registry.render();
    });
}

/** Reads the context's queue and cache sizes, and the keeper's stats, at scrape time. */
export function serverGauges(
  metrics: ServerMetrics,
  ctx: {
    audit: { queueDepth(): number };
    limiter: { size(): number };
    snapshots: { size(): { entries: number; bytes: number } };
    keeper: Pick<KeeperApi, "stats">;
    /** app.db's `PRAGMA synchronous` on the app's connection (undefined for a remote app.db). */
    synchronous?: () => Promise<number | undefined>;
  },
): void {
  const r = metrics.registry;
  let stats: KeeperStats | undefined;
  let keeperUp = 0;
  let appSynchronous: number | undefined;
  r.beforeRender(async () => {
    appSynchronous = await ctx.synchronous?.().catch(() => undefined);
    try {
      stats = await ctx.keeper.stats();
      keeperUp = 1;
    } catch {
      stats = undefined;
      keeperUp = 0;
    }
  });
  r.gauge("vault_keeper_up", "1 when the keeper answered this scrape's stats call", () => keeperUp);
  r.gauge("vault_keeper_values", "Sealed values held by the keeper", () => stats?.values ?? 0);
  r.gauge("vault_keeper_rotations", "Data-key rotations so far", () => stats?.rotations ?? 0);
  r.gauge("vault_keeper_active_term", "The term that seals new values", () =>
    stats ? Math.max(0, ...stats.terms.filter((t) => t.state === "active").map((t) => t.term)) : 0,
  );
  r.gauge("vault_keeper_reseal_remaining", "Values still sealed under draining terms", () =>
    stats?.reseal ? stats.reseal.remaining : 0,
  );
  r.gauge("vault_keeper_reseal_done", "Values re-sealed into the active term since the last rotation", () =>
    stats?.reseal ? stats.reseal.done : 0,
  );
  r.gauge(
    "vault_db_synchronous",
    "Each local database's PRAGMA synchronous: 2 = FULL (every commit synced), 1 = NORMAL (--durability fast)",
    () => {
      const out: [Labels, number][] = [];
      if (appSynchronous !== undefined) out.push([{ db: "app" }, appSynchronous]);
      if (stats?.synchronous !== undefined) out.push([{ db: "vault" }, stats.synchronous]);
      return out;
    },
  );
  r.gauge("vault_audit_queue_depth", "Audit events waiting for the next commit", () =>
    ctx.audit.queueDepth(),
  );
  r.gauge("vault_rate_limit_buckets", "Rate-limit buckets held in memory", () => ctx.limiter.size());
  r.gauge(
    "vault_snapshot_cache_entries",
    "Opened versions held in memory",
    () => ctx.snapshots.size().entries,
  );
  r.gauge(
    "vault_snapshot_cache_bytes",
    "Bytes of opened versions held in memory",
    () => ctx.snapshots.size().bytes,
  );
  r.gauge("vault_process_resident_bytes", "Resident memory of this process", () => process.memoryUsage.rss());
}

/** Counts audit events by action (a fixed vocabulary: auth.lockout, secrets.read, ...). */
export function countAuditEvents(
  metrics: ServerMetrics,
  audit: { record(event: { action: string }, rider?: Rider): Promise<void> },
): void {
  const record = audit.record.bind(audit);
  // The rider (a version committed with its event) goes through: dropping it would lose the version.
  audit.record = (event, rider) => {
    metrics.auditEvents.inc({ action: event.action });
    return record(event, rider);
  };
}
