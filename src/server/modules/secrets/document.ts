/**
 * The bridge between versions and the dotenv module: a pushed file becomes
 * values plus a layout (comments, order, blank lines, quoting) that renders
 * the file back byte for byte; edits rewrite the layout.
 */
import { applyChanges, deserializeLayout, parseDocument, render, serializeLayout } from "../../../dotenv";

export interface ParsedFile {
  values: Map<string, string>;
  layout: Uint8Array;
}

export function parseFile(text: string): ParsedFile {
  const doc = parseDocument(text);
  return { values: new Map(Object.entries(doc.values)), layout: serializeLayout(doc) };
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
  return serializeLayout(applyChanges(doc, { set: Object.fromEntries(set), unset: [...unset] }));
}
