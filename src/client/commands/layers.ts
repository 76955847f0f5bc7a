/**
 * `vault explain KEY [ENV]` and `vault overrides [ENV]`.
 *
 * explain says which layer gives a key its value, top first: a `--local`
 * file (as `vault run --local` lays it), your personal override, the
 * environment, a parent of a branch; and what each reference in the value
 * points at, with versions. The value only with --reveal (an audited read).
 */
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import type { ExplainAnswer, ExplainLayer, ExplainReference } from "../api";
import { runClient } from "../context";
import { clean, isoTime, printJson, table } from "../output";
import { checkEnvironmentName } from "../refs";
import { localLayer } from "./run";
import { DEFAULT_ENV } from "./secrets";

function layerText(layer: ExplainLayer, env: string): string {
  const at = layer.version === undefined ? "" : ` version ${layer.version}`;
  if (layer.kind === "personal") return "your personal override (only you see it)";
  const where =
    layer.kind === "parent" ? `${layer.environment}${at} (a parent of ${env})` : `${layer.environment}${at}`;
  return layer.state === "removed" ? `removed in ${where}` : where;
}

function referenceLines(refs: readonly ExplainReference[], depth: number): string[] {
  const lines: string[] = [];
  for (const ref of refs) {
    const pad = "  ".repeat(depth);
    const where = ref.environment
      ? `${ref.key} in ${ref.project ? `${ref.project}/` : ""}${ref.environment}${ref.version === undefined ? "" : ` version ${ref.version}`}${ref.layer === "personal" ? " (your personal override)" : ref.layer === "parent" ? " (from a parent)" : ""}`
      : ref.key;
    lines.push(`${pad}${ref.reference} -> ${ref.error ? `not resolved: ${ref.error}` : where}`);
    lines.push(...referenceLines(ref.references, depth + 1));
  }
  return lines;
}

export function explain(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [key, envArg, extra] = client.positionals;
    if (!key) throw new CliError("explain which key?", EXIT.usage, ["run: vault help explain"]);
    if (extra !== undefined) throw new CliError(`unexpected argument "${extra}"`, EXIT.usage);
    const given = envArg;
    if (given === undefined)
      client.defaultEnv = { env: DEFAULT_ENV, need: "read", example: (e) => `vault explain ${key} ${e}` };
    const env = checkEnvironmentName(given ?? DEFAULT_ENV);
    const reveal = client.flags.reveal === true;
    const local = localLayer(client);
    const answer: ExplainAnswer = await client
      .api()
      .secrets.explain(await client.projectId(), env, key, reveal);
    const fromLocal = local && key in local.values ? local : undefined;
    if (client.json) {
      printJson(client.io, {
        ...answer,
        ...(fromLocal
          ? { local: { file: fromLocal.file, ...(reveal ? { value: fromLocal.values[key] } : {}) } }
          : {}),
      });
      return EXIT.ok;
    }
    const out: string[] = [`${key} in ${env}`];
    const layers = [
      ...(fromLocal ? [`--local ${fromLocal.file} (laid over everything below)`] : []),
      ...answer.layers.map((l) => layerText(l, env)),
    ];
    if (layers.length === 0) out.push(`  ${env} has no key ${key}`);
    layers.forEach((line, i) => {
      out.push(`  ${i + 1}. ${line}${i === 0 && (answer.found || fromLocal) ? "   <- gives the value" : ""}`);
    });
    if (!fromLocal && !answer.found && answer.layers.length > 0) out.push("  so the key is not set here");
    if (answer.references.length > 0) {
      out.push(fromLocal ? `references (of ${env}'s own value, under the local file):` : "references:");
      out.push(...referenceLines(answer.references, 1));
    }
    if (reveal) {
      const value = fromLocal ? fromLocal.values[key] : answer.value;
      out.push(`value: ${value === undefined || value === null ? "(none)" : value}`);
      if (
        !fromLocal &&
        answer.written !== undefined &&
        answer.written !== null &&
        answer.written !== answer.value
      )
        out.push(`written: ${answer.written}`);
    } else if (answer.found || fromLocal) {
      out.push("value: hidden (--reveal shows it)");
    }
    // Names and versions come from the server: cleaned. A revealed value is the user's data.
    client.io.stdout.write(
      `${out.map((line) => (line.startsWith("value: ") || line.startsWith("written: ") ? line : clean(line))).join("\n")}\n`,
    );
    return answer.found || fromLocal ? EXIT.ok : EXIT.notFound;
  });
}

export function overrides(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [envArg, extra] = client.positionals;
    if (extra !== undefined) throw new CliError(`unexpected argument "${extra}"`, EXIT.usage);
    const env = envArg === undefined ? undefined : checkEnvironmentName(envArg);
    const all = await client.api().overrides.list(await client.projectId());
    const rows = env === undefined ? all : all.filter((r) => r.environment === env);
    if (client.json) {
      printJson(client.io, rows);
      return EXIT.ok;
    }
    if (rows.length === 0) {
      client.io.stdout.write(
        `you have no personal overrides${env ? ` in ${env}` : " in this project"}: vault set --personal KEY=VALUE${env ? ` --env ${env}` : ""}\n`,
      );
      return EXIT.ok;
    }
    client.io.stdout.write(
      table([
        ["ENVIRONMENT", "NAME", "UPDATED"],
        ...rows.map((r) => [r.environment, r.name, isoTime(r.updatedAt)]),
      ]),
    );
    return EXIT.ok;
  });
}
