/**
 * The command table. Static on purpose: the compiled binary cannot list its
 * own files, and one table is what `--help`, `vault help CMD` and shell
 * completion all read.
 */
import {
  CliError,
  type CliError as CliErrorType,
  type FlagSpecs,
  type Io,
  parseArgs,
  printError,
  usage,
} from "./cli-kit";
import { CONFIG_FLAGS, ConfigError, type ConfigFlag } from "./config";
import { EXIT } from "./exit-codes";
import { commit, version } from "./version";

export interface CommandContext {
  io: Io;
  /** The command's own flags. */
  flags: Record<string, string | boolean | undefined>;
  /** The configuration flags given (--data, --listen, ...), for loadConfig. */
  config: Record<string, string | boolean | undefined>;
  positionals: string[];
  rest: string[];
}

export interface Command {
  /** Words that select the command, e.g. "keeper status". */
  name: string;
  summary: string;
  /** Arguments after the name, for the usage line. */
  args?: string;
  flags?: FlagSpecs;
  /** Accepts the server configuration flags (--data, --listen, ...). */
  config?: "all" | "data";
  /** Further configuration flags this command reads. */
  configAlso?: readonly ConfigFlag[];
  hidden?: boolean;
  /** Loaded on demand so that `vault --version` does not load the server. */
  run(ctx: CommandContext): Promise<number>;
}

const DATA_FLAGS = [
  "data",
  "root-key-file",
  "app-key-file",
  "keeper-token-file",
  "app-db",
  "vault-db",
] as const;

function configFlagSpecs(which: "all" | "data", also: readonly ConfigFlag[] = []): FlagSpecs {
  const names = which === "all" ? (Object.keys(CONFIG_FLAGS) as ConfigFlag[]) : [...DATA_FLAGS, ...also];
  const specs: FlagSpecs = {};
  for (const name of names) {
    specs[name] = { type: name === "behind-proxy" ? "boolean" : "string", help: CONFIG_FLAGS[name].help };
  }
  return specs;
}

export const COMMANDS: readonly Command[] = [
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
    name: "admin user reset-password",
    summary: "set a new one-time password and sign the user out everywhere",
    args: "EMAIL",
    config: "data",
    run: async (ctx) => (await import("./commands/admin")).userResetPassword(ctx),
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
    name: "selftest",
    summary: "check that the parts a compiled binary needs are inside it",
    hidden: true,
    run: async (ctx) => (await import("./commands/selftest")).selftest(ctx),
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
        throw new CliError(`no command "${positionals.join(" ")}"`, EXIT.usage, ["run: vault help"]);
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
    const word = argv[0]!;
    throw new CliError(
      word.startsWith("-") ? `unknown flag ${word}` : `unknown command "${word}"`,
      EXIT.usage,
      ["run: vault --help"],
    );
  }
  const { command, consumed } = found;
  const parsed = parseArgs(argv.slice(consumed), flagsOf(command), command.name);
  if (parsed.flags.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  if (command.args === undefined && parsed.positionals.length > 0) {
    throw usage(`unexpected argument "${parsed.positionals[0]}"`, command.name);
  }
  const own: CommandContext["flags"] = {};
  const config: CommandContext["config"] = {};
  for (const [name, value] of Object.entries(parsed.flags)) {
    if (command.config && name in CONFIG_FLAGS && !(command.flags && name in command.flags))
      config[name] = value;
    else own[name] = value;
  }
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
  if (error instanceof ConfigError)
    return new CliError(error.message, EXIT.usage, error.hint ? [error.hint] : []);
  const e = error as { name?: string; message?: string; code?: string; hint?: string };
  if (
    e &&
    (e.name === "KeyFileError" ||
      e.name === "DatabaseError" ||
      e.name === "KeeperError" ||
      e.name === "ListenError")
  ) {
    return new CliError(e.message ?? String(error), EXIT.server, e.hint ? [e.hint] : []);
  }
  return new CliError(`unexpected failure: ${e?.message ?? String(error)}`, EXIT.failure, [
    "this is a bug in vault; please report it with the command you ran",
  ]);
}
