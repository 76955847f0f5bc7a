/**
 * The app role: opens app.db, connects to the keeper, and serves the public
 * API until asked to stop; in-flight requests finish before it exits.
 */

import { openAppDb } from "../appdb";
import type { Config } from "../config";
import { readKeyFile } from "../db";
import type { Logger } from "../log";
import { createKeeperClient } from "../vault";
import { createServer } from "./app";
import { afterListen, listenOptions } from "./listen";

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
  const app = createServer({
    appdb,
    keeper,
    log: (_level, message, fields) => log.error(message, fields as Record<string, string>),
  });
  app.listen(listenOptions(config));
  afterListen(config);
  const where =
    config.listen.kind === "unix"
      ? `unix:${config.listen.path}`
      : `${config.listen.host}:${app.server?.port}`;
  log.info("app listening", { listen: where, tls: config.tlsCertFile ? `>=${config.tlsMin}` : "off" });
  ready();
  const reason = await stopRequested;
  log.info("app stopping", { reason });
  await app.stop();
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
