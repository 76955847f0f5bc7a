/**
 * Editing a layout without its values: set and unset keys so that dotenv
 * reads exactly the new values, and every line the edit does not touch keeps
 * its value.
 *
 * Edited lines get a quoting that reads back the same wherever it stands
 * (quote.ts). What an edit can still disturb is an earlier line whose value
 * depends on later text (document.ts: `reach`, `empty`) or an ignored line
 * that a removal brings next to a `=`. Such a line is made independent: an
 * entry switches to the `a` style (its value is re-quoted when rendering), an
 * ignored line is commented out.
 */
import { allowsBare, type Document, type Entry, type Item, render, usesCrlf } from "./document";
import { DotenvError } from "./errors";
import { pickStyle, styleFor, validateKeyName } from "./quote";
import { isBreak, isSpace } from "./scan";

export interface Changes {
  readonly set?: Readonly<Record<string, string>>;
  readonly unset?: readonly string[];
}

/** Drops line breaks between a separator and its value: `A=\n'x'` becomes `A=` before a new value. */
function headForNewValue(head: string): string {
  let i = head.length;
  while (i > 0 && isSpace(head.charCodeAt(i - 1))) i--;
  const run = head.slice(i);
  if (!/[\r\n]/.test(run)) return head;
  return head.slice(0, i) + (head[i - 1] === ":" ? " " : "");
}

function endsWithBreak(item: Item | undefined): boolean {
  const text = item === undefined ? "\n" : typeof item === "string" ? item : item.tail;
  return text.endsWith("\n") || text.endsWith("\r");
}

/** The text an item starts with that lies before any value: a literal, or an entry's head. */
function leadingText(item: Item): string {
  return typeof item === "string" ? item : item.head;
}

const FIRST_NON_SPACE = /\S/;
/** The start of LINE up to its separator, after which a match cannot fail. */
const KEY_START = /^\s*(?:export\s+)?([\w.-]+)(?:\s*=|:\s)/d;

export function applyChanges(doc: Document, changes: Changes): Document {
  const set = changes.set ?? {};
  const names = Object.keys(set);
  const unset = new Set(changes.unset ?? []);
  for (const name of names) {
    validateKeyName(name);
    if (unset.has(name))
      throw new DotenvError("CONFLICTING_CHANGE", `${name} is both set and unset`, { key: name });
  }
  if (names.length === 0 && unset.size === 0) return doc;
  const crlf = usesCrlf(doc);
  const eol = crlf ? "\r\n" : "\n";
  const old = doc.items;

  // Each original item, edited; null once removed. `edited` marks rewritten and removed ones.
  const res: (Item | null)[] = [];
  const edited: boolean[] = [];
  const present = new Set<string>();
  for (const item of old) {
    if (typeof item === "string") {
      res.push(item);
      edited.push(false);
    } else if (unset.has(item.name)) {
      res.push(null);
      edited.push(true);
    } else if (Object.hasOwn(set, item.name)) {
      present.add(item.name);
      const head = headForNewValue(item.head);
      const value = set[item.name]!;
      let tail = item.tail;
      // A value only an unquoted line can hold needs a line break right after it.
      if (!allowsBare(head, tail) && pickStyle(value, false, crlf) === undefined) tail = eol + tail;
      const style = styleFor(item.name, value, allowsBare(head, tail), crlf);
      res.push({ name: item.name, head, style, tail });
      edited.push(true);
    } else {
      res.push(item);
      edited.push(false);
    }
  }
  const added = names.filter((name) => !present.has(name));

  // Earlier entries whose value depends on an edited stretch get re-quoted, last first,
  // since re-quoting one is itself an edit for the entries before it.
  let nearest = added.length > 0 ? old.length : Number.POSITIVE_INFINITY;
  const eolIfNeeded = (head: string, tail: string) => (allowsBare(head, tail) ? tail : eol + tail);
  for (let j = old.length - 1; j >= 0; j--) {
    const item = res[j];
    if (item && typeof item !== "string" && !edited[j]) {
      const reach = item.reach ?? 0;
      const limit = reach === -1 ? Number.POSITIVE_INFINITY : j + reach;
      const dependsOnEdit = reach !== 0 && nearest !== Number.POSITIVE_INFINITY && nearest <= limit;
      // An empty value at the very end (`A:` and a break) would take the first appended line.
      const endsFile = item.empty === true && item.tail === "" && added.length > 0;
      if (dependsOnEdit || endsFile || (item.empty && quoteFollows(res, j))) {
        const head = headForNewValue(item.head);
        const tail = eolIfNeeded(head, item.tail);
        // `__proto__` never has a value (dotenv's object swallows it): any quoted text will do.
        res[j] =
          item.name === "__proto__"
            ? { name: item.name, head, style: '"', tail, raw: '""' }
            : { name: item.name, head, style: "a", tail };
        edited[j] = true;
      }
    }
    if (edited[j]) nearest = j;
  }

  const items: Item[] = [];
  const fresh: boolean[] = [];
  let removedBefore = false;
  for (const item of res) {
    if (item === null) removedBefore = true;
    else {
      items.push(item);
      fresh.push(removedBefore);
      removedBefore = false;
    }
  }
  if (added.length > 0) {
    const endedWithBreak = endsWithBreak(old.at(-1));
    const last = items.at(-1);
    if (last !== undefined && !endsWithBreak(last)) {
      items[items.length - 1] = typeof last === "string" ? last + eol : { ...last, tail: last.tail + eol };
    }
    added.forEach((name, k) => {
      const tail = k < added.length - 1 || endedWithBreak ? eol : "";
      items.push({ name, head: `${name}=`, style: styleFor(name, set[name]!, true, crlf), tail });
      fresh.push(true);
    });
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (typeof item === "string") items[i] = closeOpenLine(item, items, fresh, i);
  }
  return { items };
}

/**
 * Whether, after the edit, the first non-space character after an empty
 * value is a quote (dotenv would then read a quoted value from that line),
 * in a stretch the edit changed: a removal. Appended lines start with a key.
 */
function quoteFollows(res: readonly (Item | null)[], j: number): boolean {
  if (FIRST_NON_SPACE.test((res[j] as Entry).tail)) return false;
  let changed = false;
  for (let k = j + 1; k < res.length; k++) {
    const item = res[k]!;
    if (item === null) changed = true;
    else {
      const text = leadingText(item);
      const at = text.search(FIRST_NON_SPACE);
      if (at >= 0) return changed && "'\"`".includes(text[at]!);
    }
  }
  return false;
}

/**
 * A line dotenv ignores, such as `A` or `export`, becomes an assignment when
 * the next non-space character is `=` (or `:` and a space). If an edit brought
 * the last non-blank line of a literal next to one, comment that line out.
 */
function closeOpenLine(text: string, items: readonly Item[], fresh: readonly boolean[], i: number): string {
  let end = text.length;
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  if (end === 0) return text;
  let start = end;
  while (start > 0 && !isBreak(text.charCodeAt(start - 1))) start--;
  let after = text.slice(start);
  let literal = after.length;
  let changed = false;
  for (let k = i + 1; k < items.length && !FIRST_NON_SPACE.test(after.slice(end - start)); k++) {
    const next = items[k]!;
    changed ||= fresh[k]!;
    after += leadingText(next);
    if (typeof next === "string") literal += next.length;
  }
  if (!changed) return text;
  const m = KEY_START.exec(after);
  if (m === null || m.indices![1]![0] >= literal) return text;
  const at = start + text.slice(start).search(FIRST_NON_SPACE);
  return `${text.slice(0, at)}#${text.slice(at)}`;
}

/** A fresh file holding `values`, one `NAME=value` line each, in the map's order. */
export function formatDotenv(values: Readonly<Record<string, string>>): string {
  return render(applyChanges({ items: [] }, { set: values }), values);
}
