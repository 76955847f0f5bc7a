/**
 * `vault push`, `pull`, `get`, `set`, `unset`, `versions`, `rollback`.
 *
 * Push is optimistic: it sends the version this checkout last pulled or
 * pushed (remembered per server, project, environment and directory) as `baseVersion`,
 * so a push over someone else's newer version is refused (409) with what
 * changed meanwhile, instead of silently undoing it. `--force` sends none,
 * and neither does `--merge`: it sets the file's keys on the latest version,
 * as `vault set` does, and removes nothing.
 *
 * A file that holds no keys (empty, only comments, or JSON, which dotenv
 * reads as nothing) would replace the environment with nothing: push says
 * so and asks on a terminal, or refuses without `--yes`.
 */
import { chmodSync, existsSync, readFileSync, renameSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { parse } from "../../dotenv";
import { EXIT } from "../../exit-codes";
import type { Client } from "../context";
import { flagString, runClient } from "../context";
import { ClientError } from "../errors";
import { decodeText, writeFileAtomic } from "../files";
import { clean, isoTime, nameList, note, printJson, summaryText, table, warn, withProgress } from "../output";
import { isInteractive, promptLine, readAllStdinBytes } from "../prompt";
import { defaultFileFor, type EnvRef, parseEnvAtVersion, parseEnvRef } from "../refs";
import { held } from "./requests";
import { cacheValues } from "./values";

export const DEFAULT_ENV = "development";

/** The largest file the server takes (README: 2 MiB per file), checked before sending it. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** A local .env file as text: at most 2 MiB, valid UTF-8, no NUL; else an error naming the file. */
export function readDotenvFile(path: string, file: string): string {
  const bytes = readFileSync(path);
  if (bytes.length > MAX_FILE_BYTES) {
    throw new CliError(
      `${file} is ${(bytes.length / 1024 / 1024).toFixed(1)} MiB; the server takes files of at most 2 MiB`,
      EXIT.usage,
      ["split it across environments, or keep large blobs elsewhere and a reference here"],
    );
  }
  return decodeText(bytes, file);
}

export function resolvePath(client: Client, file: string): string {
  return isAbsolute(file) ? file : join(client.cwd, file);
}

/**
 * `--env ENV[@VERSION]`, default development; a refusal on the default names
 * the environments the credential can read, in `command` with `--env ENV`
 * added (before a `--`, if any).
 */
export function envFlag(client: Client, command: string, need: "read" | "write" = "read"): EnvRef {
  const given = flagString(client, "env");
  if (given === undefined) {
    const [head, tail] = command.split(" -- ");
    client.defaultEnv = {
      env: DEFAULT_ENV,
      need,
      example: (e) => `vault ${head} --env ${e}${tail === undefined ? "" : ` -- ${tail}`}`,
    };
  }
  return parseEnvRef(given ?? DEFAULT_ENV);
}

/** The environment argument, default development (a refusal there names the readable ones). */
function envArg(
  client: Client,
  given: string | undefined,
  example: (env: string) => string,
  need: "read" | "write" = "read",
): EnvRef {
  if (given === undefined) client.defaultEnv = { env: DEFAULT_ENV, need, example };
  return parseEnvRef(given ?? DEFAULT_ENV);
}

function tooMany(client: Client, max: number, command: string): void {
  if (client.positionals.length > max) {
    throw new CliError(`unexpected argument "${client.positionals[max]}"`, EXIT.usage, [
      `run: vault help ${command}`,
    ]);
  }
}

async function explainConflict(
  client: Client,
  projectId: string,
  env: string,
  base: number,
  file: string,
): Promise<CliError> {
  const api = client.api();
  const hints: string[] = [];
  let head: number | undefined;
  try {
    const versions = await api.secrets.versions(projectId, env, { limit: 50 });
    head = versions.head;
    const newer = versions.versions.filter((v) => v.version > base);
    const authors = [...new Set(newer.map((v) => v.author))];
    const diff = await api.secrets.diff(projectId, env, { from: base, to: head });
    const parts = [
      diff.added.length ? `added ${nameList(diff.added)}` : "",
      diff.changed.length ? `changed ${nameList(diff.changed)}` : "",
      diff.removed.length ? `removed ${nameList(diff.removed)}` : "",
    ].filter(Boolean);
    hints.push(
      `since version ${base}: ${head - base} new version${head - base === 1 ? "" : "s"}${authors.length ? ` by ${nameList(authors, 3)}` : ""}${parts.length ? `; ${parts.join("; ")}` : " (no key changed)"}`,
    );
  } catch {
    // The explanation is a courtesy: the conflict stands without it.
  }
  hints.push(
    `compare with your file: vault diff ${env} ${file}`,
    `take the server's version and reapply your change: vault pull ${env} ${file} (yours is kept as ${file}.previous), then push again`,
    `or replace the server's version with your file: vault push ${env} ${file} --force`,
  );
  const where = head === undefined ? "" : ` (you last had version ${base}; it is now at ${head})`;
  return new CliError(
    `${env} changed on the server since this checkout last pulled or pushed it${where}`,
    EXIT.conflict,
    hints,
  );
}

/** Whether text is a JSON object or array (what people push by mistake: package.json, a secrets export). */
function isJson(text: string): boolean {
  if (!/^\s*[[{]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Warns about a JSON file, and asks (or refuses without --yes) before a push that would remove every key. */
async function checkKeys(client: Client, dotenv: string, file: string, env: string, merge: boolean) {
  const json = isJson(dotenv);
  const jsonHint =
    "push takes a .env file (KEY=VALUE lines): convert it, or set keys with vault set KEY=VALUE ...";
  if (json) warn(client.io, `${file} is JSON, not a .env file: dotenv reads no KEY=VALUE line in it`);
  if (merge || Object.keys(parse(dotenv)).length > 0) return;
  const what = `${file} holds no keys${json ? " (it is JSON)" : ""}: pushing it removes every key from ${env}`;
  if (client.flags.yes === true) {
    warn(client.io, what);
    return;
  }
  if (isInteractive(client.io)) {
    warn(client.io, what);
    const answer = await promptLine(client.io, `Push ${file} to ${env} anyway? [y/N] `);
    if (/^\s*y(es)?\s*$/i.test(answer)) return;
    throw new CliError("not confirmed; nothing pushed", EXIT.failure, json ? [jsonHint] : []);
  }
  throw new CliError(what, EXIT.usage, [
    ...(json ? [jsonHint] : []),
    `if that is what you want: vault push ${env} ${file} --yes`,
  ]);
}

export function push(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    tooMany(client, 2, "push");
    const env = envArg(client, client.positionals[0], (e) => `vault push ${e} FILE`, "write");
    if (env.version !== undefined) {
      throw new CliError("push makes a new version; it takes no @VERSION", EXIT.usage, [
        `to bring back an old version: vault rollback ${env.env}@${env.version}`,
      ]);
    }
    const file = client.positionals[1] ?? defaultFileFor(env.env);
    const path = resolvePath(client, file);
    const server = client.server();
    const projectId = await client.projectId();
    if (!existsSync(path)) {
      throw new CliError(`no file ${file} to push`, EXIT.notFound, [
        `give the file: vault push ${env.env} FILE, or pull it first: vault pull ${env.env}`,
      ]);
    }
    const dotenv = readDotenvFile(path, file);
    const merge = client.flags.merge === true;
    await checkKeys(client, dotenv, file, env.env, merge);
    const force = client.flags.force === true;
    const base =
      force || merge ? undefined : (client.store.lastVersion(server, projectId, env.env, client.cwd) ?? 0);
    client.detail(
      force ? "no base version (--force)" : merge ? "no base version (--merge)" : `base version ${base}`,
    );
    let answer: Awaited<ReturnType<ReturnType<Client["api"]>["secrets"]["push"]>>;
    try {
      answer = await withProgress(client.io, `pushing ${file} to ${env.env}`, () =>
        client.api().secrets.push(projectId, env.env, {
          dotenv,
          baseVersion: base,
          merge: merge ? true : undefined,
        }),
      );
    } catch (error) {
      if (error instanceof ClientError && error.code === "VERSION_CONFLICT" && base !== undefined) {
        throw await explainConflict(client, projectId, env.env, base, file);
      }
      throw error;
    }
    // A protected environment: a change request, no version (the checkout's base stays as it was).
    if (answer.request) return held(client, env.env, answer.request.number);
    // A merge onto a version this checkout never had is not a base for a later plain push: that
    // push must still be refused until the checkout pulls what others changed.
    const known = client.store.lastVersion(server, projectId, env.env, client.cwd) ?? 0;
    if (!merge || known === answer.version - (answer.unchanged ? 0 : 1))
      client.store.rememberVersion(server, projectId, env.env, client.cwd, answer.version);
    if (answer.unchanged) {
      client.io.stdout.write(
        `${env.env} is already at version ${answer.version} with this file; nothing pushed\n`,
      );
    } else {
      client.io.stdout.write(
        `pushed ${file} to ${env.env}: version ${answer.version} (${summaryText(answer.summary)})\n`,
      );
    }
    return EXIT.ok;
  });
}

export function pull(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    tooMany(client, 2, "pull");
    // `vault pull -` is the main environment to stdout, as `vault pull ENV -` is ENV.
    const [first, second] =
      client.positionals.length === 1 && client.positionals[0] === "-"
        ? [undefined, "-"]
        : client.positionals;
    const ref = envArg(client, first, (e) => `vault pull ${e}${second === "-" ? " -" : ""}`);
    const file = second ?? defaultFileFor(ref.env);
    const server = client.server();
    const projectId = await client.projectId();
    // As written (references as they are: a push of it keeps them), unless --resolve.
    const resolve = client.flags.resolve === true;
    const answer = await withProgress(client.io, `pulling ${ref.env}`, () =>
      client.api().secrets.pullFile(projectId, ref.env, ref.version, { resolve }),
    );
    const values = parse(answer.dotenv);
    // The offline copy is what `vault run` would get: resolved values, never the reference text.
    if (ref.version === undefined && (resolve || !Object.values(values).some((v) => v.includes("@{")))) {
      cacheValues(client, { server, projectId, environment: ref.env }, answer.version, values);
    }
    if (file === "-") {
      client.io.stdout.write(answer.dotenv);
      return EXIT.ok;
    }
    const path = resolvePath(client, file);
    if (resolve) {
      warn(
        client.io,
        `${file} holds resolved values${answer.personal?.length ? ` and your personal overrides (${nameList(answer.personal)})` : ""}: pushing it back would replace the references with their values (vault pull ${ref.env} gets the file as written)`,
      );
    } else {
      client.store.rememberVersion(server, projectId, ref.env, client.cwd, answer.version);
    }
    if (existsSync(path) && readFileSync(path, "utf8") === answer.dotenv) {
      client.io.stdout.write(`${file} is already ${ref.env} version ${answer.version}\n`);
      return EXIT.ok;
    }
    let kept = "";
    if (existsSync(path)) {
      renameSync(path, `${path}.previous`);
      chmodSync(`${path}.previous`, 0o600);
      kept = ` (the old file is ${file}.previous)`;
    }
    writeFileAtomic(path, answer.dotenv, 0o600);
    client.io.stdout.write(
      `pulled ${ref.env} version ${answer.version}${resolve ? " (resolved)" : ""} into ${file}${kept}\n`,
    );
    return EXIT.ok;
  });
}

export function get(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [key, extra] = client.positionals;
    if (!key) throw new CliError("which key?", EXIT.usage, ["run: vault help get"]);
    if (extra !== undefined)
      throw new CliError(`unexpected argument "${extra}"`, EXIT.usage, [
        "one key at a time; all of them: vault export",
      ]);
    const ref = envFlag(client, `get ${key}`);
    const answer = await client.api().secrets.getKey(await client.projectId(), ref.env, key, ref.version);
    const value = answer.values[key];
    if (value === undefined) throw new CliError(`${ref.env} has no key ${key}`, EXIT.notFound);
    if (client.json) printJson(client.io, { [key]: value });
    else client.io.stdout.write(`${value}\n`);
    return EXIT.ok;
  });
}

/** `KEY=VALUE` pairs, and `KEY -` for one value read from standard input. */
export function parseAssignments(args: readonly string[]): {
  set: Record<string, string>;
  fromStdin?: string;
} {
  const set: Record<string, string> = {};
  let fromStdin: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    if (eq > 0) {
      set[arg.slice(0, eq)] = arg.slice(eq + 1);
    } else if (eq === -1 && args[i + 1] === "-") {
      if (fromStdin !== undefined) {
        throw new CliError("only one value can come from standard input", EXIT.usage, [
          "run vault set once per multi-line value",
        ]);
      }
      fromStdin = arg;
      i++;
    } else {
      throw new CliError(
        `"${arg.slice(0, 60).split("=")[0]}": give KEY=VALUE, or KEY - to read the value from standard input`,
        EXIT.usage,
        ["run: vault help set"],
      );
    }
  }
  return { set, fromStdin };
}

export function set(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    if (client.positionals.length === 0)
      throw new CliError("set what? give KEY=VALUE", EXIT.usage, ["run: vault help set"]);
    const { set: values, fromStdin } = parseAssignments(client.positionals);
    if (fromStdin !== undefined) {
      // One trailing line break is the shell's, not the value's (`echo`, a here-string, a file ending in \n).
      if (process.stdin.isTTY)
        note(client.io, `type the value of ${fromStdin}, then Ctrl-D on a line of its own`);
      values[fromStdin] = decodeText(await readAllStdinBytes(), "standard input").replace(/\r?\n$/, "");
    }
    const personal = client.flags.personal === true;
    const ref = envFlag(
      client,
      personal ? "set --personal KEY=VALUE" : "set KEY=VALUE",
      personal ? "read" : "write",
    );
    if (ref.version !== undefined)
      throw new CliError("set makes a new version; --env takes no @VERSION here", EXIT.usage);
    if (personal) {
      const answer = await client.api().overrides.change(await client.projectId(), ref.env, { set: values });
      client.io.stdout.write(
        `${clean(`set ${nameList(answer.set)} as your personal override${answer.set.length === 1 ? "" : "s"} of ${ref.env}`)}: only your own run, export, get and pull --resolve see ${answer.set.length === 1 ? "it" : "them"}\n`,
      );
      return EXIT.ok;
    }
    const answer = await client.api().secrets.patch(await client.projectId(), ref.env, { set: values });
    if (answer.request) return held(client, ref.env, answer.request.number);
    const n = Object.keys(values).length;
    client.io.stdout.write(
      answer.unchanged
        ? `${ref.env} already had ${n === 1 ? "that value" : "those values"}; still version ${answer.version}\n`
        : `set ${n} key${n === 1 ? "" : "s"} in ${ref.env}: version ${answer.version} (${summaryText(answer.summary)})\n`,
    );
    return EXIT.ok;
  });
}

export function unset(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    if (client.positionals.length === 0)
      throw new CliError("unset which keys?", EXIT.usage, ["run: vault help unset"]);
    const personal = client.flags.personal === true;
    const ref = envFlag(
      client,
      `unset ${personal ? "--personal " : ""}${client.positionals.join(" ")}`,
      personal ? "read" : "write",
    );
    if (ref.version !== undefined)
      throw new CliError("unset makes a new version; --env takes no @VERSION here", EXIT.usage);
    if (personal) {
      const answer = await client
        .api()
        .overrides.change(await client.projectId(), ref.env, { unset: client.positionals });
      if (answer.unset.length > 0)
        client.io.stdout.write(
          `${clean(`removed your personal ${nameList(answer.unset)} from ${ref.env}`)}\n`,
        );
      const missing = client.positionals.filter((k) => !answer.unset.includes(k));
      if (missing.length > 0) note(client.io, `you had no personal ${nameList(missing)} in ${ref.env}`);
      return EXIT.ok;
    }
    const answer = await client
      .api()
      .secrets.patch(await client.projectId(), ref.env, { unset: client.positionals });
    if (answer.request) return held(client, ref.env, answer.request.number);
    const removed = answer.summary.removed;
    client.io.stdout.write(
      `removed ${clean(nameList(removed))} from ${ref.env}: version ${answer.version}\n`,
    );
    const missing = client.positionals.filter((k) => !removed.includes(k));
    if (missing.length > 0) note(client.io, `${ref.env} had no ${nameList(missing)}`);
    return EXIT.ok;
  });
}

export function versions(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    tooMany(client, 1, "versions");
    const ref = envArg(client, client.positionals[0], (e) => `vault versions ${e}`);
    const limitText = flagString(client, "limit");
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
      throw new CliError("--limit is a number from 1 to 1000", EXIT.usage);
    }
    const answer = await client.api().secrets.versions(await client.projectId(), ref.env, { limit });
    if (client.json) {
      printJson(client.io, answer);
      return EXIT.ok;
    }
    if (answer.versions.length === 0) {
      client.io.stdout.write(`${ref.env} has no versions yet: vault push ${ref.env}\n`);
      return EXIT.ok;
    }
    client.io.stdout.write(
      table([
        ["VERSION", "WHEN", "BY", "KIND", "CHANGES"],
        ...answer.versions.map((v) => [
          String(v.version),
          isoTime(v.createdAt),
          v.author,
          v.kind,
          [
            ...v.summary.added.map((n) => `+${n}`),
            ...v.summary.changed.map((n) => `~${n}`),
            ...v.summary.removed.map((n) => `-${n}`),
          ].join(" ") || "(layout only)",
        ]),
      ]),
    );
    return EXIT.ok;
  });
}

export function rollback(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    tooMany(client, 1, "rollback");
    const arg = client.positionals[0];
    if (!arg)
      throw new CliError("roll back to what? give ENV@VERSION", EXIT.usage, [
        "see the versions: vault versions ENV",
      ]);
    const ref = parseEnvAtVersion(arg);
    const answer = await client.api().secrets.rollback(await client.projectId(), ref.env, ref.version);
    if (answer.request) return held(client, ref.env, answer.request.number);
    client.io.stdout.write(
      answer.unchanged
        ? `${ref.env} already equals version ${ref.version} (still version ${answer.version})\n`
        : `${ref.env} is now version ${answer.version}, equal to version ${ref.version} (${summaryText(answer.summary)})\n`,
    );
    return EXIT.ok;
  });
}
