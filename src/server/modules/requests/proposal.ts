/**
 * A change request's sealed content: the change exactly as it was asked for
 * (applied as is while the environment is still at the base version), and
 * the same change as key operations (the values it sets, the names it
 * removes), which is what a rebase reapplies on a later version and what a
 * reveal shows. Sealed by the app (binding "request": request id,
 * environment id) and stored in the keeper as one blob; never in app.db.
 */
import type { Change } from "../secrets/change";

export interface Operations {
  /** Name -> proposed value, for every name the change adds or changes. */
  set: Map<string, string>;
  /** The names the change removes. */
  unset: string[];
}

export interface Proposed {
  base: number;
  change: Change;
  /** Absent for a push: its operations are the file's values against the base version's. */
  ops?: Operations;
}

type Wire =
  | { kind: "push" | "merge"; text: string }
  | { kind: "set"; set: [string, string][]; unset: string[]; rename: [string, string][] }
  | { kind: "unset"; unset: string[] }
  | { kind: "rollback"; to: number };

function changeToWire(change: Change): Wire {
  switch (change.kind) {
    case "push":
    case "merge":
      return { kind: change.kind, text: change.text };
    case "set":
      return {
        kind: "set",
        set: [...change.set],
        unset: change.unset ?? [],
        rename: [...(change.rename ?? new Map())],
      };
    case "unset":
      return { kind: "unset", unset: change.unset };
    case "rollback":
      return { kind: "rollback", to: change.to };
  }
}

function changeFromWire(wire: Wire): Change {
  switch (wire.kind) {
    case "push":
    case "merge":
      return { kind: wire.kind, text: wire.text };
    case "set":
      return { kind: "set", set: new Map(wire.set), unset: wire.unset, rename: new Map(wire.rename) };
    case "unset":
      return { kind: "unset", unset: wire.unset };
    case "rollback":
      return { kind: "rollback", to: wire.to };
  }
}

export function serializeProposed(p: Proposed): string {
  return JSON.stringify({
    v: 1,
    base: p.base,
    change: changeToWire(p.change),
    ...(p.ops ? { set: [...p.ops.set], unset: p.ops.unset } : {}),
  });
}

export function parseProposed(text: string): Proposed {
  const parsed = JSON.parse(text) as {
    v: number;
    base: number;
    change: Wire;
    set?: [string, string][];
    unset?: string[];
  };
  if (parsed.v !== 1 || !Number.isInteger(parsed.base)) throw new Error("not a change request");
  return {
    base: parsed.base,
    change: changeFromWire(parsed.change),
    ...(parsed.set ? { ops: { set: new Map(parsed.set), unset: parsed.unset ?? [] } } : {}),
  };
}

/** The key operations of a change, from the values before and after it. */
export function operationsOf(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): Operations {
  const set = new Map<string, string>();
  for (const [name, value] of after) if (before.get(name) !== value) set.set(name, value);
  const unset = [...before.keys()].filter((n) => !after.has(n));
  return { set, unset };
}

/**
 * The key operations reapplied on a later version: an operation whose result the later version
 * already has is dropped; one on a key that also changed (differently) since the base is a
 * conflict, named.
 */
export function rebaseOperations(
  ops: { set: ReadonlyMap<string, string>; unset: readonly string[] },
  base: ReadonlyMap<string, string>,
  head: ReadonlyMap<string, string>,
): { set: Map<string, string>; unset: string[]; conflicts: string[] } {
  const moved = (name: string) => base.get(name) !== head.get(name) || base.has(name) !== head.has(name);
  const set = new Map<string, string>();
  const unset: string[] = [];
  const conflicts: string[] = [];
  for (const [name, value] of ops.set) {
    if (head.get(name) === value) continue;
    if (moved(name)) conflicts.push(name);
    else set.set(name, value);
  }
  for (const name of ops.unset) {
    if (!head.has(name)) continue;
    if (moved(name)) conflicts.push(name);
    else unset.push(name);
  }
  return { set, unset, conflicts: conflicts.sort() };
}
