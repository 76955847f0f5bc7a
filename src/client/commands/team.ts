/** `vault members list|add|rm|grant`, `vault tokens create|list|revoke`, `vault audit`. */
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import type { AuditEvent, Member, Permission } from "../api";
import { type Client, flagString, runClient } from "../context";
import { clean, isoTime, note, printJson, table, warn } from "../output";
import { checkEnvironmentName } from "../refs";

const PERMISSIONS = ["none", "read", "write"] as const;

/** `ENV=PERM` words (or one `ENV=PERM,ENV=PERM` list) as a permission map. */
export function parseGrants(words: readonly string[]): Record<string, Permission> {
  const out: Record<string, Permission> = {};
  for (const word of words.flatMap((w) => w.split(","))) {
    if (word === "") continue;
    const [env, perm, extra] = word.split("=");
    if (!env || !perm || extra !== undefined || !(PERMISSIONS as readonly string[]).includes(perm)) {
      throw new CliError(`"${word.slice(0, 60)}": give ENV=none|read|write`, EXIT.usage, [
        "like: production=read staging=write",
      ]);
    }
    out[checkEnvironmentName(env)] = perm as Permission;
  }
  return out;
}

function membersTable(members: Member[]): string {
  const envs = [...new Set(members.flatMap((m) => Object.keys(m.permissions)))];
  return table([
    ["EMAIL", "ROLE", ...envs.map((e) => e.toUpperCase())],
    ...members.map((m) => [m.email, m.role, ...envs.map((e) => m.permissions[e] ?? "none")]),
  ]);
}

async function memberByEmail(client: Client, projectId: string, email: string): Promise<Member> {
  const members = await client.api().members.list(projectId);
  const found = members.find((m) => m.email.toLowerCase() === email.toLowerCase());
  if (!found)
    throw new CliError(`${email} is not a member of this project`, EXIT.notFound, [
      "see them: vault members list",
    ]);
  return found;
}

export function membersList(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const members = await client.api().members.list(await client.projectId());
    if (client.json) printJson(client.io, members);
    else client.io.stdout.write(membersTable(members));
    return EXIT.ok;
  });
}

export function membersAdd(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [email, ...grants] = client.positionals;
    if (!email) throw new CliError("add whom? give an EMAIL", EXIT.usage, ["run: vault help members add"]);
    const role = flagString(client, "role") ?? "member";
    if (role !== "owner" && role !== "member")
      throw new CliError(`--role: "${role}" is not owner or member`, EXIT.usage);
    const permissions = parseGrants(grants);
    const members = await client.api().members.add(await client.projectId(), { email, role, permissions });
    client.io.stdout.write(`added ${clean(email)} as ${role}\n`);
    if (role === "member" && Object.keys(permissions).length === 0) {
      note(client.io, `they see nothing until granted: vault members grant ${email} development=read`);
    }
    if (client.verbose) client.io.stdout.write(membersTable(members));
    return EXIT.ok;
  });
}

export function membersRm(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [email, extra] = client.positionals;
    if (!email || extra !== undefined)
      throw new CliError("remove whom? give one EMAIL", EXIT.usage, ["run: vault help members rm"]);
    const projectId = await client.projectId();
    const member = await memberByEmail(client, projectId, email);
    await client.api().members.remove(projectId, member.userId);
    client.io.stdout.write(`removed ${clean(member.email)} from the project\n`);
    return EXIT.ok;
  });
}

export function membersGrant(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [email, ...grants] = client.positionals;
    if (!email || grants.length === 0) {
      throw new CliError("grant what? give EMAIL ENV=PERMISSION...", EXIT.usage, [
        "like: vault members grant bob@example.com production=read",
      ]);
    }
    const permissions = parseGrants(grants);
    const projectId = await client.projectId();
    const member = await memberByEmail(client, projectId, email);
    const members = await client.api().members.grant(projectId, member.userId, permissions);
    const now = members.find((m) => m.userId === member.userId);
    client.io.stdout.write(
      `${clean(member.email)}: ${clean(
        Object.entries(now?.permissions ?? permissions)
          .map(([e, p]) => `${e}=${p}`)
          .join(" "),
      )}\n`,
    );
    return EXIT.ok;
  });
}

export function tokensCreate(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [name, extra] = client.positionals;
    if (!name || extra !== undefined)
      throw new CliError("name the token: vault tokens create NAME --env ENV", EXIT.usage);
    const envText = flagString(client, "env");
    if (!envText) throw new CliError("which environments may it read? give --env ENV[,ENV...]", EXIT.usage);
    const environments = envText.split(",").filter(Boolean).map(checkEnvironmentName);
    const daysText = flagString(client, "expires-days");
    const expiresInDays = daysText === undefined ? undefined : Number(daysText);
    if (
      expiresInDays !== undefined &&
      (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > 3650)
    ) {
      throw new CliError("--expires-days is a number of days from 1 to 3650", EXIT.usage);
    }
    const created = await client.api().tokens.create(await client.projectId(), {
      name,
      environments,
      write: client.flags.write === true ? true : undefined,
      expiresInDays,
    });
    // Made by this server: it may go there even when only a checkout's .env.vault names it.
    try {
      client.store.bind(created.token, client.server());
    } catch (error) {
      warn(client.io, `could not remember the token's server (${(error as Error).message})`);
    }
    if (client.json) printJson(client.io, created);
    else client.io.stdout.write(`${created.token}\n`);
    note(
      client.io,
      `token ${created.id} "${created.name}": ${created.write ? "read-write" : "read-only"} on ${created.environments.join(", ")}${created.expiresAt ? `, expires ${isoTime(created.expiresAt)}` : ", no expiry"}. It is shown once: store it now (in CI, as VAULT_TOKEN)`,
    );
    return EXIT.ok;
  });
}

export function tokensList(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const tokens = await client.api().tokens.list(await client.projectId());
    if (client.json) {
      printJson(client.io, tokens);
      return EXIT.ok;
    }
    if (tokens.length === 0) {
      client.io.stdout.write("no service tokens: vault tokens create NAME --env ENV\n");
      return EXIT.ok;
    }
    client.io.stdout.write(
      table([
        ["ID", "NAME", "ENVIRONMENTS", "ACCESS", "STATUS", "EXPIRES", "LAST USED"],
        ...tokens.map((t) => [
          t.id,
          t.name,
          t.environments.join(","),
          t.write ? "read-write" : "read-only",
          t.status,
          isoTime(t.expiresAt),
          isoTime(t.lastUsedAt),
        ]),
      ]),
    );
    return EXIT.ok;
  });
}

export function tokensRevoke(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [which, extra] = client.positionals;
    if (!which || extra !== undefined)
      throw new CliError("revoke which token? give its ID or NAME", EXIT.usage, [
        "see them: vault tokens list",
      ]);
    const projectId = await client.projectId();
    let id = which;
    if (!/^tok_[0-9a-f]{24}$/.test(which)) {
      // A suspended token (its creator is disabled) can be revoked by name too.
      const active = (await client.api().tokens.list(projectId)).filter(
        (t) => t.name === which && (t.status === "active" || t.status === "suspended"),
      );
      if (active.length === 0)
        throw new CliError(`no active or suspended token named "${which}"`, EXIT.notFound, [
          "see them: vault tokens list",
        ]);
      if (active.length > 1) {
        throw new CliError(`${active.length} unrevoked tokens are named "${which}"`, EXIT.usage, [
          `give the ID instead: ${active.map((t) => t.id).join(", ")}`,
        ]);
      }
      id = active[0]!.id;
    }
    await client.api().tokens.revoke(projectId, id);
    client.io.stdout.write(`revoked ${id}\n`);
    return EXIT.ok;
  });
}

const DURATION = /^(\d+)(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** `--since 24h` / `7d` / an ISO date, as milliseconds since the epoch. */
export function parseSince(text: string, now: number): number {
  const m = DURATION.exec(text);
  if (m) return now - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new CliError(`--since: "${text.slice(0, 40)}" is not a duration or a date`, EXIT.usage, [
      "like 30m, 24h, 7d, 2w or 2030-01-31",
    ]);
  return t;
}

/** An event's detail for a table: the user it is about by email rather than id, then the rest. */
function auditDetail(e: AuditEvent): string {
  let detail = e.detail;
  if (e.subject && detail && typeof detail === "object" && "userId" in detail) {
    const { userId: _, ...rest } = detail as Record<string, unknown>;
    detail = rest;
  }
  const json =
    detail === null || (typeof detail === "object" && Object.keys(detail).length === 0)
      ? ""
      : JSON.stringify(detail);
  return [e.subject ?? "", json].filter(Boolean).join(" ").slice(0, 120);
}

export function audit(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const api = client.api();
    if (client.flags.verify === true) {
      const result = await api.audit.verify();
      if (client.json) printJson(client.io, result);
      if (result.ok) {
        if (!client.json) client.io.stdout.write(`audit chain intact: ${result.rows} events\n`);
        return EXIT.ok;
      }
      throw new CliError(`audit chain broken at row ${result.seq}: ${result.problem}`, EXIT.failure, [
        "an operator restores app.db from a backup and finds out who could write to it",
      ]);
    }
    const project =
      flagString(client, "project") ?? (client.flags.all === true ? undefined : client.link.projectId);
    const limitText = flagString(client, "limit");
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new CliError("--limit is a number from 1 to 1000", EXIT.usage);
    const sinceText = flagString(client, "since");
    const events = await api.audit.list({
      project,
      action: flagString(client, "action"),
      since: sinceText === undefined ? undefined : parseSince(sinceText, Date.now()),
      limit,
    });
    if (client.json) {
      printJson(client.io, events);
      return EXIT.ok;
    }
    if (events.length === 0) {
      client.io.stdout.write("no events\n");
      return EXIT.ok;
    }
    const all = project === undefined;
    client.io.stdout.write(
      table([
        ["SEQ", "WHEN", "ACTION", "BY", ...(all ? ["PROJECT"] : []), "ENV", "FROM", "DETAIL"],
        ...events.map((e) => [
          String(e.seq),
          isoTime(e.at),
          e.action,
          e.actor.label,
          ...(all ? [e.project ?? e.projectId ?? "-"] : []),
          e.environment ?? e.environmentId ?? "-",
          e.ip ?? "-",
          auditDetail(e),
        ]),
      ]),
    );
    return EXIT.ok;
  });
}
