/**
 * The bridge between versions and the dotenv module: a pushed file becomes
 * values plus a layout (comments, order, blank lines, quoting) that renders
 * the file back byte for byte; edits rewrite the layout.
 */
import {
  applyChanges,
  type Document,
  DotenvError,
  deserializeLayout,
  type Item,
  parse,
  parseDocument,
  render,
  serializeLayout,
} from "../../../dotenv";
import { ApiError } from "../../errors";

export interface ParsedFile {
  values: Map<string, string>;
  layout: Uint8Array;
}

export function parseFile(text: string): ParsedFile {
  return { values: new Map(Object.entries(parse(text))), layout: serializeLayout(parseDocument(text)) };
}

export function renderFile(layout: Uint8Array | undefined, values: ReadonlyMap<string, string>): string {
  if (!layout) return "";
  return render(deserializeLayout(layout), Object.fromEntries(values));
}

/** The layout after setting and removing keys (new keys go at the end). */
export function editLayout(
  layout: Uint8Array | undefined,
  set: ReadonlyMap<string, string>,
  unset: readonly string[],
): Uint8Array {
  const doc = layout ? deserializeLayout(layout) : parseDocument("");
  return clientErrors(() =>
    serializeLayout(applyChanges(doc, { set: Object.fromEntries(set), unset: [...unset] })),
  );
}

/** An entry's head (`  export NAME =`) with its key replaced, or undefined when the key is not where expected. */
function renamedHead(head: string, from: string, to: string): string | undefined {
  const escaped = from.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  const m = new RegExp(`^(\\s*(?:export\\s+)?)${escaped}(?![\\w.-])`).exec(head);
  if (!m) return undefined;
  return m[1] + to + head.slice(m[0].length);
}

/**
 * The layout after renaming keys in place (`rename`: old name -> new name, each line keeps its
 * place, quoting, comments and spacing), removing `unset` and setting `set`; `values` are the
 * values the result must hold (the renamed keys' values under their new names included). The
 * result is checked by reading it back: when a line's key cannot be rewritten in place, or the
 * file would not read back as exactly `values`, the renamed keys are removed and appended
 * instead (what a set and an unset would do).
 */
export function editLayoutRenaming(
  layout: Uint8Array | undefined,
  set: ReadonlyMap<string, string>,
  unset: readonly string[],
  rename: ReadonlyMap<string, string>,
  values: ReadonlyMap<string, string>,
): Uint8Array {
  const appended = () => {
    const moved = new Map([...rename.values()].map((to) => [to, values.get(to)!]));
    return editLayout(layout, new Map([...moved, ...set]), [...unset, ...rename.keys()]);
  };
  if (rename.size === 0) return editLayout(layout, set, unset);
  return clientErrors(() => {
    // Names that go away first, so that a key renamed onto a removed one leaves no duplicate.
    const base = layout ? deserializeLayout(layout) : parseDocument("");
    const removed = applyChanges(base, { unset: [...unset] });
    const items: Item[] = [];
    for (const item of removed.items) {
      const to = typeof item === "string" ? undefined : rename.get(item.name);
      if (typeof item === "string" || to === undefined) {
        items.push(item);
        continue;
      }
      const head = renamedHead(item.head, item.name, to);
      if (head === undefined) return appended();
      items.push({ ...item, name: to, head });
    }
    const readsBack = (doc: Document) => {
      const reads = parse(render(doc, Object.fromEntries(values)));
      return Object.keys(reads).length === values.size && [...values].every(([n, v]) => reads[n] === v);
    };
    // The renamed lines as they were (only the name changed), unless that reads back otherwise
    // (a line before them whose value runs on into them): then written again with their values.
    const kept = applyChanges({ items }, { set: Object.fromEntries(set) });
    if (readsBack(kept)) return serializeLayout(kept);
    const written = new Map([...rename.values()].map((to) => [to, values.get(to)!]));
    const rewritten = applyChanges({ items }, { set: Object.fromEntries([...written, ...set]) });
    return readsBack(rewritten) ? serializeLayout(rewritten) : appended();
  });
}

/** Renders, turning a value dotenv cannot hold into a client error. */
export function renderChecked(layout: Uint8Array, values: ReadonlyMap<string, string>): string {
  return clientErrors(() => renderFile(layout, values));
}

/** A value dotenv cannot hold is the client's mistake: a 400 with a hint, not a 500. */
function clientErrors<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof DotenvError) {
      throw new ApiError(
        "INVALID_REQUEST",
        error.message,
        "a dotenv file cannot hold this value; see the README's limits",
      );
    }
    throw error;
  }
}
