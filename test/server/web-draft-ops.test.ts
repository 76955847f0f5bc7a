/**
 * The editor's change set, without storage: what each edit does to it, the
 * rows it shows, what a reapply keeps, and the sealed form. Each property is
 * checked against the change a save would make: the values the base gives
 * plus the set, minus the unset, with renames moved.
 */
import { describe, expect, it } from "bun:test";
import type { ApiError } from "../../src/server/errors";
import {
  applyEdit,
  countsOf,
  type DraftOps,
  draftRows,
  type Edit,
  emptyOps,
  parseOps,
  rebase,
  serializeOps,
} from "../../src/server/modules/secrets/draft-ops";

const BASE = ["A", "B", "C"];
const values = new Map([
  ["A", "a"],
  ["B", "b"],
  ["C", "c"],
]);

/** What a save of `ops` on BASE would store (change.ts's rule for kind "set"). */
function saved(ops: DraftOps): Record<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of values) {
    if (!ops.unset.has(name)) out.set(ops.rename.get(name) ?? name, value);
  }
  for (const [name, value] of ops.set) out.set(name, value);
  return Object.fromEntries(out);
}

function run(...edits: Edit[]): DraftOps {
  return edits.reduce((ops, edit) => applyEdit(ops, new Set(BASE), edit), emptyOps());
}

const rows = (ops: DraftOps) =>
  draftRows(ops, BASE).map((r) => `${r.state}:${r.stored ? `${r.stored}>` : ""}${r.name}`);

describe("the editor's change set", () => {
  it("adds, edits and deletes, and the save holds exactly that", () => {
    const ops = run(
      { op: "add", name: "D", value: "d" },
      { op: "edit", name: "A", value: "a2" },
      { op: "delete", name: "B" },
    );
    expect(saved(ops)).toEqual({ A: "a2", C: "c", D: "d" });
    expect(rows(ops)).toEqual(["changed:A>A", "removed:B>B", "same:C>C", "added:D"]);
    expect(countsOf(draftRows(ops, BASE))).toEqual({
      added: 1,
      changed: 1,
      renamed: 0,
      removed: 1,
      total: 3,
    });
  });

  it("renames a stored key (its value kept, no value in the change set), again, and back to its name", () => {
    const once = run({ op: "rename", from: "A", to: "X" });
    expect(once.set.size).toBe(0);
    expect(saved(once)).toEqual({ X: "a", B: "b", C: "c" });
    expect(rows(once)[0]).toBe("renamed:A>X");
    const twice = applyEdit(once, new Set(BASE), { op: "rename", from: "X", to: "Y" });
    expect([...twice.rename]).toEqual([["A", "Y"]]);
    const back = applyEdit(twice, new Set(BASE), { op: "rename", from: "Y", to: "A" });
    expect(back).toEqual(emptyOps());
  });

  it("keeps a new value with a rename, either order, and a rename of an added key is just an add", () => {
    expect(saved(run({ op: "rename", from: "A", to: "X" }, { op: "edit", name: "X", value: "x" }))).toEqual({
      X: "x",
      B: "b",
      C: "c",
    });
    expect(saved(run({ op: "edit", name: "A", value: "x" }, { op: "rename", from: "A", to: "X" }))).toEqual({
      X: "x",
      B: "b",
      C: "c",
    });
    const added = run({ op: "add", name: "D", value: "d" }, { op: "rename", from: "D", to: "E" });
    expect([...added.set]).toEqual([["E", "d"]]);
    expect(added.rename.size).toBe(0);
  });

  it("renames onto a deleted key, re-adds a key renamed away, and deletes a renamed key (its source removed)", () => {
    const onto = run({ op: "delete", name: "C" }, { op: "rename", from: "A", to: "C" });
    expect(saved(onto)).toEqual({ C: "a", B: "b" });
    const readd = run({ op: "rename", from: "A", to: "X" }, { op: "add", name: "A", value: "new" });
    expect(saved(readd)).toEqual({ X: "a", B: "b", C: "c", A: "new" });
    const gone = run({ op: "rename", from: "A", to: "X" }, { op: "delete", name: "X" });
    expect(saved(gone)).toEqual({ B: "b", C: "c" });
    expect(rows(gone)).toEqual(["removed:A>A", "same:B>B", "same:C>C"]);
  });

  it("undoes one row: a change, an add, a delete, a rename (with its new value)", () => {
    const ops = run(
      { op: "edit", name: "A", value: "a2" },
      { op: "add", name: "D", value: "d" },
      { op: "delete", name: "B" },
      { op: "rename", from: "C", to: "Z" },
      { op: "edit", name: "Z", value: "z" },
    );
    const undo = (o: DraftOps, name: string) => applyEdit(o, new Set(BASE), { op: "undo", name });
    expect(saved(undo(ops, "A")).A).toBe("a");
    expect(saved(undo(ops, "D")).D).toBeUndefined();
    expect(saved(undo(ops, "B")).B).toBe("b");
    expect(saved(undo(ops, "Z"))).toEqual({ A: "a2", C: "c", D: "d" });
    expect(["A", "D", "B", "Z"].reduce(undo, ops)).toEqual(emptyOps());
    expect(() => undo(emptyOps(), "A")).toThrow("A has no pending change");
  });

  it("refuses an add of a name that exists, an edit or delete of one that does not, a rename onto one that exists", () => {
    const refused = (edit: Edit, code: ApiError["code"]) => {
      try {
        run(edit);
        throw new Error("not refused");
      } catch (error) {
        expect({ edit, code: (error as ApiError).code }).toEqual({ edit, code });
      }
    };
    refused({ op: "add", name: "A", value: "x" }, "CONFLICT");
    refused({ op: "edit", name: "NOPE", value: "x" }, "NOT_FOUND");
    refused({ op: "delete", name: "NOPE" }, "NOT_FOUND");
    refused({ op: "rename", from: "A", to: "B" }, "CONFLICT");
    refused({ op: "rename", from: "A", to: "1bad" }, "INVALID_REQUEST");
    refused({ op: "add", name: "has space", value: "x" }, "INVALID_REQUEST");
  });

  it("imports as adds and edits, keeping the keys the file does not name", () => {
    const ops = run({
      op: "import",
      values: new Map([
        ["A", "a9"],
        ["NEW", "n"],
      ]),
    });
    expect(saved(ops)).toEqual({ A: "a9", B: "b", C: "c", NEW: "n" });
  });

  it("reapplies on a later version: sets stay, a removal of a key gone and a rename whose key is gone or whose name was taken are dropped", () => {
    const ops = run(
      { op: "edit", name: "A", value: "a2" },
      { op: "delete", name: "B" },
      { op: "rename", from: "C", to: "Z" },
    );
    const { ops: same, dropped: none } = rebase(ops, new Set(BASE));
    expect(same).toEqual(ops);
    expect(none).toEqual([]);
    const { ops: later, dropped } = rebase(ops, new Set(["A", "Z"]));
    expect([...later.set]).toEqual([["A", "a2"]]);
    expect(later.unset.size + later.rename.size).toBe(0);
    expect(dropped).toEqual([
      { name: "B", reason: "was already removed meanwhile" },
      { name: "C", reason: "was removed meanwhile, so it cannot be renamed to Z" },
    ]);
    const { dropped: taken } = rebase(ops, new Set(["A", "B", "C", "Z"]));
    expect(taken).toEqual([{ name: "C", reason: "cannot be renamed to Z: a key Z was added meanwhile" }]);
  });

  it("seals to a form that reads back the same, base version included", () => {
    const ops = run({ op: "add", name: "D", value: "multi\nline ✓" }, { op: "rename", from: "A", to: "X" });
    const back = parseOps(serializeOps(7, ops));
    expect(back.base).toBe(7);
    expect(back.ops).toEqual(ops);
    expect(() => parseOps('{"v":2,"base":1}')).toThrow();
  });
});
