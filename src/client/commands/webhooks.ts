/**
 * `vault webhooks list|add|show|rm|enable|disable|ping|deliveries|redeliver|rotate-secret`:
 * a project's webhooks, for its owners. The signing secret is printed once, on stdout, when it
 * is made (add, rotate-secret); everything else goes to stderr as notes.
 */
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import type { Webhook, WebhookDelivery } from "../api";
import { type Client, flagString, runClient } from "../context";
import { clean, isoTime, note, printJson, table } from "../output";
import { checkEnvironmentName } from "../refs";

const WEBHOOK_ID = /^whk_[0-9a-f]{24}$/;
const DELIVERY_ID = /^dlv_[0-9a-f]{24}$/;

function webhookArg(client: Client, what: string, count = 1): string[] {
  const words = client.positionals;
  if (words.length !== count || !WEBHOOK_ID.test(words[0] ?? ""))
    throw new CliError(`${what}: give the webhook's id (whk_...)`, EXIT.usage, [
      "see them: vault webhooks list",
    ]);
  return words;
}

const listFlag = (client: Client, name: string): string[] | undefined => {
  const text = flagString(client, name);
  if (text === undefined) return undefined;
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new CliError(`--${name} names nothing`, EXIT.usage);
  return items;
};

function describe(w: Webhook): string {
  return [
    `id           ${w.id}`,
    `url          ${clean(w.url)}`,
    `enabled      ${w.enabled ? "yes" : "no"}`,
    `environments ${w.environments?.join(", ") ?? "all"}`,
    `events       ${w.events?.join(", ") ?? "all"}`,
    `created      ${isoTime(w.createdAt)}`,
    `updated      ${isoTime(w.updatedAt)}`,
  ].join("\n");
}

function deliveryLine(d: WebhookDelivery): string {
  const status = d.lastStatus === null ? (d.lastError ?? "-") : String(d.lastStatus);
  return `${d.id} ${d.type}: ${d.state}, ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}, last ${status}${d.lastLatencyMs === null ? "" : ` in ${d.lastLatencyMs} ms`}${d.nextAttemptAt ? `, next try ${isoTime(d.nextAttemptAt)}` : ""}`;
}

export function webhooksList(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const hooks = await client.api().webhooks.list(await client.projectId());
    if (client.json) {
      printJson(client.io, hooks);
      return EXIT.ok;
    }
    if (hooks.length === 0) {
      client.io.stdout.write("no webhooks: vault webhooks add URL\n");
      return EXIT.ok;
    }
    client.io.stdout.write(
      table([
        ["ID", "URL", "ENABLED", "ENVIRONMENTS", "EVENTS"],
        ...hooks.map((w) => [
          w.id,
          clean(w.origin),
          w.enabled ? "yes" : "no",
          w.environments?.join(",") ?? "all",
          w.events?.join(",") ?? "all",
        ]),
      ]),
    );
    return EXIT.ok;
  });
}

export function webhooksAdd(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [url, extra] = client.positionals;
    if (!url || extra !== undefined)
      throw new CliError("give the webhook's URL: vault webhooks add https://...", EXIT.usage);
    const environments = listFlag(client, "env")?.map(checkEnvironmentName);
    const events = listFlag(client, "events");
    const created = await client.api().webhooks.create(await client.projectId(), {
      url,
      environments,
      events,
      enabled: client.flags.disabled === true ? false : undefined,
    });
    if (client.json) printJson(client.io, created);
    else client.io.stdout.write(`${created.secret}\n`);
    note(
      client.io,
      `webhook ${created.webhook.id} to ${clean(created.webhook.origin)}: ${created.webhook.events?.join(", ") ?? "every event"} on ${created.webhook.environments?.join(", ") ?? "every environment"}. Its signing secret is shown once: store it with the receiver (verify Vault-Signature with it); test it with vault webhooks ping ${created.webhook.id}`,
    );
    return EXIT.ok;
  });
}

export function webhooksShow(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [id] = webhookArg(client, "show which webhook?");
    const w = await client.api().webhooks.get(await client.projectId(), id!);
    if (client.json) printJson(client.io, w);
    else client.io.stdout.write(`${describe(w)}\n`);
    return EXIT.ok;
  });
}

export function webhooksRm(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [id] = webhookArg(client, "remove which webhook?");
    await client.api().webhooks.remove(await client.projectId(), id!);
    client.io.stdout.write(`removed ${id}\n`);
    return EXIT.ok;
  });
}

function setEnabled(enabled: boolean) {
  return (ctx: CommandContext): Promise<number> =>
    runClient(ctx, async (client) => {
      const [id] = webhookArg(client, `${enabled ? "enable" : "disable"} which webhook?`);
      const w = await client.api().webhooks.update(await client.projectId(), id!, { enabled });
      client.io.stdout.write(`${w.id} ${w.enabled ? "enabled" : "disabled"}\n`);
      return EXIT.ok;
    });
}
export const webhooksEnable = setEnabled(true);
export const webhooksDisable = setEnabled(false);

export function webhooksRotateSecret(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [id] = webhookArg(client, "rotate the secret of which webhook?");
    const keepText = flagString(client, "keep-old");
    const keep = keepText === undefined ? undefined : Number(keepText);
    if (keep !== undefined && (!Number.isInteger(keep) || keep < 0 || keep > 72))
      throw new CliError("--keep-old is a number of hours from 0 to 72", EXIT.usage);
    const rotated = await client.api().webhooks.rotateSecret(await client.projectId(), id!, keep);
    if (client.json) printJson(client.io, rotated);
    else client.io.stdout.write(`${rotated.secret}\n`);
    note(
      client.io,
      rotated.webhook.previousSecretUntil
        ? `a new signing secret for ${id}, shown once; the old one also signs until ${isoTime(rotated.webhook.previousSecretUntil)} (each delivery carries a v1= for both), then only the new one`
        : `a new signing secret for ${id}, shown once: deliveries are signed with it from now on (the old one no longer verifies)`,
    );
    return EXIT.ok;
  });
}

export function webhooksPing(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [id] = webhookArg(client, "ping which webhook?");
    const d = await client.api().webhooks.ping(await client.projectId(), id!);
    if (client.json) printJson(client.io, d);
    else client.io.stdout.write(`${deliveryLine(d)}\n`);
    return d.state === "delivered" ? EXIT.ok : EXIT.failure;
  });
}

export function webhooksDeliveries(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const words = client.positionals;
    if (words.length < 1 || words.length > 2 || !WEBHOOK_ID.test(words[0]!))
      throw new CliError(
        "whose deliveries? give the webhook's id (whk_...), and a delivery's id for one",
        EXIT.usage,
        ["see them: vault webhooks list"],
      );
    const projectId = await client.projectId();
    if (words.length === 2) {
      if (!DELIVERY_ID.test(words[1]!)) throw new CliError("a delivery's id is dlv_...", EXIT.usage);
      const one = await client.api().webhooks.delivery(projectId, words[0]!, words[1]!);
      if (client.json) {
        printJson(client.io, one);
        return EXIT.ok;
      }
      client.io.stdout.write(`${deliveryLine(one.delivery)}\n`);
      client.io.stdout.write(
        table([
          ["#", "AT", "STATUS", "LATENCY", "ERROR", "ANSWER"],
          ...one.attempts.map((a) => [
            String(a.number),
            isoTime(a.at),
            a.status === null ? "-" : String(a.status),
            `${a.latencyMs} ms`,
            a.error ?? "",
            clean(a.excerpt ?? "").slice(0, 60),
          ]),
        ]),
      );
      return EXIT.ok;
    }
    const limitText = flagString(client, "limit");
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500))
      throw new CliError("--limit is a number from 1 to 500", EXIT.usage);
    const list = await client.api().webhooks.deliveries(projectId, words[0]!, limit);
    if (client.json) {
      printJson(client.io, list);
      return EXIT.ok;
    }
    if (list.length === 0) {
      client.io.stdout.write(`no deliveries yet: vault webhooks ping ${words[0]}\n`);
      return EXIT.ok;
    }
    client.io.stdout.write(
      table([
        ["ID", "TYPE", "STATE", "ATTEMPTS", "LAST", "LATENCY", "CREATED", "NEXT TRY"],
        ...list.map((d) => [
          d.id,
          d.type,
          d.state,
          String(d.attempts),
          d.lastStatus === null ? (d.lastError ?? "-") : String(d.lastStatus),
          d.lastLatencyMs === null ? "-" : `${d.lastLatencyMs} ms`,
          isoTime(d.createdAt),
          isoTime(d.nextAttemptAt),
        ]),
      ]),
    );
    return EXIT.ok;
  });
}

export function webhooksRedeliver(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [hook, delivery] = webhookArg(client, "redeliver what?", 2);
    if (!DELIVERY_ID.test(delivery!))
      throw new CliError("give the webhook's id and the delivery's id (dlv_...)", EXIT.usage, [
        `see them: vault webhooks deliveries ${hook}`,
      ]);
    const d = await client.api().webhooks.redeliver(await client.projectId(), hook!, delivery!);
    if (client.json) printJson(client.io, d);
    else client.io.stdout.write(`${deliveryLine(d)}\n`);
    return d.state === "delivered" ? EXIT.ok : EXIT.failure;
  });
}
