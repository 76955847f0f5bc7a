/**
 * Quoting styles: how a value's text is regenerated from the value, and which
 * style to pick for a new value so that dotenv reads back exactly that value
 * wherever the line stands (see README.md, "Representability").
 */
import { DotenvError } from "./errors";
import { matchValue, REACH_END, Scanner } from "./scan";

/**
 * How a value is written between its line's head and tail.
 * - `u`: unquoted, the value itself.
 * - `'` and `` ` ``: the value between quotes; a line break in the value is
 *   written as LF, or as CRLF (`c` suffix) or CR (`r` suffix).
 * - `"`: between double quotes, CR as `\r`, LF as `\n` (two characters), or
 *   written as a real LF (`n` suffix), CRLF (`c`) or CR (`r`).
 * - `a`: chosen when rendering, for a value the layout does not know yet
 *   (`pickStyle`).
 */
export type Style = "u" | "a" | "'" | "'c" | "'r" | "`" | "`c" | "`r" | '"' | '"n' | '"c' | '"r';

export const STYLES: readonly Style[] = ["u", "a", "'", "'c", "'r", "`", "`c", "`r", '"', '"n', '"c', '"r'];

const BREAKS: Record<string, string> = { "": "\n", n: "\n", c: "\r\n", r: "\r" };

/** The text of `value` in a fixed style (`a` must be resolved first). */
export function writeValue(style: Exclude<Style, "a">, value: string): string {
  if (style === "u") return value;
  const q = style[0]!;
  const br = BREAKS[style.slice(1)]!;
  if (q !== '"') return q + (br === "\n" ? value : value.replaceAll("\n", br)) + q;
  let v = value.includes("\r") ? value.replaceAll("\r", "\\r") : value;
  if (v.includes("\n")) v = v.replaceAll("\n", style === '"' ? "\\n" : br);
  return `"${v}"`;
}

/** Values any dotenv-reading tool takes as they are, without quotes. */
const PLAIN = /^[A-Za-z0-9_./:@%+,=~^-]+$/;

/**
 * How dotenv reads `K=<text>` when the line goes on with spaces and then `#`,
 * a line break or the end: "quoted" (a quote closing at the text's last
 * character), "bare" (the unquoted reading: the line must allow it), or
 * undefined when it would not read `value`, or would depend on later lines (a
 * quote that no unescaped quote inside the text stops).
 */
function reading(text: string, value: string): "quoted" | "bare" | undefined {
  const line = `K=${text}`;
  const m = new Scanner(line);
  if (!m.next() || matchValue(m) !== value || m.next()) return undefined;
  if (m.reach === REACH_END || m.reach >= line.length) return undefined;
  if (m.quote !== 0 && m.coreEnd === line.length) return "quoted";
  return /[#\r\n]/.test(text) ? undefined : "bare";
}

const QUOTED: readonly (readonly [Exclude<Style, "a">, Exclude<Style, "a">])[] = [
  ["'", "'c"],
  ['"', '"'],
  ["`", "`c"],
  ["u", "u"],
];

/**
 * The safest style for `value`, or undefined when no style can represent it
 * (README.md, "Representability"). `bare` says whether the line allows an
 * unquoted reading; `crlf` whether line breaks inside quotes are written CRLF.
 * Preference: plain unquoted, then single quotes (literal for every tool),
 * double quotes with escapes, backticks; then, where the line allows it,
 * quotes that dotenv reads as an unquoted value, and unquoted.
 */
export function pickStyle(value: string, bare: boolean, crlf: boolean): Exclude<Style, "a"> | undefined {
  if (value === "") return '"';
  if (bare && PLAIN.test(value)) return "u";
  const styles = QUOTED.map(([lf, crlfStyle]) => (crlf ? crlfStyle : lf));
  const readings = styles.map((style) => reading(writeValue(style, value), value));
  const quoted = readings.indexOf("quoted");
  if (quoted >= 0) return styles[quoted];
  const unquoted = readings.indexOf("bare");
  return bare && unquoted >= 0 ? styles[unquoted] : undefined;
}

/** Whether some line `NAME=<text>` makes dotenv read exactly `value`, in any file. */
export function isRepresentable(value: string): boolean {
  return pickStyle(value, true, false) !== undefined;
}

/** Picks a style or throws UNREPRESENTABLE. */
export function styleFor(name: string, value: string, bare: boolean, crlf: boolean): Exclude<Style, "a"> {
  const style = pickStyle(value, bare, crlf);
  if (style === undefined) {
    throw new DotenvError(
      "UNREPRESENTABLE",
      `the value of ${name} cannot be written so that dotenv reads it back${bare ? "" : " on this line"}`,
      { key: name },
    );
  }
  return style;
}

/**
 * Variable names the server accepts: dotenv's key characters `[\w.-]`, not
 * starting with a digit, `.` or `-`, at most 256 characters, and not
 * `__proto__` (dotenv's plain object swallows it).
 */
export const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

export function isValidKeyName(name: string): boolean {
  return KEY_NAME.test(name) && name !== "__proto__";
}

export function validateKeyName(name: string): string {
  if (!isValidKeyName(name)) {
    throw new DotenvError(
      "INVALID_KEY_NAME",
      "a name must match ^[A-Za-z_][A-Za-z0-9_.-]{0,255}$ and not be __proto__",
    );
  }
  return name;
}
