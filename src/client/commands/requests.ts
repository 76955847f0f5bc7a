/**
 * Approvals: `vault envs protect|unprotect`, `vault requests
 * list|show|approve|reject|withdraw|rebase`, and what a write to a protected
 * environment prints. Such a write exits 0: the server accepted the change
 * and holds it as a change request (HTTP 202), and nothing failed; the
 * version comes when someone else approves it (README "Approvals").
 */
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import type { ChangeRequest } from "../api";
import { type Client, flagString, runClient } from "../context";
import { clean, isoTime, nameList, note, printJson, table } from "../output";
import { checkEnvironmentName } from "../refs";

/** What a write to a protected environment prints: the request, and how to see it. */
export function held(client: Client, env: string, number: number): number {
  if (client.json) printJson(client.io, { environment: env, request: number, state: "open" });
  note(
    client.io,
    `change request #${number} opened for ${env}; an approver must approve it: vault requests show ${number}`,
  );
  return EXIT.ok;
}

function requestNumber(client: Client, command: string): number {
  const [text, extra] = client.positionals;
  if (!text)
    throw new CliError("which change request? give its number", EXIT.usage, [
      `run: vault help requests ${command}`,
    ]);
  if (extra !== undefined)
    throw new CliError(`unexpected argument "${extra.slice(0, 60)}"`, EXIT.usage, [
      `run: vault help requests ${command}`,
    ]);
  const n = Number(text.replace(/^#/, ""));
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647)
    throw new CliError(`"${text.slice(0, 20)}" is not a change request number`, EXIT.usage, [
      "see them: vault requests list",
    ]);
  return n;
}

function envName(client: Client, command: string): string {
  const [name, extra] = client.positionals;
  if (!name) throw new CliError("which environment?", EXIT.usage, [`run: vault help envs ${command}`]);
  if (extra !== undefined)
    throw new CliError(`unexpected argument "${extra.slice(0, 60)}"`, EXIT.usage, [
      `run: vault help envs ${command}`,
    ]);
  return checkEnvironmentName(name);
}

const names = (r: ChangeRequest) =>
  [
    ...r.summary.added.map((n) => `+${n}`),
    ...r.summary.changed.map((n) => `~${n}`),
    ...r.summary.removed.map((n) => `-${n}`),
  ].join(" ") || "(layout only)";

export function envsProtect(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const env = envName(client, "protect");
    const list = flagString(client, "approvers");
    const approvers =
      list === undefined
        ? undefined
        : list
            .split(",")
            .map((e) => e.trim())
            .filter(Boolean);
    if (list !== undefined && approvers!.length === 0)
      throw new CliError("--approvers: give EMAIL[,EMAIL...]", EXIT.usage);
    const answer = await client.api().protection.protect(await client.projectId(), env, {
      ...(approvers ? { approvers } : {}),
      allowTokenBypass: client.flags["allow-token-bypass"] === true,
    });
    if (client.json) {
      printJson(client.io, answer);
      return EXIT.ok;
    }
    client.io.stdout.write(
      `${clean(
        `protected ${env}: every change becomes a change request, approved by ${answer.approvers ? nameList(answer.approvers) : "any member with write on it"} (not its author)${answer.allowTokenBypass ? "; service tokens with write bypass it" : ""}`,
      )}\n`,
    );
    return EXIT.ok;
  });
}

export function envsUnprotect(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const env = envName(client, "unprotect");
    const answer = await client.api().protection.unprotect(await client.projectId(), env);
    client.io.stdout.write(
      answer.wasProtected
        ? `${env} is no longer protected: changes make versions directly again\n`
        : `${env} was not protected\n`,
    );
    return EXIT.ok;
  });
}

export function requestsList(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    if (client.positionals.length > 0)
      throw new CliError(`unexpected argument "${client.positionals[0]!.slice(0, 60)}"`, EXIT.usage, [
        "one environment: vault requests list --env ENV",
      ]);
    const env = flagString(client, "env");
    const list = await client.api().requests.list(await client.projectId(), {
      env: env === undefined ? undefined : checkEnvironmentName(env),
      all: client.flags.all === true,
    });
    if (client.json) {
      printJson(client.io, list);
      return EXIT.ok;
    }
    if (list.length === 0) {
      client.io.stdout.write(
        client.flags.all === true ? "no change requests\n" : "no open change requests\n",
      );
      return EXIT.ok;
    }
    client.io.stdout.write(
      table([
        ["#", "ENVIRONMENT", "STATE", "BY", "BASE", "WHEN", "CHANGES"],
        ...list.map((r) => [
          String(r.number),
          r.environment,
          r.state,
          r.author,
          String(r.baseVersion),
          isoTime(r.createdAt),
          names(r),
        ]),
      ]),
    );
    return EXIT.ok;
  });
}

export function requestsShow(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const n = requestNumber(client, "show");
    const projectId = await client.projectId();
    const r = await client.api().requests.show(projectId, n);
    const revealed =
      client.flags.reveal === true ? await client.api().requests.reveal(projectId, n) : undefined;
    if (client.json) {
      printJson(client.io, revealed ? { ...r, values: revealed.values } : r);
      return EXIT.ok;
    }
    const out: string[] = [
      `change request #${r.number} for ${r.environment}: ${r.state}`,
      `  by ${r.author} at ${isoTime(r.createdAt)}, on version ${r.baseVersion} (${r.environment} is at ${r.head})`,
      `  a ${r.kind}${r.kind === "push" ? " of the whole file" : ""}`,
    ];
    if (r.decidedBy) {
      out.push(
        `  ${r.state === "withdrawn" ? "withdrawn" : r.state === "applied" ? "approved" : r.state} by ${r.decidedBy} at ${isoTime(r.decidedAt)}${r.appliedVersion ? `: version ${r.appliedVersion}` : ""}`,
      );
    }
    if (r.reason) out.push(`  reason: ${r.reason}`);
    const mask = "••••••";
    const value = (v: string | null) => (v === null ? "(none)" : JSON.stringify(v));
    const line = (sign: string, name: string) => {
      const v = revealed?.values[name];
      if (!v) return `  ${sign} ${name}${sign === "-" ? "" : ` = ${mask}`}`;
      return sign === "+"
        ? `  + ${name} = ${value(v.to)}`
        : sign === "-"
          ? `  - ${name} (was ${value(v.from)})`
          : `  ~ ${name}: ${value(v.from)} -> ${value(v.to)}`;
    };
    out.push(
      ...r.summary.added.map((name) => line("+", name)),
      ...r.summary.changed.map((name) => line("~", name)),
      ...r.summary.removed.map((name) => line("-", name)),
    );
    if (r.summary.added.length + r.summary.changed.length + r.summary.removed.length === 0)
      out.push("  (no key changes: only the file's layout)");
    client.io.stdout.write(`${out.map(clean).join("\n")}\n`);
    if (r.state === "stale")
      note(client.io, `${r.environment} moved on since: vault requests rebase ${r.number}`);
    else if (r.canApprove && !revealed)
      note(client.io, `approve it: vault requests approve ${r.number} (see the values first: --reveal)`);
    return EXIT.ok;
  });
}

export function requestsApprove(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const n = requestNumber(client, "approve");
    const answer = await client.api().requests.approve(await client.projectId(), n);
    if (client.json) printJson(client.io, answer);
    else
      client.io.stdout.write(
        `approved change request #${n}: ${answer.environment} is now version ${answer.version}\n`,
      );
    return EXIT.ok;
  });
}

export function requestsReject(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const n = requestNumber(client, "reject");
    const reason = flagString(client, "reason");
    if (reason !== undefined && reason.length > 500)
      throw new CliError("--reason: at most 500 characters", EXIT.usage);
    await client.api().requests.reject(await client.projectId(), n, reason);
    client.io.stdout.write(`rejected change request #${n}\n`);
    return EXIT.ok;
  });
}

export function requestsWithdraw(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const n = requestNumber(client, "withdraw");
    await client.api().requests.withdraw(await client.projectId(), n);
    client.io.stdout.write(`withdrew change request #${n}\n`);
    return EXIT.ok;
  });
}

export function requestsRebase(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const n = requestNumber(client, "rebase");
    const answer = await client.api().requests.rebase(await client.projectId(), n);
    client.io.stdout.write(
      answer.rebased
        ? `rebased change request #${n} on version ${answer.baseVersion} of ${answer.environment}${answer.summary ? ` (${answer.summary.added.length} added, ${answer.summary.changed.length} changed, ${answer.summary.removed.length} removed)` : ""}\n`
        : `change request #${n} is already on the latest version (${answer.baseVersion})\n`,
    );
    return EXIT.ok;
  });
}
