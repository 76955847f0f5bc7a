/**
 * A hand-written matcher with exactly the behaviour of npm dotenv 17.x `parse`
 * (identical in 16.x), which is, in lib/main.js:
 *
 *   LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'
 *          |\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg
 *   text = text.replace(/\r\n?/mg, '\n'); then for each LINE.exec(text) match:
 *   value = (group2 || '').trim(), unquoted by /^(['"`])([\s\S]*)\1$/mg -> '$2',
 *   and if it started with `"`, `\n` and `\r` (two characters) are expanded.
 *
 * The regex is replayed here step by step on the original text (CR and CRLF
 * count as one line break, as after dotenv's normalization), which is faster
 * and, for parseDocument, tells where every piece lies. Facts the replay
 * relies on, each one forced by the regex's backtracking order:
 * - `\s` and `trim` are the same set (ASCII and Unicode spaces, line breaks,
 *   BOM); `^`, `$` and `.` know four line breaks: LF, CR, U+2028, U+2029.
 * - The key and the separator never backtrack: with `export ` if that works,
 *   else from the first character. Once a separator matched, the match cannot
 *   fail, and the lazy `\s*?` after `=` stays empty.
 * - A quoted value opens at the first non-space character after the separator
 *   (possibly lines later), runs to the first quote not preceded by a
 *   backslash, and closes at the first candidate, in this order: that quote,
 *   then each backslash-escaped quote from the last one back, after which only
 *   spaces then `#`, a line break or the end follow. No candidate: unquoted.
 * - Unquoted values run to the first `#`, CR or LF (U+2028 does not stop them).
 * - The match ends at the last line break before the next non-space, or after
 *   a `#` comment; the next match starts at a line start, never earlier.
 */

const HASH = 35;
const BACKSLASH = 92;
const EQUALS = 61;
const COLON = 58;
const CR = 13;
const LF = 10;

/** `\s` of a non-unicode JavaScript regex, one UTF-16 code unit. */
export function isSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** A line terminator for `^`, `$` and `.` (after dotenv turned every CR into LF). */
export function isBreak(c: number): boolean {
  return c === LF || c === CR || c === 0x2028 || c === 0x2029;
}

export function isQuote(c: number): boolean {
  return c === 39 || c === 34 || c === 96;
}

/** `[\w.-]` */
function isKeyChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45
  );
}

function skipSpaces(s: string, i: number): number {
  const n = s.length;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** The position just after the line break at or after `i` (CRLF is one break), or the end. */
export function nextLineStart(s: string, i: number): number {
  const n = s.length;
  while (i < n && !isBreak(s.charCodeAt(i))) i++;
  if (i >= n) return n;
  return s.charCodeAt(i) === CR && s.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
}

function isLineStart(s: string, i: number): boolean {
  if (i === 0) return true;
  const before = s.charCodeAt(i - 1);
  return isBreak(before) && !(before === CR && s.charCodeAt(i) === LF);
}

/**
 * Where `\s*(?:#.*)?$` starting at `t` ends, or -1 when it cannot match. It
 * prefers a `#` comment, then the last line break inside the run of spaces.
 */
function tailEnd(s: string, t: number): number {
  const n = s.length;
  let lastBreak = -1;
  let w = t;
  for (; w < n; w++) {
    const c = s.charCodeAt(w);
    if (!isSpace(c)) break;
    if (isBreak(c)) lastBreak = w;
  }
  if (w >= n) return n;
  if (s.charCodeAt(w) === HASH) {
    while (w < n && !isBreak(s.charCodeAt(w))) w++;
    return w;
  }
  return lastBreak;
}

/** Marks for `Match.reach`: the value depends on no later text, or on all of it. */
export const REACH_NONE = -2;
export const REACH_END = -1;

/**
 * One LINE match, as offsets into the original text. The fields are reused
 * from one `next()` to the next.
 */
export class Scanner {
  /** First non-space character of the match: `export` or the key. */
  start = 0;
  keyStart = 0;
  keyEnd = 0;
  /** Where the optional value group is tried: just after the separator. */
  valueStart = 0;
  /** The value without surrounding spaces (quotes included). */
  coreStart = 0;
  coreEnd = 0;
  /** The closing quote's character code for a quoted value, else 0. */
  quote = 0;
  /** End of the value group (trailing spaces of an unquoted value included). */
  groupEnd = 0;
  /**
   * A quote was tried and did not close at the first unescaped quote after it
   * (an unclosed quote, or one closed at an escaped quote): the outcome then
   * depends on the text up to that quote (its position), or to the end.
   */
  reach = REACH_NONE;
  private resume = 0;

  constructor(readonly text: string) {}

  next(): boolean {
    const s = this.text;
    const n = s.length;
    let pos = this.resume;
    while (pos < n) {
      if (!isLineStart(s, pos)) {
        pos = nextLineStart(s, pos);
        continue;
      }
      const j = skipSpaces(s, pos);
      if (j >= n) break;
      if (this.keyAndSeparator(j)) {
        this.start = j;
        this.resume = this.value();
        return true;
      }
      pos = nextLineStart(s, j);
    }
    this.resume = n;
    return false;
  }

  private keyAndSeparator(j: number): boolean {
    const s = this.text;
    if (s.startsWith("export", j) && isSpace(s.charCodeAt(j + 6))) {
      if (this.keyAt(skipSpaces(s, j + 6))) return true;
    }
    return this.keyAt(j);
  }

  private keyAt(k: number): boolean {
    const s = this.text;
    let e = k;
    while (isKeyChar(s.charCodeAt(e))) e++;
    if (e === k) return false;
    const x = skipSpaces(s, e);
    let p: number;
    if (s.charCodeAt(x) === EQUALS) p = x + 1;
    else if (s.charCodeAt(e) === COLON && isSpace(s.charCodeAt(e + 1))) {
      p = s.charCodeAt(e + 1) === CR && s.charCodeAt(e + 2) === LF ? e + 3 : e + 2;
    } else return false;
    this.keyStart = k;
    this.keyEnd = e;
    this.valueStart = p;
    return true;
  }

  /** Matches the value group and the tail; returns where the match ends. */
  private value(): number {
    const s = this.text;
    const n = s.length;
    const p = this.valueStart;
    this.quote = 0;
    this.reach = REACH_NONE;
    const f = skipSpaces(s, p);
    const q = f < n ? s.charCodeAt(f) : 0;
    if (isQuote(q)) {
      let escaped: number[] | undefined;
      let i = f + 1;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c === BACKSLASH && s.charCodeAt(i + 1) === q) {
          i++;
          if (escaped === undefined) escaped = [i];
          else escaped.push(i);
        } else if (c === q) break;
      }
      const blocking = i < n ? i : REACH_END;
      let close = -1;
      let end = -1;
      if (blocking >= 0) end = tailEnd(s, blocking + 1);
      if (end >= 0) close = blocking;
      else if (escaped !== undefined) {
        for (let k = escaped.length - 1; k >= 0 && end < 0; k--) {
          end = tailEnd(s, escaped[k]! + 1);
          if (end >= 0) close = escaped[k]!;
        }
      }
      if (close < 0 || close !== blocking) this.reach = blocking;
      if (close >= 0) {
        this.quote = q;
        this.coreStart = f;
        this.coreEnd = this.groupEnd = close + 1;
        return end;
      }
    }
    let g = p;
    for (; g < n; g++) {
      const c = s.charCodeAt(g);
      if (c === HASH || c === LF || c === CR) break;
    }
    this.groupEnd = g;
    let a = p;
    let b = g;
    while (a < b && isSpace(s.charCodeAt(a))) a++;
    while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
    this.coreStart = a;
    this.coreEnd = b;
    return tailEnd(s, g);
  }
}

const UNQUOTE = /^(['"`])([\s\S]*)\1$/gm;

/** The value of the current match, computed as dotenv computes it. */
export function matchValue(m: Scanner): string {
  const s = m.text;
  if (m.quote !== 0) {
    let v = s.slice(m.coreStart + 1, m.coreEnd - 1);
    if (v.includes("\r")) v = v.replace(/\r\n?/g, "\n");
    if (m.quote === 34 && v.includes("\\")) v = v.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    return v;
  }
  if (m.coreStart === m.coreEnd) return "";
  let v = s.slice(m.coreStart, m.coreEnd);
  const first = v.charCodeAt(0);
  if (isQuote(first) || v.includes("\u2028") || v.includes("\u2029")) v = v.replace(UNQUOTE, "$2");
  if (first === 34 && v.includes("\\")) v = v.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
  return v;
}

/**
 * `dotenv.parse` of npm dotenv 17.4.2, for a string. The result is a plain
 * object like dotenv's: a later duplicate wins, and `__proto__=...` is lost.
 */
export function parse(text: string): Record<string, string> {
  const obj: Record<string, string> = {};
  const m = new Scanner(text);
  while (m.next()) obj[text.slice(m.keyStart, m.keyEnd)] = matchValue(m);
  return obj;
}
