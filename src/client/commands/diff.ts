/**
 * `vault diff [A] [B] [--reveal]`: what changes from A to B, where each side
 * is an environment on the server (latest or `env@version`) or a local file.
 * Two server sides are compared by the server (names only unless revealed);
 * a local file is compared here against the server's values. Values are
 * masked unless --reveal.
 *
 *   vault diff                   development on the server -> .env
 *   vault diff staging           staging on the server -> .env.staging
 *   vault diff staging@3         staging@3 -> staging (latest)
 *   vault diff .env.local        development on the server -> .env.local
 *   vault diff staging production
 */
import { existsSync } from "node:fs";
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { parse } from "../../dotenv";
import { EXIT } from "../../exit-codes";
import type { DiffAnswer } from "../api";
import { type Client, runClient } from "../context";
import { clean, colorEnabled, paint, printJson } from "../output";
import { type DiffSide, defaultFileFor, parseDiffSide } from "../refs";
import { DEFAULT_ENV, readDotenvFile, resolvePath } from "./secrets";

export interface DiffResult {
  from: string;
  to: string;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
  values?: Record<string, { from: string | null; to: string | null }>;
}

/** The names added, changed and removed from `a` to `b`, in `b`'s then `a`'s order. */
export function diffValues(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
  reveal: boolean,
  labels: { from: string; to: string },
): DiffResult {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  let unchanged = 0;
  for (const [k, v] of Object.entries(b)) {
    if (!Object.hasOwn(a, k)) added.push(k);
    else if (a[k] !== v) changed.push(k);
    else unchanged++;
  }
  for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) removed.push(k);
  const result: DiffResult = { ...labels, added, changed, removed, unchanged };
  if (reveal) {
    result.values = Object.fromEntries(
      [...added, ...changed, ...removed].map((k) => [
        k,
        { from: Object.hasOwn(a, k) ? a[k]! : null, to: Object.hasOwn(b, k) ? b[k]! : null },
      ]),
    );
  }
  return result;
}

/** A value on one line: as is when printable, else JSON-quoted. */
function shown(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) && !/^\s|\s$/.test(value) ? value : JSON.stringify(value);
}

export function renderDiff(result: DiffResult, color: boolean): string {
  const c = paint(color);
  const lines = [c("bold", `--- ${clean(result.from)}`), c("bold", `+++ ${clean(result.to)}`)];
  const v = result.values;
  // Names come from a server or a local file: no control character reaches the terminal.
  const name = clean;
  for (const k of result.added)
    lines.push(c("green", v ? `+ ${name(k)}=${shown(v[k]!.to!)}` : `+ ${name(k)}`));
  for (const k of result.removed)
    lines.push(c("red", v ? `- ${name(k)}=${shown(v[k]!.from!)}` : `- ${name(k)}`));
  for (const k of result.changed) {
    if (v) {
      lines.push(
        c("red", `- ${name(k)}=${shown(v[k]!.from!)}`),
        c("green", `+ ${name(k)}=${shown(v[k]!.to!)}`),
      );
    } else lines.push(c("yellow", `~ ${name(k)}`));
  }
  const total = result.added.length + result.changed.length + result.removed.length;
  lines.push(
    c(
      "dim",
      total === 0
        ? `no differences (${result.unchanged} keys the same)`
        : `${result.added.length} added, ${result.changed.length} changed, ${result.removed.length} removed, ${result.unchanged} the same${v ? "" : " (values hidden; --reveal shows them)"}`,
    ),
  );
  return `${lines.join("\n")}\n`;
}

function sides(client: Client): [DiffSide, DiffSide] {
  const args = client.positionals;
  if (args.length > 2)
    throw new CliError(`unexpected argument "${args[2]}"`, EXIT.usage, ["run: vault help diff"]);
  if (args.length === 2) return [parseDiffSide(args[0]!), parseDiffSide(args[1]!)];
  if (args.length === 0)
    return [
      { kind: "env", env: DEFAULT_ENV },
      { kind: "file", path: defaultFileFor(DEFAULT_ENV) },
    ];
  const one = parseDiffSide(args[0]!);
  if (one.kind === "file") return [{ kind: "env", env: DEFAULT_ENV }, one];
  if (one.version !== undefined) return [one, { kind: "env", env: one.env }];
  return [one, { kind: "file", path: defaultFileFor(one.env) }];
}

function label(side: DiffSide, version?: number): string {
  if (side.kind === "file") return side.path;
  return `${side.env}@${version ?? side.version ?? "latest"}`;
}

export function diff(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const reveal = client.flags.reveal === true;
    const [a, b] = sides(client);
    let result: DiffResult;
    if (a.kind === "env" && b.kind === "env") {
      const answer: DiffAnswer = await client.api().secrets.diff(await client.projectId(), a.env, {
        reveal,
        ...(a.env === b.env
          ? { from: a.version, to: b.version }
          : { from: a.version, other: b.env, otherVersion: b.version }),
      });
      // The server's "from" defaults to the version before the latest when comparing one environment.
      result = {
        from: `${answer.from.environment}@${answer.from.version}`,
        to: `${answer.to.environment}@${answer.to.version}`,
        added: answer.added,
        changed: answer.changed,
        removed: answer.removed,
        unchanged: answer.unchanged,
        values: answer.values,
      };
    } else {
      const load = async (side: DiffSide): Promise<{ values: Record<string, string>; label: string }> => {
        if (side.kind === "file") {
          const path = resolvePath(client, side.path);
          if (!existsSync(path)) {
            throw new CliError(`no file ${side.path}`, EXIT.notFound, [
              `pull it first (vault pull), or name two environments: vault diff staging production`,
            ]);
          }
          return { values: parse(readDotenvFile(path, side.path)), label: side.path };
        }
        const answer = await client
          .api()
          .secrets.pullValues(await client.projectId(), side.env, side.version);
        return { values: answer.values, label: label(side, answer.version) };
      };
      const [va, vb] = [await load(a), await load(b)];
      result = diffValues(va.values, vb.values, reveal, { from: va.label, to: vb.label });
    }
    if (client.json) printJson(client.io, result);
    else client.io.stdout.write(renderDiff(result, colorEnabled(client.io)));
    return EXIT.ok;
  });
}
