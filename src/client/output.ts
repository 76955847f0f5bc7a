/**
 * How the CLI's client commands print: tables for people, `--json` for
 * scripts, colour only on a terminal and never under NO_COLOR (or TERM=dumb).
 *
 * Text that comes from a server (names, emails, labels, messages) goes
 * through `clean` before it reaches a terminal, so that a token named
 * `\x1b]0;...` cannot retitle the window, move the cursor or hide a line.
 * Values a command is asked to print (`get`, `pull -`, `export`) are the
 * user's data and are written as they are.
 */
import { type Io, type Output, sanitizeTerminalText } from "../cli-kit";

/**
 * Server text made safe for a terminal: every control character (C0, DEL,
 * C1, which covers ESC and the 8-bit CSI) and every bidirectional override
 * becomes U+FFFD, so nothing is hidden and nothing is interpreted.
 */
export const clean = sanitizeTerminalText;

export function colorEnabled(io: Io, stream: Output = io.stdout): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return false;
  if (io.env.TERM === "dumb") return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== "" && io.env.FORCE_COLOR !== "0")
    return true;
  return stream.isTTY === true;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Color = keyof typeof CODES;

export function paint(on: boolean): (color: Color, text: string) => string {
  return (color, text) => (on ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "";
  const cells = rows.map((r) => r.map(clean));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

/**
 * Pretty JSON. JSON.stringify escapes C0 controls but leaves DEL, C1 and the
 * bidi controls raw; they can only stand inside strings, where a \u escape
 * means the same, so the output stays the same JSON and safe on a terminal.
 */
export function printJson(io: Io, value: unknown): void {
  const text = JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  io.stdout.write(`${text}\n`);
}

export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** "2 added, 1 changed, 0 removed" from a change summary. */
export function summaryText(s: { added: string[]; changed: string[]; removed: string[] }): string {
  return `${s.added.length} added, ${s.changed.length} changed, ${s.removed.length} removed`;
}

/** Names in a sentence, at most `max` of them. */
export function nameList(names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

export function warn(io: Io, text: string): void {
  io.stderr.write(`vault: warning: ${clean(text)}\n`);
}

export function note(io: Io, text: string): void {
  io.stderr.write(`vault: ${clean(text)}\n`);
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Runs `work`, and when it takes more than a moment shows a spinner with the
 * elapsed time on standard error (only on a terminal; stdout stays clean for
 * pipes). The line is erased when the work ends.
 */
export async function withProgress<T>(
  io: Io,
  label: string,
  work: () => Promise<T>,
  delayMs = 300,
): Promise<T> {
  if (io.stderr.isTTY !== true || io.env.TERM === "dumb") return work();
  const started = Date.now();
  let frame = 0;
  let shown = false;
  const draw = () => {
    shown = true;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    io.stderr.write(`\r\u001b[2K${SPINNER[frame++ % SPINNER.length]} ${label} ${seconds}s`);
  };
  const timer = setInterval(() => {
    if (Date.now() - started >= delayMs) draw();
  }, 80);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    if (shown) io.stderr.write("\r\u001b[2K");
  }
}
