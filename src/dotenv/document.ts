/**
 * A dotenv file as a layout: its text with the values taken out.
 *
 * A document is a list of items. A string item is literal text (comments,
 * blank lines, lines dotenv ignores). An entry is one assignment: `head` (from
 * the start of its first line to the value: indentation, `export `, the key,
 * the separator, spaces), the value slot, and `tail` (from the value to the
 * end of its last line, line break included: spaces, a comment). The slot
 * holds only the quoting `style`; `render` writes the value back from the
 * values map. `raw` keeps the slot's text only when that would not give the
 * original text back (an earlier duplicate, mixed escapes, odd quoting).
 *
 * Invariant: render(parseDocument(t), parse(t)) === t, for every string t.
 *
 * `reach` and `empty` record how an entry's value depends on lines after it
 * (see scan.ts): `reach` = n when an unclosed quote, or a quote closed at an
 * escaped quote, makes its value depend on the text up to item index + n
 * (-1: to the end of the file); `empty` when the value is empty, so that a
 * quote starting a later line could become its value. applyChanges uses them
 * to keep edits from changing the values of lines it does not touch.
 */
import { DotenvError } from "./errors";
import { pickStyle, type Style, writeValue } from "./quote";
import { isBreak, isSpace, matchValue, nextLineStart, REACH_END, Scanner } from "./scan";

export interface Entry {
  readonly name: string;
  readonly head: string;
  readonly style: Style;
  readonly tail: string;
  readonly raw?: string;
  readonly reach?: number;
  readonly empty?: true;
}

export type Item = string | Entry;

export interface Document {
  readonly items: readonly Item[];
}

/** The styles that could have written a slot's text, best first. */
function candidates(text: string): readonly Style[] {
  const q = text[0];
  if (text.length < 2 || text.at(-1) !== q) return ["u"];
  if (q === '"') return ['"', '"n', '"c', '"r'];
  if (q === "'") return ["'", "'c", "'r"];
  if (q === "`") return ["`", "`c", "`r"];
  return ["u"];
}

export function parseDocument(text: string): Document {
  const items: Item[] = [];
  const starts: number[] = [];
  const found: { index: number; core: string; quoted: boolean; reach: number }[] = [];
  const values: Record<string, string> = {};
  let cursor = 0;
  const literal = (end: number) => {
    if (end <= cursor) return;
    items.push(text.slice(cursor, end));
    starts.push(cursor);
  };
  const m = new Scanner(text);
  while (m.next()) {
    let headStart = m.start;
    while (headStart > cursor && !isBreak(text.charCodeAt(headStart - 1))) headStart--;
    literal(headStart);
    const end = nextLineStart(text, m.coreEnd);
    const name = text.slice(m.keyStart, m.keyEnd);
    values[name] = matchValue(m);
    found.push({
      index: items.length,
      core: text.slice(m.coreStart, m.coreEnd),
      quoted: m.quote !== 0,
      reach: m.reach,
    });
    items.push({
      name,
      head: text.slice(headStart, m.coreStart),
      style: "u",
      tail: text.slice(m.coreEnd, end),
    });
    starts.push(headStart);
    cursor = end;
  }
  literal(text.length);

  for (const { index, core, quoted, reach } of found) {
    const entry = items[index] as Entry;
    const value = Object.hasOwn(values, entry.name) ? values[entry.name] : undefined;
    const styles = quoted ? candidates(core) : (["u"] as const);
    const style = styles.find((s) => value !== undefined && s !== "a" && writeValue(s, value) === core);
    let n = 0;
    if (reach === REACH_END) n = -1;
    else if (reach >= 0) n = itemAt(starts, reach) - index;
    items[index] = {
      ...entry,
      style: style ?? styles[0]!,
      ...(style === undefined ? { raw: core } : {}),
      ...(n !== 0 ? { reach: n } : {}),
      ...(core === "" ? { empty: true as const } : {}),
    };
  }
  return { items };
}

/** Index of the item holding text offset `pos`. */
function itemAt(starts: readonly number[], pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Whether an unquoted value fits between this head and tail (no line break around it). */
export function allowsBare(head: string, tail: string): boolean {
  for (let i = head.length - 1; i >= 0; i--) {
    const c = head.charCodeAt(i);
    if (!isSpace(c)) break;
    if (c === 10 || c === 13) return false;
  }
  for (let i = 0; i < tail.length; i++) {
    const c = tail.charCodeAt(i);
    if (c === 35 || c === 10 || c === 13) return true;
    if (c === 0x2028 || c === 0x2029 || !isSpace(c)) return false;
  }
  return true;
}

/** Whether the document writes its line breaks as CRLF (its first break decides). */
export function usesCrlf(doc: Document): boolean {
  for (const item of doc.items) {
    for (const text of typeof item === "string" ? [item] : [item.head, item.tail]) {
      const i = text.search(/[\r\n]/);
      if (i >= 0) return text[i] === "\r" && text[i + 1] === "\n";
    }
  }
  return false;
}

/** The file text for `values`: the original bytes when they are the parsed values. */
export function render(doc: Document, values: Readonly<Record<string, string>>): string {
  let crlf: boolean | undefined;
  let out = "";
  for (const item of doc.items) {
    if (typeof item === "string") {
      out += item;
      continue;
    }
    out += item.head;
    if (item.raw !== undefined) out += item.raw;
    else {
      if (!Object.hasOwn(values, item.name)) {
        throw new DotenvError("MISSING_VALUE", `no value for ${item.name}`, { key: item.name });
      }
      const value = values[item.name]!;
      let style = item.style;
      if (style === "a") {
        crlf ??= usesCrlf(doc);
        const picked = pickStyle(value, allowsBare(item.head, item.tail), crlf);
        if (picked === undefined) {
          throw new DotenvError("UNREPRESENTABLE", `the value of ${item.name} cannot be written back here`, {
            key: item.name,
          });
        }
        style = picked;
      }
      out += writeValue(style, value);
    }
    out += item.tail;
  }
  return out;
}
