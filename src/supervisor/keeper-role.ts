/**
 * The keeper role: owns vault.db and the root key, serves the private socket
 * and runs the scheduled work (rotation, re-seal, retirement) on a timer.
 */
import type { Config } from "../config";
import { readKeyFile } from "../db";
import type { Logger } from "../log";
import { openKeeper, serveKeeper, startTicker } from "../vault";

export interface KeeperRoleOptions {
  config: Readonly<Config>;
  log: Logger;
  ready(): void;
  stopRequested: Promise<string>;
}

export async function runKeeper({ config, log, ready, stopRequested }: KeeperRoleOptions): Promise<number> {
  const token = Buffer.from(readKeyFile(config.keeperTokenFile, "keeper token")).toString("hex");
  const keeper = await openKeeper({
    config,
    log: ({ event, ...fields }) => log.info(event, fields),
  });
  const service = await serveKeeper({
    keeper,
    token,
    listen: config.keeperListen,
    tls:
      config.keeperListen.kind === "tcp"
        ? {
            cert: Bun.file(config.keeperTlsCertFile!),
            key: Bun.file(config.keeperTlsKeyFile!),
            ca: Bun.file(config.keeperTlsCaFile!),
          }
        : undefined,
  });
  log.info("keeper listening", {
    listen:
      config.keeperListen.kind === "unix"
        ? `unix:${config.keeperListen.path}`
        : `${config.keeperListen.host}:${config.keeperListen.port}`,
  });
  const ticker = startTicker(keeper, {
    onError: (error) =>
      log.error("scheduled keeper work failed", {
        error: (error as Error).name,
        code: (error as { code?: string }).code,
      }),
  });
  ready();
  const reason = await stopRequested;
  log.info("keeper stopping", { reason });
  await ticker.stop();
  await service.stop();
  await keeper.close();
  return 0;
}
