/**
 * The `.env.vault` commands, as the dotenv-vault CLI names them: `build`
 * (the server encrypts every readable environment into `.env.vault`),
 * `keys` (the DOTENV_KEYs that open it), `rotatekey` (a new key for one
 * environment; the previous one keeps opening older builds) and `decrypt`
 * (offline: opens `.env.vault` with a DOTENV_KEY, no server involved).
 */
import { existsSync, readFileSync } from "node:fs";
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { DotenvError, formatDotenv, openEnvVault } from "../../dotenv";
import { EXIT } from "../../exit-codes";
import { flagString, runClient } from "../context";
import { writeFileAtomic } from "../files";
import { LINK_FILE } from "../link";
import { clean, note, printJson, table } from "../output";
import { checkEnvironmentName } from "../refs";
import { resolvePath } from "./secrets";

export function build(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const answer = await client.api().envVault.build(await client.projectId());
    const path = resolvePath(client, LINK_FILE);
    // Ciphertexts and settings only: meant to be committed and deployed.
    writeFileAtomic(path, answer.dotenvVault, 0o644);
    const envs = answer.environments;
    client.io.stdout.write(
      `${clean(`built ${LINK_FILE}${envs ? ` with ${envs.length ? envs.join(", ") : "no environment (push one first)"}` : ""}`)}\n`,
    );
    // Name an environment the file holds (a member may not read production).
    if (envs === undefined) note(client.io, "each environment opens it with its DOTENV_KEY: vault keys ENV");
    else if (envs.length > 0) {
      const pick = envs.includes("production") ? "production" : envs[0]!;
      note(client.io, `${pick} opens it with its DOTENV_KEY: vault keys ${pick}`);
    }
    return EXIT.ok;
  });
}

export function keys(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [env, extra] = client.positionals;
    if (extra !== undefined)
      throw new CliError(`unexpected argument "${extra}"`, EXIT.usage, ["run: vault help keys"]);
    const list = await client
      .api()
      .envVault.keys(await client.projectId(), env === undefined ? undefined : checkEnvironmentName(env));
    if (client.json) printJson(client.io, list);
    else if (env !== undefined && list.length === 1) client.io.stdout.write(`${clean(list[0]!.key)}\n`);
    else
      client.io.stdout.write(
        table([["ENVIRONMENT", "DOTENV_KEY"], ...list.map((k) => [k.environment, k.key])]),
      );
    return EXIT.ok;
  });
}

export function rotatekey(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [env, extra] = client.positionals;
    if (!env || extra !== undefined)
      throw new CliError("rotate which environment's key?", EXIT.usage, ["like: vault rotatekey production"]);
    const answer = await client.api().envVault.rotateKey(await client.projectId(), checkEnvironmentName(env));
    if (client.json) {
      printJson(client.io, answer);
      return EXIT.ok;
    }
    client.io.stdout.write(`${clean(answer.key)}\n`);
    note(
      client.io,
      `new DOTENV_KEY for ${env} above; rebuild with vault build, and deploy the new key with the new .env.vault`,
    );
    note(
      client.io,
      `to open both the old and the new file while you deploy: DOTENV_KEY='<previous>,<new>' (previous: vault rotatekey --json shows it)`,
    );
    return EXIT.ok;
  });
}

export function decrypt(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [arg, extra] = client.positionals;
    if (extra !== undefined)
      throw new CliError(`unexpected argument "${extra}"`, EXIT.usage, ["run: vault help decrypt"]);
    const key = arg ?? client.io.env.DOTENV_KEY;
    if (!key) {
      throw new CliError("which DOTENV_KEY?", EXIT.usage, [
        "set DOTENV_KEY (keeps it out of the process list), or give it: vault decrypt 'dotenv://:key_...'",
      ]);
    }
    const file = flagString(client, "file") ?? LINK_FILE;
    const path = resolvePath(client, file);
    if (!existsSync(path)) throw new CliError(`no ${file} here`, EXIT.notFound, ["build one: vault build"]);
    let values: Record<string, string>;
    try {
      values = openEnvVault(readFileSync(path, "utf8"), key);
    } catch (error) {
      if (error instanceof DotenvError) {
        const exit =
          error.code === "INVALID_DOTENV_KEY"
            ? EXIT.usage
            : error.code === "NOT_FOUND_DOTENV_ENVIRONMENT"
              ? EXIT.notFound
              : EXIT.auth;
        throw new CliError(
          error.message,
          exit,
          error.code === "DECRYPTION_FAILED"
            ? ["this key does not open that environment: check DOTENV_KEY (vault keys ENV)"]
            : [],
        );
      }
      throw error;
    }
    if (client.json) printJson(client.io, values);
    else client.io.stdout.write(Object.keys(values).length ? formatDotenv(values) : "");
    return EXIT.ok;
  });
}
