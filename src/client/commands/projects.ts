/** `vault new`, `vault link`, `vault projects`, `vault envs [add|rm]`. */
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import { type Client, runClient } from "../context";
import { writeFileAtomic } from "../files";
import { gitignoreText, LINK_FILE, writeLink } from "../link";
import { clean, isoTime, nameList, note, printJson, table } from "../output";
import { isInteractive, promptLine } from "../prompt";
import { checkEnvironmentName, checkProjectId } from "../refs";

function oneArg(client: Client, what: string, command: string): string {
  const [value, extra] = client.positionals;
  if (!value) throw new CliError(`which ${what}?`, EXIT.usage, [`run: vault help ${command}`]);
  if (extra !== undefined)
    throw new CliError(`unexpected argument "${extra}"`, EXIT.usage, [`run: vault help ${command}`]);
  return value;
}

export function newProject(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    if (client.positionals.length > 1) {
      throw new CliError(`unexpected argument "${client.positionals[1]}"`, EXIT.usage, [
        'quote a name with spaces: vault new "My App"',
      ]);
    }
    const name = client.positionals[0] ?? basename(client.cwd);
    if (client.link.projectId && client.flags.force !== true) {
      throw new CliError(`this directory is already linked to ${client.link.projectId}`, EXIT.conflict, [
        `see it: vault envs; link another: vault link vlt_...; or make a new project anyway: vault new --force`,
      ]);
    }
    const server = client.server();
    const project = await client.api().projects.create(name);
    writeLink(client.cwd, project.id, server);
    const gitignore = join(client.cwd, ".gitignore");
    const existing = existsSync(gitignore) ? readFileSync(gitignore, "utf8") : undefined;
    const updated = gitignoreText(existing);
    if (updated !== undefined) writeFileAtomic(gitignore, updated, 0o644);
    client.io.stdout.write(
      `${clean(
        `created project "${project.name}" (${project.id}) with ${project.environments.map((e) => e.name).join(", ")}`,
      )}\n`,
    );
    client.io.stdout.write(
      `linked this directory in ${LINK_FILE}${updated !== undefined ? "; .gitignore now ignores .env* except .env.vault" : ""}\n`,
    );
    note(client.io, "next: vault push (sends .env to development)");
    return EXIT.ok;
  });
}

export function link(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const projectId = checkProjectId(oneArg(client, "project (vlt_...)", "link"));
    const server = client.server();
    let name: string | undefined;
    let signedIn = true;
    try {
      client.credential();
    } catch (error) {
      if (!(error instanceof CliError && error.exitCode === EXIT.auth)) throw error;
      signedIn = false;
      note(client.io, "not signed in, so the project was not checked: vault login");
    }
    // Checked when there is a credential: a typo fails here, not at the first push.
    if (signedIn) name = (await client.api().projects.get(projectId)).name;
    writeLink(client.cwd, projectId, server);
    client.io.stdout.write(
      `${clean(`linked this directory to ${name ? `"${name}" ` : ""}${projectId} on ${server} (${LINK_FILE})`)}\n`,
    );
    return EXIT.ok;
  });
}

export function projects(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const list = await client.api().projects.list();
    if (client.json) {
      printJson(client.io, list);
      return EXIT.ok;
    }
    if (list.length === 0) {
      client.io.stdout.write("no projects yet: vault new NAME\n");
      return EXIT.ok;
    }
    const linked = client.link.projectId;
    client.io.stdout.write(
      table([
        ["ID", "NAME", "CREATED", ""],
        ...list.map((p) => [p.id, p.name, isoTime(p.createdAt), p.id === linked ? "(linked here)" : ""]),
      ]),
    );
    return EXIT.ok;
  });
}

export function envs(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const projectId = await client.projectId();
    const project = await client.api().projects.get(projectId);
    // Protected environments (servers before issue 16 have none: their answer is a 404).
    const protections = new Map(
      (
        await client
          .api()
          .protection.list(projectId)
          .catch(() => [])
      ).map((p) => [p.environment, p]),
    );
    if (client.json) {
      printJson(
        client.io,
        project.environments.map((e) => {
          const p = protections.get(e.name);
          return p
            ? { ...e, protected: { approvers: p.approvers, allowTokenBypass: p.allowTokenBypass } }
            : e;
        }),
      );
      return EXIT.ok;
    }
    const protection = (name: string) => {
      const p = protections.get(name);
      if (!p) return "";
      return `protected: approved by ${p.approvers ? nameList(p.approvers, 3) : "members with write"}${p.allowTokenBypass ? "; tokens bypass" : ""}`;
    };
    client.io.stdout.write(
      table([
        ["ENVIRONMENT", "VERSION", "ACCESS", "", ...(protections.size > 0 ? ["APPROVALS"] : [])],
        ...project.environments.map((e) => [
          e.name,
          String(e.version),
          e.permission,
          e.main ? "(main)" : e.parent ? `(branch of ${e.parent})` : "",
          ...(protections.size > 0 ? [protection(e.name)] : []),
        ]),
      ]),
    );
    return EXIT.ok;
  });
}

export function envsAdd(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const name = checkEnvironmentName(oneArg(client, "environment", "envs add"));
    const from = typeof client.flags.from === "string" ? checkEnvironmentName(client.flags.from) : undefined;
    await client.api().projects.addEnvironment(await client.projectId(), name, from);
    client.io.stdout.write(
      from
        ? `added environment ${name}, a branch of ${from}: it has every key of ${from} and keeps only its own changes\n`
        : `added environment ${name}\n`,
    );
    return EXIT.ok;
  });
}

export function envsRm(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const name = checkEnvironmentName(oneArg(client, "environment", "envs rm"));
    const projectId = await client.projectId();
    if (client.flags.yes !== true) {
      if (!isInteractive(client.io)) {
        throw new CliError(`removing ${name} deletes every version of it`, EXIT.usage, [
          `confirm with: vault envs rm ${name} --yes`,
        ]);
      }
      const typed = await promptLine(
        client.io,
        `This deletes ${name} and every version of it. Type its name to confirm: `,
      );
      if (typed.trim() !== name) throw new CliError("not confirmed; nothing removed", EXIT.failure);
    }
    await client.api().projects.removeEnvironment(projectId, name);
    client.io.stdout.write(`removed environment ${name}\n`);
    return EXIT.ok;
  });
}
