/**
 * What every command shares: its I/O, its flag parser and the one way a
 * command fails (`CliError` -> `vault: error:` / `vault: hint:` and an exit code).
 */
import type { ConfigFlag } from "./config";
import { EXIT, EXIT_CODE, type ExitCode } from "./exit-codes";

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Io {
  env: Record<string, string | undefined>;
  stdout: Output;
  stderr: Output;
  cwd?: string;
  /**
   * Called once the command is known, before it runs: main.ts turns core
   * dumps off here (src/harden.ts). Tests that run commands in the test
   * runner's own process leave it out, since a lowered limit cannot be raised.
   */
  beforeCommand?: (name: string) => void;
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

  get [EXIT_CODE](): ExitCode {
    return this.exitCode;
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
    if (!spec) {
      const close = suggest(
        name,
        Object.entries(specs).flatMap(([n, s]) => (s.type === "boolean" ? [n, `no-${n}`] : [n])),
      );
      throw usage(
        `unknown flag --${name}`,
        command,
        close.length ? [didYouMean(close.map((n) => `--${n}`))] : [],
      );
    }
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

export function usage(message: string, command: string, hints: string[] = []): CliError {
  return new CliError(message, EXIT.usage, [...hints, `run: vault help ${command}`.trimEnd()]);
}

/**
 * The edit distance between two words: insertions, deletions, substitutions
 * and swaps of neighbours each cost one (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidates a mistyped word most likely meant: those it is the start
 * of, else the closest within a small edit distance (1 up to three letters,
 * 2 up to seven, then 3); only the best ones, at most three.
 */
export function suggest(word: string, candidates: readonly string[]): string[] {
  const w = word.toLowerCase();
  if (w === "") return [];
  const limit = w.length <= 3 ? 1 : w.length <= 7 ? 2 : 3;
  const scored = [...new Set(candidates)]
    .filter((c) => c !== word)
    .map((c) => ({ c, d: c.startsWith(w) && w.length >= 2 ? 0 : editDistance(w, c.toLowerCase()) }))
    .filter((s) => s.d <= limit);
  const best = Math.min(...scored.map((s) => s.d));
  return scored
    .filter((s) => s.d === best)
    .map((s) => s.c)
    .sort()
    .slice(0, 3);
}

/** "did you mean vault tokens list?" for one suggestion, "did you mean one of: a, b?" for more. */
export function didYouMean(options: readonly string[]): string {
  return options.length === 1 ? `did you mean ${options[0]}?` : `did you mean one of: ${options.join(", ")}?`;
}

/** C0, DEL, C1 and the bidirectional embeddings, overrides and isolates. */
const UNSAFE_FOR_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text made safe to print on a terminal: each control character becomes
 * U+FFFD, visibly, instead of moving the cursor, retitling the window or
 * reordering a line. For text that is not the user's own data (server
 * answers, names, messages); values asked for are printed as they are.
 */
export function sanitizeTerminalText(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, "\ufffd");
}

/** `vault: error:` and `vault: hint:` lines; their text may come from a server, so it is sanitized. */
export function printError(io: Io, error: CliError): void {
  io.stderr.write(`vault: error: ${sanitizeTerminalText(error.message)}\n`);
  for (const hint of error.hints) io.stderr.write(`vault: hint: ${sanitizeTerminalText(hint)}\n`);
}

/** What a command is given: its I/O, its flags, the configuration flags and its arguments. */
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
