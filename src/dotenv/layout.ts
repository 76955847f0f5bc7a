/**
 * A layout's stored form: UTF-8 JSON, `{"v":1,"items":[...]}`, where a literal
 * is a string and an entry is `[name, head, style, tail]`, followed by an
 * object `{raw?, reach?, empty?}` only when one of those is set. JSON escapes
 * lone surrogates, so every JavaScript string survives the UTF-8 bytes.
 */
import type { Document, Entry, Item } from "./document";
import { DotenvError } from "./errors";
import { STYLES, type Style } from "./quote";

export const LAYOUT_VERSION = 1;

type StoredEntry = [string, string, Style, string] | [string, string, Style, string, Extra];
interface Extra {
  raw?: string;
  reach?: number;
  empty?: true;
}

export function serializeLayout(doc: Document): Uint8Array {
  const items = doc.items.map((item): string | StoredEntry => {
    if (typeof item === "string") return item;
    const stored: StoredEntry = [item.name, item.head, item.style, item.tail];
    const extra: Extra = {};
    if (item.raw !== undefined) extra.raw = item.raw;
    if (item.reach !== undefined) extra.reach = item.reach;
    if (item.empty) extra.empty = true;
    return Object.keys(extra).length > 0 ? [...stored, extra] : stored;
  });
  return new TextEncoder().encode(JSON.stringify({ v: LAYOUT_VERSION, items }));
}

function invalid(why: string): never {
  throw new DotenvError("INVALID_LAYOUT", why);
}

function readEntry(stored: unknown[]): Entry {
  const [name, head, style, tail, extra] = stored;
  if (stored.length < 4 || stored.length > 5) invalid("an entry has 4 or 5 fields");
  if (typeof name !== "string" || typeof head !== "string" || typeof tail !== "string") {
    invalid("an entry's name, head and tail are strings");
  }
  if (!STYLES.includes(style as Style)) invalid("unknown style");
  const entry: { -readonly [K in keyof Entry]: Entry[K] } = { name, head, style: style as Style, tail };
  if (extra !== undefined) {
    if (typeof extra !== "object" || extra === null || Array.isArray(extra)) invalid("bad entry extras");
    const { raw, reach, empty, ...rest } = extra as Record<string, unknown>;
    if (Object.keys(rest).length > 0) invalid("unknown entry field");
    if (raw !== undefined) entry.raw = typeof raw === "string" ? raw : invalid("raw is a string");
    if (reach !== undefined) {
      entry.reach =
        Number.isSafeInteger(reach) && (reach as number) >= -1 ? (reach as number) : invalid("bad reach");
    }
    if (empty !== undefined) entry.empty = empty === true ? true : invalid("empty is true");
  }
  return entry;
}

export function deserializeLayout(bytes: Uint8Array): Document {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new DotenvError("INVALID_LAYOUT", "not UTF-8 JSON", { cause });
  }
  if (typeof data !== "object" || data === null) invalid("not an object");
  const { v, items } = data as { v?: unknown; items?: unknown };
  if (v !== LAYOUT_VERSION) invalid(`unsupported layout version ${String(v)}`);
  if (!Array.isArray(items)) invalid("items is an array");
  return {
    items: items.map((item: unknown): Item => {
      if (typeof item === "string") return item;
      if (Array.isArray(item)) return readEntry(item);
      return invalid("an item is a string or an entry");
    }),
  };
}
