/**
 * The app role: opens app.db, connects to the keeper, and serves the public
 * API until asked to stop; in-flight requests finish before it exits.
 */

import { openAppDb } from "../appdb";
import type { Config } from "../config";
import { describeLocation, readKeyFile } from "../db";
import type { Logger } from "../log";
import { createKeeperClient } from "../vault";
import { createServer, MAX_BODY_BYTES } from "./app";
import { createAppContext } from "./context";
import { collectGarbage } from "./gc";
import { afterListen, describeEndpoint, ListenError } from "./listen";
import { type PublicListener, startListener } from "./listener";
import { countAuditEvents, createServerMetrics, instrumentKeeper, serverGauges } from "./metrics";
import { webhookGauges } from "./modules/webhooks/metrics";
import { observedHandler } from "./request-log";

/** A CLI polls a hand-off for minutes; an hour later nothing can still want its row. */
const HANDOFF_PURGE_AFTER_MS = 3_600_000;
const GC_INTERVAL_MS = 10 * 60_000;

export interface AppRoleOptions {
  config: Readonly<Config>;
  log: Logger;
  ready(): void;
  stopRequested: Promise<string>;
}

export async function runApp({ config, log, ready, stopRequested }: AppRoleOptions): Promise<number> {
  const appdb = await openAppDb(config);
  const token = Buffer.from(readKeyFile(config.keeperTokenFile, "keeper token")).toString("hex");
  const metrics = createServerMetrics();
  const keeper = instrumentKeeper(
    createKeeperClient({ address: config.keeper, token, tls: keeperTls(config) }),
    metrics,
  );
  const ctx = createAppContext({ appdb, keeper, config, log });
  // Discovery of the single sign-on provider in the background: the app serves without it.
  ctx.oidc?.start();
  serverGauges(metrics, {
    audit: ctx.audit,
    limiter: ctx.limiter,
    snapshots: ctx.snapshots,
    keeper: ctx.keeper,
    synchronous: () => appdb.synchronous(),
  });
  countAuditEvents(metrics, ctx.audit);
  webhookGauges(metrics.registry, appdb);
  if ((await appdb.users.count()) === 0) {
    log.warn("no users yet: create the owner on this host with", {
      command: `vault admin user add EMAIL --role owner --data ${config.dataDir}`,
    });
  }
  const app = createServer(ctx, metrics);
  const handle = observedHandler({ handle: (request) => app.handle(request), metrics, log });
  let listener: PublicListener;
  try {
    listener = await startListener({
      config,
      fetch: (request) => handle(request),
      refused: (request, response) => handle(request, () => response),
      maxRequestBodySize: MAX_BODY_BYTES,
      // The routes read the client's address through Elysia's server.
      onServer: (server) => {
        app.server = server;
      },
    });
  } catch (error) {
    appdb.close();
    if (error instanceof ListenError) throw error;
    throw new ListenError(
      `cannot listen on ${describeEndpoint(config)}: ${/in use/i.test(String((error as Error).message)) ? "the address is in use" : "the listener failed"}`,
      "stop whatever holds it, or choose another address with --listen",
      { cause: error },
    );
  }
  afterListen(config);
  const where =
    config.listen.kind === "unix" ? `unix:${config.listen.path}` : `${config.listen.host}:${listener.port}`;
  log.info("app listening", {
    listen: where,
    publicUrl: config.publicUrl,
    tls: config.tlsCertFile ? `TLS ${config.tlsMin} or newer` : config.behindProxy ? "at the proxy" : "off",
    keeper:
      config.keeper.kind === "unix"
        ? `unix:${config.keeper.path}`
        : `https://${config.keeper.host}:${config.keeper.port}`,
    appDb: describeLocation(config.appDb),
  });
  const onHangup = () => {
    listener.reloadTls().then(
      () => log.info("TLS certificate reloaded", { cert: config.tlsCertFile }),
      (error) =>
        log.error("TLS certificate reload failed; the previous certificate stays in use", {
          error: (error as Error).message,
        }),
    );
  };
  if (config.tlsCertFile) process.on("SIGHUP", onHangup);
  ready();
  // Deliveries queued before a crash or a restart go out now (at least once; see modules/webhooks).
  ctx.webhooks.start();
  const gc = setInterval(() => {
    collectGarbage({ appdb, keeper, now: Date.now, graceMs: config.gcGraceMs })
      .then((r) => r.removed > 0 && log.info("collected orphans", { removed: r.removed, scanned: r.scanned }))
      .catch((error) => log.warn("garbage collection failed", { error: (error as Error).name }));
    // Hand-offs approved but never collected: their sealed credentials leave app.db (and its WAL).
    appdb.handoffs.wipeExpired(Date.now()).catch(() => 0);
    // Long after any CLI stopped polling them, requests and first-poll origins go entirely.
    appdb.handoffs.purgeExpired(Date.now() - HANDOFF_PURGE_AFTER_MS).catch(() => 0);
    // The webhook delivery log keeps 30 days of finished deliveries.
    ctx.webhooks.purge().catch(() => 0);
  }, GC_INTERVAL_MS);
  const reason = await stopRequested;
  clearInterval(gc);
  ctx.oidc?.stop();
  log.info("app stopping", { reason, deadlineMs: config.shutdownTimeoutMs });
  process.off("SIGHUP", onHangup);
  const { forced } = await listener.stop(config.shutdownTimeoutMs);
  if (forced) log.warn("in-flight requests did not finish before the deadline; closed them");
  await ctx.audit.flush();
  await ctx.webhooks.stop();
  appdb.close();
  return 0;
}

function keeperTls(config: Readonly<Config>) {
  if (config.keeper.kind !== "https") return undefined;
  return {
    cert: Bun.file(config.keeperTlsCertFile!),
    key: Bun.file(config.keeperTlsKeyFile!),
    ca: Bun.file(config.keeperTlsCaFile!),
  };
}
