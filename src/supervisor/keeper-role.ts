/**
 * The keeper role: owns vault.db and the root key, serves the private socket
 * and runs the scheduled work (rotation, re-seal, retirement) on a timer.
 */
import type { Config } from "../config";
import { readKeyFile } from "../db";
import type { Logger } from "../log";
import { openKeeper, serveKeeper } from "../vault";

export interface KeeperRoleOptions {
  config: Readonly<Config>;
  log: Logger;
  ready(): void;
  stopRequested: Promise<string>;
}

const TICK_MS = 1_000;

export async function runKeeper({ config, log, ready, stopRequested }: KeeperRoleOptions): Promise<number> {
  const token = Buffer.from(readKeyFile(config.keeperTokenFile, "keeper token")).toString("hex");
  const keeper = await openKeeper({ config });
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
  let ticking = false;
  const timer = setInterval(async () => {
    if (ticking) return;
    ticking = true;
    try {
      await keeper.tick();
    } catch (error) {
      log.error("scheduled keeper work failed", {
        error: (error as Error).name,
        code: (error as { code?: string }).code,
      });
    } finally {
      ticking = false;
    }
  }, TICK_MS);
  ready();
  const reason = await stopRequested;
  log.info("keeper stopping", { reason });
  clearInterval(timer);
  await service.stop();
  keeper.close();
  return 0;
}
