/**
 * The command table. Static on purpose: the compiled binary cannot list its
 * own files, and one table is what `--help`, `vault help CMD` and shell
 * completion all read.
 */

import {
  CliError,
  type CliError as CliErrorType,
  type Command,
  type CommandContext,
  didYouMean,
  type FlagSpecs,
  type Io,
  parseArgs,
  printError,
  suggest,
  usage,
} from "./cli-kit";
import { CONFIG_FLAGS, type ConfigFlag, configFlagKind } from "./config";
import { EXIT, exitCodeOf } from "./exit-codes";
import { commit, version } from "./version";

const DATA_FLAGS = [
  "data",
  "root-key-file",
  "app-key-file",
  "keeper-token-file",
  "app-db",
  "vault-db",
  "app-db-auth-token-file",
  "vault-db-auth-token-file",
] as const;

function configFlagSpecs(which: "all" | "data", also: readonly ConfigFlag[] = []): FlagSpecs {
  const names = which === "all" ? (Object.keys(CONFIG_FLAGS) as ConfigFlag[]) : [...DATA_FLAGS, ...also];
  const specs: FlagSpecs = {};
  for (const name of names) {
    const kind = configFlagKind(name);
    specs[name] = {
      type: kind.boolean ? "boolean" : "string",
      help: CONFIG_FLAGS[name].help,
      ...(kind.repeatable ? { repeatable: true } : {}),
    };
  }
  return specs;
}

/** Flags of the client commands (they talk to a server's API). */
const SERVER_FLAGS: FlagSpecs = {
  server: { type: "string", help: "the server's URL [VAULT_SERVER; default DOTENV_API_URL in .env.vault]" },
  verbose: { type: "boolean", help: "say which server, credential and project, and details of failures" },
};
const PROJECT_FLAGS: FlagSpecs = {
  ...SERVER_FLAGS,
  project: { type: "string", help: "the project, vlt_... (default DOTENV_VAULT in .env.vault)" },
};
const JSON_FLAG: FlagSpecs = { json: { type: "boolean", help: "print JSON" } };
const ENV_FLAG: FlagSpecs = {
  env: { type: "string", help: "the environment, ENV or ENV@VERSION (default development)" },
};
const client = () => import("./client");

export const COMMANDS: readonly Command[] = [
  {
    name: "login",
    summary: "sign in to a server (prompts on a terminal; --browser approves in a browser)",
    args: "[URL]",
    flags: {
      ...SERVER_FLAGS,
      email: { type: "string", help: "the account's email" },
      "password-stdin": {
        type: "boolean",
        help: "read the password from standard input (a second line: the new one, if it must change)",
      },
      browser: { type: "boolean", help: "approve the sign-in in a browser instead of a password" },
      open: { type: "boolean", help: "with --browser, open the page (default on a terminal; --no-open)" },
    },
    run: async (ctx) => (await client()).login(ctx),
  },
  {
    name: "logout",
    summary: "sign out: revoke this machine's session",
    args: "[URL]",
    flags: SERVER_FLAGS,
    run: async (ctx) => (await client()).logout(ctx),
  },
  {
    name: "trust",
    summary:
      "let the credential in VAULT_TOKEN, DOTENV_ME or .env.me go to URL (default: the server in .env.vault)",
    args: "[URL]",
    flags: {
      ...SERVER_FLAGS,
      forget: { type: "boolean", help: "remove the credential's binding instead" },
    },
    run: async (ctx) => (await client()).trust(ctx),
  },
  {
    name: "whoami",
    summary: "show who the credential in use belongs to, and where it came from",
    flags: { ...SERVER_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).whoami(ctx),
  },
  {
    name: "new",
    summary: "create a project and link this directory to it (.env.vault, .gitignore)",
    args: "[NAME]",
    flags: {
      ...SERVER_FLAGS,
      force: { type: "boolean", help: "even when this directory is linked already" },
    },
    run: async (ctx) => (await client()).newProject(ctx),
  },
  {
    name: "link",
    summary: "link this directory to a project (writes DOTENV_VAULT in .env.vault)",
    args: "vlt_...",
    flags: SERVER_FLAGS,
    run: async (ctx) => (await client()).link(ctx),
  },
  {
    name: "projects",
    summary: "list the projects you can see",
    flags: { ...SERVER_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).projects(ctx),
  },
  {
    name: "envs",
    summary: "list the project's environments, versions and your access",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).envs(ctx),
  },
  {
    name: "envs add",
    summary: "add an environment (--from ENV: a branch that inherits every key of ENV)",
    args: "NAME",
    flags: {
      ...PROJECT_FLAGS,
      from: {
        type: "string",
        help: "make a branch of this environment: it keeps only its own overrides, additions and removals",
      },
    },
    run: async (ctx) => (await client()).envsAdd(ctx),
  },
  {
    name: "envs rm",
    summary: "remove an environment and every version of it",
    args: "NAME",
    flags: { ...PROJECT_FLAGS, yes: { type: "boolean", help: "do not ask for confirmation" } },
    run: async (ctx) => (await client()).envsRm(ctx),
  },
  {
    name: "envs protect",
    summary: "protect an environment: every change becomes a change request someone else approves",
    args: "ENV",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      approvers: {
        type: "string",
        help: "only these users approve: EMAIL[,EMAIL...] (default: any member with write on it)",
      },
      "allow-token-bypass": {
        type: "boolean",
        help: "service tokens with write change it directly, for automation (default: they are held too)",
      },
    },
    run: async (ctx) => (await client()).envsProtect(ctx),
  },
  {
    name: "envs unprotect",
    summary: "stop protecting an environment (audited)",
    args: "ENV",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).envsUnprotect(ctx),
  },
  {
    name: "requests list",
    summary: "list the open change requests (of protected environments); --all: closed ones too",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      env: { type: "string", help: "only this environment's" },
      all: { type: "boolean", help: "also approved, rejected and withdrawn ones" },
    },
    run: async (ctx) => (await client()).requestsList(ctx),
  },
  {
    name: "requests show",
    summary: "show a change request: who, on which version, the names it changes (values masked)",
    args: "N",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      reveal: { type: "boolean", help: "show the values (approvers; an audited read)" },
    },
    run: async (ctx) => (await client()).requestsShow(ctx),
  },
  {
    name: "requests approve",
    summary: "approve a change request (not your own): it becomes the next version",
    args: "N",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).requestsApprove(ctx),
  },
  {
    name: "requests reject",
    summary: "reject a change request",
    args: "N",
    flags: { ...PROJECT_FLAGS, reason: { type: "string", help: "why (shown to its author)" } },
    run: async (ctx) => (await client()).requestsReject(ctx),
  },
  {
    name: "requests withdraw",
    summary: "withdraw your own change request",
    args: "N",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).requestsWithdraw(ctx),
  },
  {
    name: "requests rebase",
    summary: "reapply a change request on the environment's latest version (refused if a key both changed)",
    args: "N",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).requestsRebase(ctx),
  },
  {
    name: "push",
    summary: "push a .env file as the environment's next version (refused if it moved on)",
    args: "[ENV] [FILE]",
    flags: {
      ...PROJECT_FLAGS,
      merge: {
        type: "boolean",
        help: "add and update the file's keys on the latest version, keep the others",
      },
      force: { type: "boolean", help: "replace the latest version even if it is not the one you had" },
      yes: { type: "boolean", help: "push a file that holds no keys (it removes every key) without asking" },
    },
    run: async (ctx) => (await client()).push(ctx),
  },
  {
    name: "pull",
    summary: "write an environment (or ENV@VERSION) to its .env file; the old one is kept as FILE.previous",
    args: "[ENV[@VERSION]] [FILE|-]",
    flags: {
      ...PROJECT_FLAGS,
      resolve: {
        type: "boolean",
        help: "references resolved and your personal overrides applied (default: the file as written)",
      },
    },
    run: async (ctx) => (await client()).pull(ctx),
  },
  {
    name: "get",
    summary: "print one value (references resolved, your personal override applied)",
    args: "KEY",
    flags: { ...PROJECT_FLAGS, ...ENV_FLAG, ...JSON_FLAG },
    run: async (ctx) => (await client()).get(ctx),
  },
  {
    name: "set",
    summary: "set values (KEY=VALUE..., or KEY - to read one from standard input)",
    args: "KEY=VALUE... | KEY -",
    flags: {
      ...PROJECT_FLAGS,
      ...ENV_FLAG,
      personal: {
        type: "boolean",
        help: "keep them as your own overrides of the environment (only your run, export, get see them)",
      },
    },
    run: async (ctx) => (await client()).set(ctx),
  },
  {
    name: "unset",
    summary: "remove keys",
    args: "KEY...",
    flags: {
      ...PROJECT_FLAGS,
      ...ENV_FLAG,
      personal: { type: "boolean", help: "remove your personal overrides of these keys instead" },
    },
    run: async (ctx) => (await client()).unset(ctx),
  },
  {
    name: "diff",
    summary: "compare environments, versions (ENV@N) or local files; values masked unless --reveal",
    args: "[A] [B]",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG, reveal: { type: "boolean", help: "show the values" } },
    run: async (ctx) => (await client()).diff(ctx),
  },
  {
    name: "versions",
    summary: "list an environment's versions: who, when, which keys",
    args: "[ENV]",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG, limit: { type: "string", help: "at most N (default 100)" } },
    run: async (ctx) => (await client()).versions(ctx),
  },
  {
    name: "rollback",
    summary: "make a new version equal to an old one",
    args: "ENV@VERSION",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).rollback(ctx),
  },
  {
    name: "run",
    summary: "run a command with the environment's values in its environment",
    args: "-- CMD [ARGS...]",
    flags: {
      ...PROJECT_FLAGS,
      ...ENV_FLAG,
      override: { type: "boolean", help: "the values win over variables already set" },
      fallback: {
        type: "boolean",
        help: "use the offline copy when the server cannot be reached (default; --no-fallback refuses)",
      },
      offline: { type: "boolean", help: "use the offline copy without asking the server" },
      local: { type: "string", help: "lay this local .env file over the values, as the last layer" },
    },
    run: async (ctx) => (await client()).run(ctx),
  },
  {
    name: "explain",
    summary: "say which layer gives a key its value, and what its references point at (with versions)",
    args: "KEY [ENV]",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      reveal: { type: "boolean", help: "show the value (an audited read)" },
      local: { type: "string", help: "a local .env file laid on top, as vault run --local lays it" },
    },
    run: async (ctx) => (await client()).explain(ctx),
  },
  {
    name: "overrides",
    summary: "list the names of your personal overrides (of ENV, or of every environment)",
    args: "[ENV]",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).overrides(ctx),
  },
  {
    name: "export",
    summary: "print the values as dotenv, json, yaml, shell, docker (--env-file) or k8s (a Secret)",
    flags: {
      ...PROJECT_FLAGS,
      ...ENV_FLAG,
      format: { type: "string", help: "dotenv | json | yaml | shell | docker | k8s (default dotenv)" },
      name: { type: "string", help: "k8s: the Secret's name (default vault-ENV)" },
      namespace: { type: "string", help: "k8s: the Secret's namespace" },
      offline: { type: "boolean", help: "use the offline copy without asking the server" },
    },
    run: async (ctx) => (await client()).exportValues(ctx),
  },
  {
    name: "build",
    summary: "write .env.vault: every environment you can read, encrypted with its DOTENV_KEY",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).build(ctx),
  },
  {
    name: "keys",
    summary: "print the DOTENV_KEYs that open .env.vault",
    args: "[ENV]",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).keys(ctx),
  },
  {
    name: "rotatekey",
    summary: "give an environment a new DOTENV_KEY (the previous one still opens older builds)",
    args: "ENV",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).rotatekey(ctx),
  },
  {
    name: "decrypt",
    summary: "open .env.vault with a DOTENV_KEY (argument or DOTENV_KEY), offline",
    args: "[DOTENV_KEY]",
    flags: { ...JSON_FLAG, file: { type: "string", help: "the file to open (default .env.vault)" } },
    run: async (ctx) => (await client()).decrypt(ctx),
  },
  {
    name: "members list",
    summary: "list the project's members and their access per environment",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).membersList(ctx),
  },
  {
    name: "members add",
    summary: "add a user to the project, with optional grants (ENV=read|write)",
    args: "EMAIL [ENV=PERMISSION...]",
    flags: { ...PROJECT_FLAGS, role: { type: "string", help: "owner | member (default member)" } },
    run: async (ctx) => (await client()).membersAdd(ctx),
  },
  {
    name: "members rm",
    summary: "remove a member and their grants",
    args: "EMAIL",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).membersRm(ctx),
  },
  {
    name: "members grant",
    summary: "set a member's access per environment (none, read, write)",
    args: "EMAIL ENV=PERMISSION...",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).membersGrant(ctx),
  },
  {
    name: "tokens create",
    summary: "create a service token for CI (printed once; read-only unless --write)",
    args: "NAME",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      env: { type: "string", help: "the environments it may use: ENV[,ENV...] (required)" },
      write: { type: "boolean", help: "it may also push and set" },
      "expires-days": { type: "string", help: "it expires after N days (default never)" },
    },
    run: async (ctx) => (await client()).tokensCreate(ctx),
  },
  {
    name: "tokens list",
    summary: "list the project's service tokens (never the tokens themselves)",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).tokensList(ctx),
  },
  {
    name: "tokens revoke",
    summary: "revoke a service token",
    args: "ID|NAME",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).tokensRevoke(ctx),
  },
  {
    name: "webhooks list",
    summary: "list the project's webhooks (owners)",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).webhooksList(ctx),
  },
  {
    name: "webhooks add",
    summary: "add a webhook: its signing secret is printed once (https only unless the server allows http)",
    args: "URL",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      env: { type: "string", help: "only these environments' events: ENV[,ENV...] (default all)" },
      events: {
        type: "string",
        help: "only these events, e.g. version.created,version.rollback,dotenv_key.rotated (default all)",
      },
      disabled: { type: "boolean", help: "create it disabled" },
    },
    run: async (ctx) => (await client()).webhooksAdd(ctx),
  },
  {
    name: "webhooks show",
    summary: "show a webhook (never its secret)",
    args: "WEBHOOK",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).webhooksShow(ctx),
  },
  {
    name: "webhooks rm",
    summary: "remove a webhook and its delivery log",
    args: "WEBHOOK",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).webhooksRm(ctx),
  },
  {
    name: "webhooks enable",
    summary: "deliver a webhook's events again",
    args: "WEBHOOK",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).webhooksEnable(ctx),
  },
  {
    name: "webhooks disable",
    summary: "stop delivering a webhook's events (those meanwhile are not queued)",
    args: "WEBHOOK",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await client()).webhooksDisable(ctx),
  },
  {
    name: "webhooks ping",
    summary: "send a ping now and print its status and latency",
    args: "WEBHOOK",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).webhooksPing(ctx),
  },
  {
    name: "webhooks deliveries",
    summary:
      "a webhook's delivery log (state, attempts, status, latency, next try), or one delivery's attempts",
    args: "WEBHOOK [DELIVERY]",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      limit: { type: "string", help: "at most N deliveries (default 50)" },
    },
    run: async (ctx) => (await client()).webhooksDeliveries(ctx),
  },
  {
    name: "webhooks redeliver",
    summary: "send a delivery again now (same id and body)",
    args: "WEBHOOK DELIVERY",
    flags: { ...PROJECT_FLAGS, ...JSON_FLAG },
    run: async (ctx) => (await client()).webhooksRedeliver(ctx),
  },
  {
    name: "webhooks rotate-secret",
    summary:
      "give a webhook a new signing secret, printed once (the old one stops at once unless --keep-old)",
    args: "WEBHOOK",
    flags: {
      ...PROJECT_FLAGS,
      ...JSON_FLAG,
      "keep-old": {
        type: "string",
        help: "the old secret also signs for N hours (at most 72), for a switch without failures",
      },
    },
    run: async (ctx) => (await client()).webhooksRotateSecret(ctx),
  },
  {
    name: "audit",
    summary: "show audit events (the linked project's, or --all), or --verify the chain",
    flags: {
      ...SERVER_FLAGS,
      ...JSON_FLAG,
      project: { type: "string", help: "events of this project, vlt_... (default the linked one)" },
      all: { type: "boolean", help: "every project's events (instance owners and admins)" },
      action: { type: "string", help: "only this action, e.g. secrets.read" },
      since: { type: "string", help: "only since a time: 30m, 24h, 7d or a date" },
      limit: { type: "string", help: "at most N events (default 50)" },
      verify: { type: "boolean", help: "check the audit log's hash chain instead" },
    },
    run: async (ctx) => (await client()).audit(ctx),
  },
  {
    name: "completion",
    summary: "print a shell completion script",
    args: "bash|zsh|fish",
    run: async (ctx) =>
      (await client()).completionCommand(
        ctx,
        COMMANDS.filter((c) => !c.hidden).map((c) => ({ name: c.name, flags: Object.keys(flagsOf(c)) })),
      ),
  },
  {
    name: "tui",
    summary: "browse and edit environments in a terminal UI",
    flags: PROJECT_FLAGS,
    run: async (ctx) => (await import("./commands/tui")).tui(ctx),
  },
  {
    name: "serve",
    summary: "run the server: the keeper and the app, supervised",
    config: "all",
    flags: { supervised: { type: "boolean", help: "(internal) run as a child of the supervisor" } },
    run: async (ctx) => (await import("./commands/serve")).serve(ctx),
  },
  {
    name: "keeper status",
    summary: "show key terms, values per term and re-seal progress",
    config: "data",
    flags: { json: { type: "boolean", help: "print JSON" } },
    run: async (ctx) => (await import("./commands/keeper")).keeperStatus(ctx),
  },
  {
    name: "keeper rotate",
    summary: "rotate the data key now; values are re-sealed in the background",
    config: "data",
    run: async (ctx) => (await import("./commands/keeper")).keeperRotate(ctx),
  },
  {
    name: "keeper rotate-root",
    summary: "replace the root key (re-seals the keyring only)",
    config: "data",
    run: async (ctx) => (await import("./commands/keeper")).keeperRotateRoot(ctx),
  },
  {
    name: "admin user add",
    summary: "create a user (prints a one-time password unless --password-stdin)",
    args: "EMAIL",
    config: "data",
    flags: {
      role: { type: "string", help: "owner | admin | member (default member)" },
      "password-stdin": { type: "boolean", help: "read the password from standard input" },
    },
    run: async (ctx) => (await import("./commands/admin")).userAdd(ctx),
  },
  {
    name: "admin user list",
    summary: "list users, their roles and status",
    config: "data",
    flags: { json: { type: "boolean", help: "print JSON" } },
    run: async (ctx) => (await import("./commands/admin")).userList(ctx),
  },
  {
    name: "admin user disable",
    summary: "disable a user and revoke their sessions and credentials",
    args: "EMAIL",
    config: "data",
    run: async (ctx) => (await import("./commands/admin")).userDisable(ctx),
  },
  {
    name: "admin user enable",
    summary: "enable a disabled user again (they sign in again)",
    args: "EMAIL",
    config: "data",
    run: async (ctx) => (await import("./commands/admin")).userEnable(ctx),
  },
  {
    name: "admin user reset-password",
    summary: "set a new one-time password and sign the user out everywhere",
    args: "EMAIL",
    config: "data",
    run: async (ctx) => (await import("./commands/admin")).userResetPassword(ctx),
  },
  {
    name: "admin session",
    summary: "break-glass: print a session token for an owner or admin, made on this host (no sign-in)",
    args: "EMAIL",
    config: "data",
    flags: { ttl: { type: "string", help: "how long it lasts (default 1h, at most 12h)" } },
    run: async (ctx) => (await import("./commands/admin")).session(ctx),
  },
  {
    name: "audit verify",
    summary: "check the audit log's hash chain and name the first broken row",
    config: "data",
    run: async (ctx) => (await import("./commands/admin")).auditVerify(ctx),
  },
  {
    name: "gc",
    summary: "remove stored values that no version references any more",
    config: "data",
    configAlso: ["gc-grace"],
    run: async (ctx) => (await import("./commands/admin")).gc(ctx),
  },
  {
    name: "backup",
    summary: "write a consistent snapshot of both databases (and the keys) to DEST, with a manifest",
    args: "DEST",
    config: "data",
    flags: {
      keys: { type: "boolean", help: "copy the key files too (default; --no-keys leaves them out)" },
    },
    run: async (ctx) => (await import("./commands/backup")).backup(ctx),
  },
  {
    name: "restore",
    summary: "check a backup, then replace the data directory with it (no server may run on it)",
    args: "SRC",
    config: "data",
    flags: { force: { type: "boolean", help: "replace a data directory that holds data" } },
    run: async (ctx) => (await import("./commands/backup")).restore(ctx),
  },
  {
    name: "doctor",
    summary: "check a data directory (modes, keys, schema, keeper, audit chain, orphans) and say what to fix",
    config: "data",
    configAlso: ["gc-grace"],
    flags: { json: { type: "boolean", help: "print JSON" } },
    run: async (ctx) => (await import("./commands/doctor")).doctor(ctx),
  },
  {
    name: "healthcheck",
    summary:
      "exit 0 when URL (default: this host's own listener's /readyz) answers 200 (for container health checks)",
    args: "[URL]",
    hidden: true,
    config: "all",
    flags: { insecure: { type: "boolean", help: "accept a certificate no CA signed" } },
    run: async (ctx) => (await import("./commands/healthcheck")).healthcheck(ctx),
  },
  {
    name: "selftest",
    summary: "check that the parts a compiled binary needs are inside it",
    hidden: true,
    run: async (ctx) => (await import("./commands/selftest")).selftest(ctx),
  },
  {
    name: "unpack-addon",
    summary: "write the libsql addon this binary carries to DIR/libsql.node (vault serve runs it)",
    args: "DIR",
    hidden: true,
    run: async (ctx) => (await import("./commands/unpack-addon")).unpackAddonCommand(ctx),
  },
  {
    name: "version",
    summary: "print the version",
    run: async ({ io }) => {
      io.stdout.write(`vault ${version} (${commit})\n`);
      return EXIT.ok;
    },
  },
  {
    name: "help",
    summary: "show help for all commands, or for one",
    args: "[COMMAND]",
    run: async ({ io, positionals }) => {
      if (positionals.length === 0) {
        io.stdout.write(generalHelp());
        return EXIT.ok;
      }
      const found = findCommand(positionals);
      if (!found || found.consumed !== positionals.length) {
        const group = groupOf(positionals);
        if (group && group.prefix.length === positionals.length) {
          io.stdout.write(groupHelp(group));
          return EXIT.ok;
        }
        throw new CliError(`no command "${positionals.join(" ")}"`, EXIT.usage, [
          ...closeCommands(positionals, "vault help"),
          "run: vault help",
        ]);
      }
      io.stdout.write(commandHelp(found.command));
      return EXIT.ok;
    },
  },
];

function findCommand(words: readonly string[]): { command: Command; consumed: number } | undefined {
  let best: { command: Command; consumed: number } | undefined;
  for (const command of COMMANDS) {
    const parts = command.name.split(" ");
    if (parts.length <= words.length && parts.every((p, i) => words[i] === p)) {
      if (!best || parts.length > best.consumed) best = { command, consumed: parts.length };
    }
  }
  return best;
}

interface Group {
  /** The words every member's name starts with, e.g. ["admin", "user"]. */
  prefix: string[];
  members: Command[];
}

const wordsOf = (command: Command) => command.name.split(" ");

/** The longest leading words of `words` that name a group of commands (`tokens`, `admin user`), if any. */
function groupOf(words: readonly string[]): Group | undefined {
  let best: Group | undefined;
  for (let n = 1; n <= words.length; n++) {
    const prefix = words.slice(0, n);
    const members = COMMANDS.filter((c) => {
      const w = wordsOf(c);
      return !c.hidden && w.length > n && prefix.every((p, i) => w[i] === p);
    });
    if (members.length === 0) break;
    best = { prefix, members };
  }
  return best;
}

export function groupHelp(group: Group): string {
  const width = Math.max(...group.members.map((c) => c.name.length)) + 2;
  const name = group.prefix.join(" ");
  return [
    `Usage: vault ${name} <command> [flags]`,
    "",
    "Commands:",
    ...group.members.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    `Run \`vault help ${name} COMMAND\` for a command's flags.`,
    "",
  ].join("\n");
}

/**
 * "did you mean" for words that name no command: the commands (or groups)
 * whose next word is close to the first word that matched nothing.
 */
function closeCommands(words: readonly string[], lead = "vault"): string[] {
  const group = groupOf(words);
  const known = group?.prefix ?? [];
  const wrong = words[known.length];
  if (wrong === undefined) return [];
  const next = new Set(
    COMMANDS.filter((c) => !c.hidden)
      .map(wordsOf)
      .filter((w) => w.length > known.length && known.every((p, i) => w[i] === p))
      .map((w) => w[known.length]!),
  );
  const close = suggest(wrong, [...next]);
  return close.length ? [didYouMean(close.map((w) => `${lead} ${[...known, w].join(" ")}`))] : [];
}

function flagsOf(command: Command): FlagSpecs {
  return {
    ...(command.config ? configFlagSpecs(command.config, command.configAlso) : {}),
    ...command.flags,
    help: { type: "boolean", help: "show this help", short: "h" },
  };
}

export function generalHelp(): string {
  const visible = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...visible.map((c) => c.name.length)) + 2;
  const lines = visible.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return [
    `vault ${version}: a self-hosted vault for .env files`,
    "",
    "Usage: vault <command> [flags]",
    "",
    "Commands:",
    ...lines,
    "",
    "Global flags: --help, --version",
    "Run `vault help COMMAND` for a command's flags.",
    "",
  ].join("\n");
}

export function commandHelp(command: Command): string {
  const flags = flagsOf(command);
  const width = Math.max(...Object.keys(flags).map((n) => n.length)) + 4;
  const lines = Object.entries(flags).map(([name, spec]) => {
    const label = `--${name}${spec.type === "string" ? " V" : ""}`;
    const env =
      command.config && name in CONFIG_FLAGS
        ? ` [${CONFIG_FLAGS[name as keyof typeof CONFIG_FLAGS].env}]`
        : "";
    return `  ${label.padEnd(width + 2)}${spec.help}${env}`;
  });
  return [
    `Usage: vault ${command.name}${command.args ? ` ${command.args}` : ""} [flags]`,
    "",
    command.summary,
    "",
    "Flags:",
    ...lines,
    "",
  ].join("\n");
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  try {
    if (argv.length === 0) {
      io.stderr.write(generalHelp());
      return EXIT.usage;
    }
    if (argv[0] === "--version" || argv[0] === "-v") return await runCommand(["version"], io);
    if (argv[0] === "--help" || argv[0] === "-h") return await runCommand(["help"], io);
    return await runCommand(argv, io);
  } catch (error) {
    return fail(io, error);
  }
}

async function runCommand(argv: readonly string[], io: Io): Promise<number> {
  const found = findCommand(argv);
  if (!found) {
    const group = groupOf(argv);
    const next = group ? argv[group.prefix.length] : undefined;
    if (group && (next === undefined || next.startsWith("-"))) {
      // `vault tokens`: the group's commands (on stdout for --help, else as a usage error would go).
      if (next === "--help" || next === "-h") {
        io.stdout.write(groupHelp(group));
        return EXIT.ok;
      }
      io.stderr.write(groupHelp(group));
      return EXIT.usage;
    }
    const word = argv[0]!;
    if (!group && word.startsWith("-")) {
      const close = suggest(word.replace(/^-+/, ""), ["help", "version"]);
      throw new CliError(`unknown flag ${word}`, EXIT.usage, [
        ...(close.length ? [didYouMean(close.map((f) => `--${f}`))] : []),
        "run: vault --help",
      ]);
    }
    const what = group ? [...group.prefix, next!].join(" ") : word;
    throw new CliError(`unknown command "${what}"`, EXIT.usage, [
      ...closeCommands(argv),
      group ? `see them: vault help ${group.prefix.join(" ")}` : "run: vault --help",
    ]);
  }
  const { command, consumed } = found;
  const parsed = parseArgs(argv.slice(consumed), flagsOf(command), command.name);
  if (parsed.flags.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  if (command.args === undefined && parsed.positionals.length > 0) {
    // `vault envs lst`: perhaps a subcommand of this command's group.
    throw usage(
      `unexpected argument "${parsed.positionals[0]}"`,
      command.name,
      closeCommands([...wordsOf(command), parsed.positionals[0]!]),
    );
  }
  const own: CommandContext["flags"] = {};
  const config: CommandContext["config"] = {};
  for (const [name, value] of Object.entries(parsed.flags)) {
    if (command.config && name in CONFIG_FLAGS && !(command.flags && name in command.flags))
      config[name] = value;
    else own[name] = value;
  }
  io.beforeCommand?.(command.name);
  return command.run({ io, flags: own, config, positionals: parsed.positionals, rest: parsed.rest });
}

function fail(io: Io, error: unknown): number {
  const cli = toCliError(error);
  printError(io, cli);
  return cli.exitCode;
}

/** Every error that reaches the top becomes one `vault: error:` line: never a stack trace. */
function toCliError(error: unknown): CliErrorType {
  if (error instanceof CliError) return error;
  const e = error as { message?: string; hint?: unknown };
  // The configuration's, the data directory's, the keys', the keeper's and the listener's errors say their exit code.
  const exitCode = exitCodeOf(error);
  if (exitCode !== undefined)
    return new CliError(e.message ?? String(error), exitCode, typeof e.hint === "string" ? [e.hint] : []);
  return new CliError(`unexpected failure: ${e?.message ?? String(error)}`, EXIT.failure, [
    "this is a bug in vault; please report it with the command you ran",
  ]);
}
