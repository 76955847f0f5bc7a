/**
 * The floor plan as code: reads every import of a source tree (static,
 * `export … from`, dynamic `import()` and `require()`) and reports each one
 * that breaks a rule. The rules are data (`Rules`), so the test can run the
 * same checker on src/ and on a small planted tree that must fail.
 *
 * A tree is a map from a path relative to src/ ("server/app.ts") to its text.
 * A module is a folder of src/ ("server"); a file directly in src/ is a root
 * file ("root:cli").
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, normalize, posix } from "node:path";

export interface Rules {
  /** For each module, the modules it must never import. */
  forbidden: Record<string, readonly string[]>;
  /** Modules another module may import only as types (`import type`). */
  typesOnly: Record<string, readonly string[]>;
  /** Folders of entry points loaded on demand by the command table, not modules with a front door. */
  entryDirs: readonly string[];
  /** Root files that may import modules, and how: "lazy" allows only `import()`. */
  rootEntries: Record<string, "static" | "lazy">;
  /** Root files that entry folders' files may import (the CLI kit, config, exit codes...). */
  sharedRootFiles?: readonly string[];
  /** Modules (or entry folders) whose files run no SQL of their own: they call their stores' functions. */
  noSql?: readonly string[];
}

export interface Import {
  file: string;
  specifier: string;
  typeOnly: boolean;
  lazy: boolean;
  require: boolean;
}

export type Tree = ReadonlyMap<string, string>;

/** Every .ts/.tsx file under `dir`, by its path relative to `dir` with forward slashes. */
export function readTree(dir: string): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (at: string, rel: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const relPath = rel ? `${rel}/${name}` : name;
      if (statSync(path).isDirectory()) walk(path, relPath);
      else if (/\.(ts|tsx)$/.test(name) && !name.endsWith(".d.ts"))
        tree.set(relPath, readFileSync(path, "utf8"));
    }
  };
  walk(dir, "");
  return tree;
}

/** Drops comments that start a line, so an import named in a comment is not one. */
function code(text: string): string {
  return text.replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "");
}

export function importsOf(file: string, text: string): Import[] {
  const body = code(text);
  const found: Import[] = [];
  const stat = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const m of body.matchAll(stat))
    found.push({ file, specifier: m[3]!, typeOnly: m[2] !== undefined, lazy: false, require: false });
  for (const m of body.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g))
    found.push({ file, specifier: m[1]!, typeOnly: false, lazy: true, require: false });
  for (const m of body.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g))
    found.push({ file, specifier: m[1]!, typeOnly: false, lazy: false, require: true });
  return found;
}

/** "vault" for vault/**, "root:cli" for cli.ts. */
export function moduleOf(rel: string): string {
  const parts = rel.split("/");
  return parts.length === 1 ? `root:${parts[0]!.replace(/\.tsx?$/, "")}` : parts[0]!;
}

/** The file an import names, as a key of the tree (or the bare target when the tree has no such file). */
function target(tree: Tree, from: string, specifier: string): string {
  const base = normalize(posix.join(posix.dirname(from), specifier)).replaceAll("\\", "/");
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`])
    if (tree.has(candidate)) return candidate;
  return base;
}

const isIndex = (rel: string) => /(^|\/)index\.tsx?$/.test(rel);

/** Every broken rule in the tree, one line each (empty when the tree keeps them all). */
export function check(tree: Tree, rules: Rules): string[] {
  const problems: string[] = [];
  const edges = new Map<string, string[]>();
  for (const [file, text] of tree) {
    const out: string[] = [];
    edges.set(file, out);
    if (rules.noSql?.includes(moduleOf(file)) && /\.execute\(|\.batch\(|\bsql`/.test(code(text)))
      problems.push(
        `${file} runs SQL of its own: call the store's functions (the SQL stays in appdb, vault or db)`,
      );
    for (const i of importsOf(file, text)) {
      if (i.require)
        problems.push(
          `${file} uses require("${i.specifier}"): import it (the checker, and the compiler, see imports)`,
        );
      if (!i.specifier.startsWith(".")) continue;
      const to = target(tree, file, i.specifier);
      out.push(to);
      const fromModule = moduleOf(file);
      const toModule = moduleOf(to);
      if (fromModule === toModule) {
        if (rules.entryDirs.includes(fromModule))
          problems.push(
            `${file} imports ${i.specifier}: command files do not import each other (share code through a module)`,
          );
        continue;
      }
      const what = `${file} imports ${i.specifier} (${fromModule} -> ${toModule})`;
      if (rules.forbidden[fromModule]?.includes(toModule))
        problems.push(`${what}: the arrow points the wrong way`);
      if (rules.typesOnly[fromModule]?.includes(toModule) && !i.typeOnly)
        problems.push(`${what}: only types may cross here`);
      // Root files: leaves, except the entries; an entry marked lazy reaches modules only through import().
      if (fromModule.startsWith("root:") && !toModule.startsWith("root:")) {
        const entry = rules.rootEntries[fromModule.slice(5)];
        if (!entry) problems.push(`${what}: a root file other than the entry points imports only root files`);
        else if (entry === "lazy" && !i.lazy && !i.typeOnly)
          problems.push(`${what}: the command table loads modules only on demand (import())`);
      }
      // Entry folders: only root files import them (the rules above say which and how).
      if (rules.entryDirs.includes(toModule) && !fromModule.startsWith("root:"))
        problems.push(`${what}: command files are loaded by the command table only`);
      if (
        rules.entryDirs.includes(fromModule) &&
        toModule.startsWith("root:") &&
        rules.sharedRootFiles &&
        !rules.sharedRootFiles.includes(toModule.slice(5))
      )
        problems.push(
          `${what}: a command file takes only the shared root files (${rules.sharedRootFiles.join(", ")})`,
        );
      // One front door per module.
      if (!toModule.startsWith("root:") && !rules.entryDirs.includes(toModule) && !isIndex(to))
        problems.push(`${what}: enter a module through its index.ts`);
    }
  }
  for (const cycle of cycles(edges))
    problems.push(`import circle of ${cycle.length} files: ${cycle.join(" -> ")}`);
  return problems;
}

/** The strongly connected components of more than one file (Tarjan), each sorted. */
export function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}
