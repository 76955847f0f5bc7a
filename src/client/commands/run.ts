/**
 * `vault run -- CMD ARGS...` and `vault export`.
 *
 * run starts the command with the environment's values added to its
 * environment (variables already set win unless --override), forwards
 * SIGINT, SIGTERM and SIGHUP, and exits with the child's code (128 + the
 * signal's number when a signal ended it). The child never sees the CLI's
 * credential (VAULT_TOKEN, DOTENV_ME), and values travel only in its
 * environment, never in an argument. The values are the server's resolved
 * ones (references followed, a branch merged, your personal overrides on
 * top); `--local FILE` lays a local .env file over them as the last layer.
 */
import { existsSync } from "node:fs";
import { constants } from "node:os";
import type { CommandContext } from "../../cli-kit";
import { CliError, printError } from "../../cli-kit";
import { parse } from "../../dotenv";
import { EXIT } from "../../exit-codes";
import { type Client, flagString, runClient } from "../context";
import { EXPORT_FORMATS, type ExportFormat, formatExport } from "../formats";
import { envFlag, readDotenvFile, resolvePath } from "./secrets";
import { fetchValues } from "./values";

/** Variables the CLI reads its credential from: never passed on to the child. */
export const CREDENTIAL_VARIABLES = ["VAULT_TOKEN", "DOTENV_ME"] as const;

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The child's environment: ours without the credential, plus the values (ours win unless override). */
export function childEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  values: Readonly<Record<string, string>>,
  override: boolean,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !(CREDENTIAL_VARIABLES as readonly string[]).includes(k)) env[k] = v;
  }
  for (const [k, v] of Object.entries(values)) {
    if (override || !(k in env)) env[k] = v;
  }
  return env;
}

/** `--local FILE`: a local .env file's values, laid over the server's (read before anything is asked). */
export function localLayer(client: Client): { file: string; values: Record<string, string> } | undefined {
  const file = flagString(client, "local");
  if (file === undefined) return undefined;
  const path = resolvePath(client, file);
  if (!existsSync(path)) {
    throw new CliError(`no file ${file} for --local`, EXIT.notFound, ["give the path of a .env file"]);
  }
  return { file, values: parse(readDotenvFile(path, file)) };
}

export function exitCodeOfChild(code: number | null, signal: string | number | null): number {
  if (typeof signal === "number") return 128 + signal;
  if (signal) {
    const n = (constants.signals as Record<string, number>)[signal];
    return 128 + (n ?? 0);
  }
  return code ?? 1;
}

export function run(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const command = client.rest.length > 0 ? client.rest : client.positionals;
    if (command.length === 0) {
      throw new CliError("run what? give the command after --", EXIT.usage, [
        "like: vault run --env staging -- node app.js",
      ]);
    }
    const ref = envFlag(client, `run -- ${command.join(" ").slice(0, 80)}`);
    const local = localLayer(client);
    const { values } = await fetchValues(client, ref, {
      fallback: client.flags.fallback !== false,
      offline: client.flags.offline === true,
    });
    if (local) client.detail(`laid ${local.file} over ${ref.env} (${Object.keys(local.values).length} keys)`);
    const env = childEnvironment(
      client.io.env,
      local ? { ...values, ...local.values } : values,
      client.flags.override === true,
    );
    let child: ReturnType<typeof Bun.spawn>;
    try {
      child = Bun.spawn(command, {
        cwd: client.cwd,
        env,
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      });
    } catch (error) {
      const e = error as { code?: string };
      const missing = e?.code === "ENOENT";
      printError(
        client.io,
        new CliError(
          missing
            ? `command not found: ${command[0]}`
            : `cannot start ${command[0]}: ${e?.code ?? "unknown error"}`,
          EXIT.failure,
          missing ? ["check the name and PATH"] : [],
        ),
      );
      return missing ? 127 : 126;
    }
    const forward = (signal: NodeJS.Signals) => () => {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    };
    const handlers = FORWARDED.map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    try {
      await child.exited;
    } finally {
      for (const [s, h] of handlers) process.off(s, h);
    }
    return exitCodeOfChild(child.exitCode, child.signalCode);
  });
}

export function exportValues(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    if (client.positionals.length > 0) {
      throw new CliError(`unexpected argument "${client.positionals[0]}"`, EXIT.usage, [
        "the environment is --env ENV",
      ]);
    }
    const format = (flagString(client, "format") ?? "dotenv") as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) {
      throw new CliError(`--format: "${format}" is not one of ${EXPORT_FORMATS.join(", ")}`, EXIT.usage);
    }
    const ref = envFlag(client, `export`);
    const { values } = await fetchValues(client, ref, {
      fallback: false,
      offline: client.flags.offline === true,
    });
    client.io.stdout.write(
      formatExport(format, values, {
        name: flagString(client, "name") ?? `vault-${ref.env}`,
        namespace: flagString(client, "namespace"),
      }),
    );
    return EXIT.ok;
  });
}
