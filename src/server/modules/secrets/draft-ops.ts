/**
 * A draft's pending change set, free of storage: what the web editor's
 * edits do to it, the rows it shows, and how it is reapplied on a later
 * version. It is exactly the change a save sends (change.ts, kind "set"):
 *
 *   set     name -> new value (a key added, or a stored one changed)
 *   unset   stored names removed
 *   rename  stored name -> new name (the key keeps its line and, unless set
 *           gives the new name a value, its value)
 *
 * Only the base version's names are needed (never a stored value): the
 * editor applies edits without opening anything.
 */
import { ApiError } from "../../errors";
import { checkKeyName } from "./limits";

export interface DraftOps {
  set: Map<string, string>;
  unset: Set<string>;
  rename: Map<string, string>;
}

export type Edit =
  | { op: "add"; name: string; value: string }
  | { op: "edit"; name: string; value: string }
  | { op: "delete"; name: string }
  | { op: "rename"; from: string; to: string }
  | { op: "undo"; name: string }
  | { op: "import"; values: ReadonlyMap<string, string> };

export type RowState = "same" | "added" | "changed" | "renamed" | "removed";

export interface DraftRow {
  name: string;
  state: RowState;
  /** The stored name whose value this row holds (every row but an added one). */
  stored?: string;
  /** A renamed key that also gets a new value. */
  valueChanged?: boolean;
}

export interface Counts {
  added: number;
  changed: number;
  renamed: number;
  removed: number;
  total: number;
}

export const emptyOps = (): DraftOps => ({ set: new Map(), unset: new Set(), rename: new Map() });

export const isEmpty = (ops: DraftOps) => ops.set.size + ops.unset.size + ops.rename.size === 0;

const copy = (ops: DraftOps): DraftOps => ({
  set: new Map(ops.set),
  unset: new Set(ops.unset),
  rename: new Map(ops.rename),
});

/** The draft's view of one version's names. */
class View {
  readonly targets: Map<string, string>;
  constructor(
    readonly ops: DraftOps,
    readonly base: ReadonlySet<string>,
  ) {
    this.targets = new Map([...ops.rename].map(([from, to]) => [to, from]));
  }
  /** A stored key that is still there under its own name. */
  asItself(name: string): boolean {
    return this.base.has(name) && !this.ops.unset.has(name) && !this.ops.rename.has(name);
  }
  exists(name: string): boolean {
    return this.ops.set.has(name) || this.targets.has(name) || this.asItself(name);
  }
}

const missing = (name: string) =>
  new ApiError("NOT_FOUND", `there is no key ${name}`, "reload the editor: the page may be out of date");
const taken = (name: string) =>
  new ApiError("CONFLICT", `there is already a key ${name}`, "edit that key, or choose another name");

/** The change set after one edit (the one given is left as it was). */
export function applyEdit(current: DraftOps, baseNames: ReadonlySet<string>, edit: Edit): DraftOps {
  const ops = copy(current);
  const view = () => new View(ops, baseNames);
  /** A value for a name: a key removed earlier comes back in its place. */
  const setValue = (name: string, value: string) => {
    if (baseNames.has(name) && ops.unset.has(name) && !view().targets.has(name)) ops.unset.delete(name);
    ops.set.set(name, value);
  };
  switch (edit.op) {
    case "add": {
      checkKeyName(edit.name);
      if (view().exists(edit.name)) throw taken(edit.name);
      setValue(edit.name, edit.value);
      return ops;
    }
    case "edit": {
      if (!view().exists(edit.name)) throw missing(edit.name);
      ops.set.set(edit.name, edit.value);
      return ops;
    }
    case "delete": {
      const v = view();
      if (!v.exists(edit.name)) throw missing(edit.name);
      ops.set.delete(edit.name);
      const source = v.targets.get(edit.name);
      if (source !== undefined) {
        ops.rename.delete(source);
        ops.unset.add(source);
      } else if (v.asItself(edit.name)) ops.unset.add(edit.name);
      return ops;
    }
    case "rename": {
      const { from, to } = edit;
      checkKeyName(to);
      const v = view();
      if (!v.exists(from)) throw missing(from);
      if (from === to) return ops;
      if (v.exists(to)) throw taken(to);
      const value = ops.set.get(from);
      ops.set.delete(from);
      const source = v.targets.get(from);
      if (source !== undefined) {
        // A key renamed again: still one rename of the stored key (none if back to its name).
        if (to === source) ops.rename.delete(source);
        else ops.rename.set(source, to);
        if (value !== undefined) ops.set.set(to, value);
      } else if (v.asItself(from)) {
        ops.rename.set(from, to);
        if (value !== undefined) ops.set.set(to, value);
      } else if (value !== undefined) {
        // A key added in this draft: it is simply added under the other name.
        setValue(to, value);
      }
      return ops;
    }
    case "undo": {
      const v = view();
      const source = v.targets.get(edit.name);
      if (source !== undefined) {
        ops.rename.delete(source);
        ops.set.delete(edit.name);
      } else if (ops.set.has(edit.name)) ops.set.delete(edit.name);
      else if (ops.unset.has(edit.name)) ops.unset.delete(edit.name);
      else throw new ApiError("NOT_FOUND", `${edit.name} has no pending change`, "reload the editor");
      return ops;
    }
    case "import": {
      let next = ops;
      for (const [name, value] of edit.values) {
        next = applyEdit(next, baseNames, {
          op: new View(next, baseNames).exists(name) ? "edit" : "add",
          name,
          value,
        });
      }
      return next;
    }
  }
}

/**
 * The rows the editor shows, in the base version's order then the added
 * keys: every key the save would keep (unchanged, changed, renamed, added)
 * and every stored key it would remove.
 */
export function draftRows(ops: DraftOps, baseNames: readonly string[]): DraftRow[] {
  const view = new View(ops, new Set(baseNames));
  const rows: DraftRow[] = [];
  const emitted = new Set<string>();
  for (const name of baseNames) {
    const to = ops.rename.get(name);
    if (to !== undefined) {
      rows.push({ name: to, state: "renamed", stored: name, valueChanged: ops.set.has(to) });
      emitted.add(to);
    } else if (ops.unset.has(name)) {
      if (!view.targets.has(name) && !ops.set.has(name)) rows.push({ name, state: "removed", stored: name });
    } else {
      rows.push({ name, state: ops.set.has(name) ? "changed" : "same", stored: name });
      emitted.add(name);
    }
  }
  for (const name of ops.set.keys()) if (!emitted.has(name)) rows.push({ name, state: "added" });
  return rows;
}

export function countsOf(rows: readonly DraftRow[]): Counts {
  const c = { added: 0, changed: 0, renamed: 0, removed: 0, total: 0 };
  for (const row of rows) {
    if (row.state === "same") continue;
    c[row.state]++;
    c.total++;
  }
  return c;
}

/** Every name a change set touches (for the collisions with what others changed meanwhile). */
export function touched(ops: DraftOps): Set<string> {
  return new Set([...ops.set.keys(), ...ops.unset, ...ops.rename.keys(), ...ops.rename.values()]);
}

export interface Dropped {
  name: string;
  reason: string;
}

/**
 * The change set reapplied on another version's names: values set stay set
 * (a key someone else added meanwhile is then changed), removals of keys
 * that are gone and renames whose key is gone or whose new name was taken
 * meanwhile are dropped, and said so.
 */
export function rebase(
  current: DraftOps,
  newBase: ReadonlySet<string>,
): { ops: DraftOps; dropped: Dropped[] } {
  const ops = copy(current);
  const dropped: Dropped[] = [];
  for (const name of current.unset) {
    if (!newBase.has(name)) {
      ops.unset.delete(name);
      // A removal that made room for a rename onto this name still holds: the name is free.
      if (![...current.rename.values()].includes(name))
        dropped.push({ name, reason: "was already removed meanwhile" });
    }
  }
  for (const [from, to] of current.rename) {
    if (!newBase.has(from)) {
      ops.rename.delete(from);
      if (!ops.set.has(to))
        dropped.push({ name: from, reason: `was removed meanwhile, so it cannot be renamed to ${to}` });
    } else if (newBase.has(to) && !ops.unset.has(to) && !current.rename.has(to)) {
      ops.rename.delete(from);
      ops.set.delete(to);
      dropped.push({ name: from, reason: `cannot be renamed to ${to}: a key ${to} was added meanwhile` });
    }
  }
  return { ops, dropped };
}

/** The sealed form of a change set (with the version it applies to). */
export function serializeOps(base: number, ops: DraftOps): string {
  return JSON.stringify({ v: 1, base, set: [...ops.set], unset: [...ops.unset], rename: [...ops.rename] });
}

export function parseOps(text: string): { base: number; ops: DraftOps } {
  const parsed = JSON.parse(text) as {
    v: number;
    base: number;
    set: [string, string][];
    unset: string[];
    rename: [string, string][];
  };
  if (parsed.v !== 1 || !Number.isInteger(parsed.base)) throw new Error("not a draft");
  return {
    base: parsed.base,
    ops: { set: new Map(parsed.set), unset: new Set(parsed.unset), rename: new Map(parsed.rename) },
  };
}
