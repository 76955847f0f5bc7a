/**
 * What every command shares: its I/O, its flag parser and the one way a
 * command fails (`CliError` -> `vault: error:` / `vault: hint:` and an exit code).
 */
import { EXIT, type ExitCode } from "./exit-codes";

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Io {
  env: Record<string, string | undefined>;
  stdout: Output;
  stderr: Output;
  cwd?: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
    readonly hints: string[] = [],
  ) {
    super(message);
    this.name = "CliError";
  }
}

export interface FlagSpec {
  type: "string" | "boolean";
  help: string;
  /** One-letter alias, without the dash. */
  short?: string;
  /** A string flag that may be given more than once: the values are joined with commas. */
  repeatable?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface ParsedArgs {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Everything after a bare `--`. */
  rest: string[];
}

/** Parses `--name value`, `--name=value`, `--flag`, `--no-flag`, `-x` and `--`. Unknown flags are usage errors. */
export function parseArgs(argv: readonly string[], specs: FlagSpecs, command: string): ParsedArgs {
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  const shorts = new Map(
    Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return { flags, positionals, rest: argv.slice(i + 1) };
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = shorts.get(arg.slice(1));
      if (name === undefined) throw usage(`unknown flag ${arg}`, command);
    } else {
      positionals.push(arg);
      continue;
    }
    let spec = specs[name];
    if (!spec && name.startsWith("no-") && specs[name.slice(3)]?.type === "boolean" && inline === undefined) {
      flags[name.slice(3)] = false;
      continue;
    }
    if (!spec) throw usage(`unknown flag --${name}`, command);
    if (spec.type === "boolean") {
      if (inline !== undefined && !/^(true|false)$/.test(inline))
        throw usage(`--${name} takes no value`, command);
      flags[name] = inline === undefined ? true : inline === "true";
    } else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw usage(`--${name} needs a value`, command);
      const before = flags[name];
      flags[name] = spec.repeatable && typeof before === "string" ? `${before},${value}` : value;
    }
    spec = undefined;
  }
  return { flags, positionals, rest: [] };
}

export function usage(message: string, command: string): CliError {
  return new CliError(message, EXIT.usage, [`run: vault help ${command}`.trimEnd()]);
}

export function printError(io: Io, error: CliError): void {
  io.stderr.write(`vault: error: ${error.message}\n`);
  for (const hint of error.hints) io.stderr.write(`vault: hint: ${hint}\n`);
}
