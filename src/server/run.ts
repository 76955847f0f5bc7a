/**
 * The app role: opens app.db, connects to the keeper, and serves the public
 * API until asked to stop; in-flight requests finish before it exits.
 */

import { openAppDb } from "../appdb";
import type { Config } from "../config";
import { readKeyFile } from "../db";
import type { Logger } from "../log";
import { createKeeperClient } from "../vault";
import { createServer, MAX_BODY_BYTES } from "./app";
import { createAppContext } from "./context";
import { collectGarbage } from "./gc";

const GC_INTERVAL_MS = 10 * 60_000;

import { afterListen, describeEndpoint, ListenError, listenOptions } from "./listen";

export interface AppRoleOptions {
  config: Readonly<Config>;
  log: Logger;
  ready(): void;
  stopRequested: Promise<string>;
}

export async function runApp({ config, log, ready, stopRequested }: AppRoleOptions): Promise<number> {
  const appdb = await openAppDb(config);
  const token = Buffer.from(readKeyFile(config.keeperTokenFile, "keeper token")).toString("hex");
  const keeper = createKeeperClient({ address: config.keeper, token, tls: keeperTls(config) });
  const ctx = createAppContext({ appdb, keeper, config, log });
  if ((await appdb.users.count()) === 0) {
    log.warn("no users yet: create the owner on this host with", {
      command: `vault admin user add EMAIL --role owner --data ${config.dataDir}`,
    });
  }
  const app = createServer(ctx);
  try {
    app.listen({ ...listenOptions(config), maxRequestBodySize: MAX_BODY_BYTES });
  } catch (error) {
    appdb.close();
    throw new ListenError(
      `cannot listen on ${describeEndpoint(config)}: ${/in use/i.test(String((error as Error).message)) ? "the address is in use" : "the listener failed"}`,
      "stop whatever holds it, or choose another address with --listen",
      { cause: error },
    );
  }
  afterListen(config);
  const where =
    config.listen.kind === "unix"
      ? `unix:${config.listen.path}`
      : `${config.listen.host}:${app.server?.port}`;
  log.info("app listening", { listen: where, tls: config.tlsCertFile ? `>=${config.tlsMin}` : "off" });
  ready();
  const gc = setInterval(() => {
    collectGarbage({ appdb, keeper, now: Date.now, graceMs: config.gcGraceMs })
      .then((r) => r.removed > 0 && log.info("collected orphans", { removed: r.removed, scanned: r.scanned }))
      .catch((error) => log.warn("garbage collection failed", { error: (error as Error).name }));
  }, GC_INTERVAL_MS);
  const reason = await stopRequested;
  clearInterval(gc);
  log.info("app stopping", { reason });
  await app.stop();
  await ctx.audit.flush();
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
