// TEMPORARY shim until src/dotenv's layout API lands.
import { parse } from "../../../dotenv";

export interface ParsedFile {
  values: Map<string, string>;
  layout: Uint8Array;
}
const enc = (t: string) => new TextEncoder().encode(t);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export function parseFile(text: string): ParsedFile {
  return { values: new Map(Object.entries(parse(text))), layout: enc(text) };
}
export function renderFile(layout: Uint8Array | undefined, _values: ReadonlyMap<string, string>): string {
  return layout ? dec(layout) : "";
}
export function editLayout(
  layout: Uint8Array | undefined,
  set: ReadonlyMap<string, string>,
  unset: readonly string[],
): Uint8Array {
  const values = new Map(Object.entries(parse(layout ? dec(layout) : "")));
  for (const [k, v] of set) values.set(k, v);
  for (const k of unset) values.delete(k);
  return enc([...values].map(([k, v]) => `${k}="${v.replace(/\n/g, "\\n")}"\n`).join(""));
}
