/**
 * The secrets table's model, free of React: rows from the key names, the
 * values read so far (only those revealed: opening a table reads no value)
 * and the pending changes; filtering, sorting, the mask, and the one change
 * set a save sends. Values live only in memory; what is drawn goes through
 * `shown`.
 */
import type { VersionInfo } from "../client";

/** What a hidden value is drawn as: the same whatever the value, so its length never shows. */
export const MASK = "••••••••";

export type SortKey = "name" | "name-desc" | "version";
export const SORTS: readonly SortKey[] = ["name", "name-desc", "version"];
export const SORT_LABEL: Record<SortKey, string> = {
  name: "name A-Z",
  "name-desc": "name Z-A",
  version: "recently changed",
};

export interface Pending {
  /** New or edited values, by name. */
  set: Record<string, string>;
  /** Names to remove. */
  unset: string[];
  /** New name -> old name, for renames (each is also one set and one unset). */
  renamed: Record<string, string>;
}

export const emptyPending = (): Pending => ({ set: {}, unset: [], renamed: {} });

export function pendingCount(p: Pending): number {
  const renamedOld = new Set(Object.values(p.renamed));
  return Object.keys(p.set).length + p.unset.filter((n) => !renamedOld.has(n)).length;
}

export type RowState = "same" | "added" | "changed" | "removed" | "renamed";

export interface Row {
  name: string;
  state: RowState;
  /** The version that last changed the key, when known. */
  version: number | undefined;
  /** The value a save would store (the pending one, else the stored one when it was read). */
  value: string | undefined;
  /** For renames: the old name. */
  from?: string;
}

export function buildRows(
  names: readonly string[],
  known: Readonly<Record<string, string>>,
  pending: Pending,
  lastChanged: ReadonlyMap<string, number>,
): Row[] {
  const rows: Row[] = [];
  const stored = new Set(names);
  const unset = new Set(pending.unset);
  const renamedOld = new Set(Object.values(pending.renamed));
  for (const name of names) {
    if (renamedOld.has(name) && unset.has(name)) continue;
    const state: RowState = unset.has(name) ? "removed" : name in pending.set ? "changed" : "same";
    rows.push({
      name,
      state,
      version: lastChanged.get(name),
      value: name in pending.set ? pending.set[name] : known[name],
    });
  }
  for (const [name, value] of Object.entries(pending.set)) {
    if (stored.has(name)) continue;
    const from = pending.renamed[name];
    rows.push({
      name,
      state: from ? "renamed" : "added",
      version: from ? lastChanged.get(from) : undefined,
      value,
      ...(from ? { from } : {}),
    });
  }
  return rows;
}

export function filterRows(rows: readonly Row[], filter: string): readonly Row[] {
  if (filter === "") return rows;
  const needle = filter.toLowerCase();
  return rows.filter((r) => r.name.toLowerCase().includes(needle));
}

export function sortRows(rows: readonly Row[], sort: SortKey): Row[] {
  const out = [...rows];
  if (sort === "name") out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  else if (sort === "name-desc") out.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  else
    out.sort(
      (a, b) =>
        (b.version ?? Number.MAX_SAFE_INTEGER) - (a.version ?? Number.MAX_SAFE_INTEGER) ||
        (a.name < b.name ? -1 : 1),
    );
  return out;
}

/** For each key, the newest version (among those listed, newest first) that added or changed it. */
export function lastChangedOf(versions: readonly VersionInfo[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of versions) {
    for (const name of [...v.summary.added, ...v.summary.changed]) {
      if (!out.has(name)) out.set(name, v.version);
    }
  }
  return out;
}

/** A value as one terminal line: line breaks and control characters made visible, cut to `width`. */
export function oneLine(value: string, width: number): string {
  const flat = value.replace(/\r?\n/g, "⏎").replace(/[\u0000-\u001f\u007f-\u009f]/g, "�");
  return flat.length > width ? `${flat.slice(0, Math.max(0, width - 1))}…` : flat;
}

/** Text from the server (names, emails, labels) made safe to draw: no control character reaches the terminal. */
export function clean(text: string): string {
  return oneLine(text, 200);
}

/** What the table draws for a value: the mask, or once revealed the value ("…" while it is being read). */
export function shown(value: string | undefined, revealed: boolean, width: number): string {
  if (!revealed) return MASK;
  return value === undefined ? "…" : oneLine(value, width);
}

/** Key names the server accepts (dotenv's rule). */
export const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

/** The change a save sends: sets and unsets, never both for one name. */
export function changeOf(
  p: Pending,
  stored: ReadonlySet<string>,
): { set: Record<string, string>; unset: string[] } {
  const set = { ...p.set };
  const unset = p.unset.filter((n) => !(n in set) && stored.has(n));
  return { set, unset };
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}
