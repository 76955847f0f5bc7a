/**
 * The bridge between versions and the dotenv module: a pushed file becomes
 * values plus a layout (comments, order, blank lines, quoting) that renders
 * the file back byte for byte; edits rewrite the layout.
 */
import {
  applyChanges,
  DotenvError,
  deserializeLayout,
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
