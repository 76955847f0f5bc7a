/**
 * `vault serve`: by default the supervisor with its two children; with
 * `--role keeper` or `--role app` one role alone (split hosts, or a child of
 * the supervisor when `--supervised`).
 */
import { existsSync, unlinkSync } from "node:fs";
import type { CommandContext } from "../cli-kit";
import { CliError } from "../cli-kit";
import { type Config, loadConfig } from "../config";
import { describeLocation } from "../db";
import { EXIT } from "../exit-codes";
import { createLogger } from "../log";
import {
  acquireLock,
  DataDirLockedError,
  disableCoreDumps,
  ensureKeeperToken,
  type HardenResult,
  keeperRole,
  PreflightError,
  preflight,
  prepareDataDir,
  roleLifecycle,
  runSupervisor,
  unpackAddonForChildren,
} from "../supervisor";

export async function serve(ctx: CommandContext): Promise<number> {
  const supervised = ctx.flags.supervised === true;
  const config = loadConfig(ctx.config, ctx.io.env, ctx.io.cwd);
  const log = createLogger({ level: config.logLevel, format: config.logFormat }, { role: config.role });
  // Before any key is read: a crash must not write them to a core file.
  const hardened = disableCoreDumps({ dumpable: config.debuggable });
  if (!hardened.coreLimitZero || (!config.debuggable && !hardened.nonDumpable)) {
    log.warn("could not turn core dumps off", {
      problem: hardened.problem,
      hint: "set the limit outside: LimitCORE=0 (systemd), ulimit -c 0, or ulimits core 0 (Docker)",
    });
  }
  // A start bound to fail fails here, before the data directory, the keys or the keeper exist.
  if (!supervised) {
    try {
      await preflight(config);
    } catch (error) {
      if (error instanceof PreflightError) throw new CliError(error.message, EXIT.server, [error.hint]);
      if (error instanceof DataDirLockedError) throw lockedError(error);
      throw error;
    }
  }
  prepareDataDir(config, config.role);

  if (config.role === "all") {
    let release: () => void;
    try {
      release = acquireLock(config.dataDir);
    } catch (error) {
      if (error instanceof DataDirLockedError) throw lockedError(error);
      throw error;
    }
    try {
      ensureKeeperToken(config);
      log.info("starting", { ...summary(config), coreDumps: coreDumpsSummary(hardened) });
      return await runSupervisor({
        args: forwardArgs(ctx),
        log,
        childEnv: await unpackAddonForChildren(config.dataDir, log),
        // The app gets --shutdown-timeout to finish its requests; the keeper, which it waits for, a little more.
        stopTimeoutMs: config.shutdownTimeoutMs + 5_000,
        cleanup: (role) => {
          if (
            role === "keeper" &&
            config.keeperListen.kind === "unix" &&
            existsSync(config.keeperListen.path)
          ) {
            unlinkSync(config.keeperListen.path);
          }
        },
      });
    } finally {
      release();
    }
  }

  const lifecycle = roleLifecycle(supervised, log);
  if (config.role === "keeper") {
    ensureKeeperToken(config);
    const { runKeeper } = await keeperRole();
    return runKeeper({ config, log, ready: lifecycle.ready, stopRequested: lifecycle.stopRequested });
  }
  // Each role loads only its own code: the supervisor stays small.
  const { runApp } = await import("../server");
  return runApp({ config, log, ready: lifecycle.ready, stopRequested: lifecycle.stopRequested });
}

/** The serve flags as given, so that both children parse the same configuration. */
function forwardArgs(ctx: CommandContext): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(ctx.config)) {
    if (value === undefined || name === "role") continue;
    if (value === true) args.push(`--${name}`);
    else if (value === false) args.push(`--no-${name}`);
    else args.push(`--${name}=${value}`);
  }
  return args;
}

function lockedError(error: DataDirLockedError): CliError {
  return new CliError(error.message, EXIT.failure, ["stop it first, or use another --data directory"]);
}

function coreDumpsSummary(result: HardenResult): string {
  if (!result.coreLimitZero) return "possible (the limit could not be set)";
  return result.nonDumpable ? "off (not dumpable)" : "off (limit 0; debuggable)";
}

/** The start-up summary: where it listens, where its data is, how TLS is set, which roles run. */
export function summary(config: Readonly<Config>) {
  return {
    roles: config.role === "all" ? "keeper, app (supervised)" : config.role,
    data: config.dataDir,
    listen:
      config.listen.kind === "unix"
        ? `unix:${config.listen.path}`
        : `${config.listen.host}:${config.listen.port}`,
    tls: config.tlsCertFile
      ? `TLS ${config.tlsMin} or newer (1.0 and 1.1 refused); reload with SIGHUP`
      : config.behindProxy
        ? "at the proxy"
        : "off (loopback only)",
    trustedProxies: config.behindProxy ? config.trustedProxies.map((r) => r.text).join(",") : undefined,
    publicUrl: config.publicUrl,
    keeperSocket: config.keeperListen.kind === "unix" ? config.keeperListen.path : undefined,
    appDb: describeLocation(config.appDb),
    vaultDb: describeLocation(config.vaultDb),
    logLevel: config.logLevel,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  };
}
