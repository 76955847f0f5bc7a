/**
 * The reference syntax, in one place. A value may hold references to other
 * values, alone or inside a longer text:
 *
 *   @{KEY}                   KEY in the same environment (for a branch: its merged view)
 *   @{ENV.KEY}               KEY in environment ENV of the same project
 *   @{vlt_<64 hex>/ENV.KEY}  KEY in environment ENV of another project, named by its id
 *   @@{                      a literal `@{` (the escape)
 *
 * KEY is a key name (a letter or `_`, then letters, digits, `_`, `.` or `-`);
 * ENV an environment name (`[a-z][a-z0-9_]{0,31}`). `@{X.Y}` whose X is an
 * environment name is always ENV.KEY: a key of the same environment whose
 * name starts with such a word and a dot is written with its environment
 * (`@{development.app.name}`). Another project is named by its id, not its
 * name: names are not unique, can be renamed and differ in who sees them.
 *
 * The syntax has no `$`, so dotenv-expand never touches it and an existing
 * `${VAR}` keeps its meaning. Anything else that starts with `@{` (no closing
 * brace, a name that is not one) is malformed: refused when written, so that
 * a look-alike is escaped on purpose rather than read as a reference.
 */

export interface Reference {
  /** The reference as written, `@{...}`. */
  text: string;
  /** Another project's id (`vlt_...`), when it names one. */
  project?: string;
  /** The environment, when it names one. */
  env?: string;
  key: string;
}

export type Token = string | Reference;

export type Parsed = { tokens: Token[] } | { malformed: string };

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;
const ENV_KEY = /^([a-z][a-z0-9_]{0,31})\.(.+)$/s;
const PROJECT_ENV_KEY = /^(vlt_[0-9a-f]{64})\/([a-z][a-z0-9_]{0,31})\.(.+)$/s;
/** The longest text between `@{` and `}` (a project id, an environment and a key). */
const MAX_INSIDE = 4 + 64 + 1 + 32 + 1 + 256;

/** Whether a value could hold a reference or an escape (everything else is taken as it is). */
export const mayReference = (value: string): boolean => value.includes("@{");

function reference(inside: string): Reference | undefined {
  const text = `@{${inside}}`;
  const p = PROJECT_ENV_KEY.exec(inside);
  if (p) return KEY.test(p[3]!) ? { text, project: p[1]!, env: p[2]!, key: p[3]! } : undefined;
  if (inside.includes("/")) return undefined;
  const e = ENV_KEY.exec(inside);
  if (e) return KEY.test(e[2]!) ? { text, env: e[1]!, key: e[2]! } : undefined;
  return KEY.test(inside) ? { text, key: inside } : undefined;
}

/** A value as literal text and references, or the first malformed `@{...` in it. */
export function parseValue(value: string): Parsed {
  if (!mayReference(value)) return { tokens: [value] };
  const tokens: Token[] = [];
  let text = "";
  let i = 0;
  while (i < value.length) {
    const at = value.indexOf("@", i);
    if (at < 0) {
      text += value.slice(i);
      break;
    }
    text += value.slice(i, at);
    if (value.startsWith("@@{", at)) {
      text += "@{";
      i = at + 3;
    } else if (value.startsWith("@{", at)) {
      const close = value.indexOf("}", at + 2);
      const inside = close < 0 || close - at - 2 > MAX_INSIDE ? undefined : value.slice(at + 2, close);
      const ref = inside === undefined ? undefined : reference(inside);
      if (!ref) {
        const end = close < 0 ? Math.min(value.length, at + 40) : Math.min(close + 1, at + 40);
        return {
          malformed: value.slice(at, end) + (end < (close < 0 ? value.length : close + 1) ? "…" : ""),
        };
      }
      if (text) tokens.push(text);
      text = "";
      tokens.push(ref);
      i = close + 1;
    } else {
      text += "@";
      i = at + 1;
    }
  }
  if (text || tokens.length === 0) tokens.push(text);
  return { tokens };
}

/** The references of a value (none for a malformed one). */
export function referencesOf(value: string): Reference[] {
  const parsed = parseValue(value);
  return "tokens" in parsed ? parsed.tokens.filter((t): t is Reference => typeof t !== "string") : [];
}
