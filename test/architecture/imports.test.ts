/**
 * Dependencies point one way (STYLE.md): tui -> client -> (types of) server ->
 * {appdb, vault}. vault and appdb never import each other, nor anything above
 * them; other modules enter a module only through its index.ts.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** For each module, the modules it must never import. Root files (cli.ts, config.ts, ...) are "root". */
const FORBIDDEN: Record<string, readonly string[]> = {
  db: ["vault", "appdb", "server", "client", "tui", "supervisor", "commands", "dotenv", "root:cli"],
  vault: ["appdb", "server", "client", "tui", "supervisor", "commands", "dotenv", "root:cli"],
  appdb: ["vault", "server", "client", "tui", "supervisor", "commands", "root:cli"],
  dotenv: ["vault", "appdb", "server", "client", "tui", "supervisor", "commands", "root:cli"],
  server: ["client", "tui", "supervisor", "commands", "root:cli"],
  client: ["appdb", "vault", "tui", "supervisor", "db"],
  tui: ["server", "appdb", "vault", "supervisor", "db"],
  supervisor: ["client", "tui", "commands", "root:cli"],
};

/** Modules another module may import only as types. */
const TYPES_ONLY: Record<string, readonly string[]> = { client: ["server"] };

/** Folders of lazily loaded entry points (the CLI table imports each command file on demand), not modules. */
const LAZY_DIRS: readonly string[] = ["commands"];

interface Import {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

export function importsOf(file: string, text: string): Import[] {
  const found: Import[] = [];
  const stat = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const m of text.matchAll(stat)) found.push({ file, specifier: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g))
    found.push({ file, specifier: m[1]!, typeOnly: false });
  return found;
}

/** "vault" for src/vault/**, "root:cli" for src/cli.ts. */
export function moduleOf(path: string): string {
  const rel = relative(SRC, path);
  const parts = rel.split("/");
  const isDir = existsSync(path) && statSync(path).isDirectory();
  return parts.length === 1 && !isDir ? `root:${parts[0]!.replace(/\.tsx?$/, "")}` : parts[0]!;
}

const files = sourceFiles(SRC);
const imports = files.flatMap((f) => importsOf(f, readFileSync(f, "utf8")));
const local = imports.filter((i) => i.specifier.startsWith("."));

describe("module boundaries", () => {
  it("finds source files and their imports (the check is not vacuous)", () => {
    expect(files.length).toBeGreaterThan(10);
    expect(local.length).toBeGreaterThan(10);
  });

  it("has no import that points the wrong way", () => {
    const wrong = local.flatMap((i) => {
      const from = moduleOf(i.file);
      const to = moduleOf(resolve(dirname(i.file), i.specifier));
      if (from === to) return [];
      if (FORBIDDEN[from]?.includes(to))
        return [`${relative(SRC, i.file)} imports ${i.specifier} (${from} -> ${to})`];
      if (TYPES_ONLY[from]?.includes(to) && !i.typeOnly) {
        return [`${relative(SRC, i.file)} imports ${i.specifier} for more than types (${from} -> ${to})`];
      }
      return [];
    });
    expect(wrong).toEqual([]);
  });

  it("enters other modules only through their index.ts", () => {
    const sideDoors = local.flatMap((i) => {
      const from = moduleOf(i.file);
      const target = resolve(dirname(i.file), i.specifier);
      const to = moduleOf(target);
      if (from === to || to.startsWith("root:") || LAZY_DIRS.includes(to)) return [];
      const inside = relative(join(SRC, to), target);
      return inside === "" || inside === "index" || inside === "index.ts"
        ? []
        : [`${relative(SRC, i.file)} imports ${i.specifier}`];
    });
    expect(sideDoors).toEqual([]);
  });

  it("detects a wrong-way import when one is planted", () => {
    const planted = importsOf(join(SRC, "vault/x.ts"), 'import { openAppDb } from "../appdb";\n');
    const to = moduleOf(resolve(join(SRC, "vault"), planted[0]!.specifier));
    expect(FORBIDDEN.vault).toContain(to);
  });
});
