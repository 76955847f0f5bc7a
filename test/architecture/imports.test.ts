/**
 * Dependencies point one way (STYLE.md): tui -> client -> (types of) server ->
 * {appdb, vault}. vault and appdb never import each other, nor anything above
 * them; other modules enter a module only through its index.ts; root files
 * are leaves but for the two entry points; command files are loaded by the
 * command table alone; and no file is part of an import circle (type imports
 * count: a circle of types is a circle of ideas).
 */
import { describe, expect, it } from "bun:test";
import { resolve } from "node:path";
import { check, cycles, importsOf, readTree } from "./checker";
import { RULES } from "./rules";

const tree = readTree(resolve(import.meta.dir, "../../src"));

describe("module boundaries", () => {
  it("reads the whole source tree and its imports (the check is not vacuous)", () => {
    expect(tree.size).toBeGreaterThan(100);
    const imports = [...tree].flatMap(([file, text]) => importsOf(file, text));
    expect(imports.filter((i) => i.specifier.startsWith(".")).length).toBeGreaterThan(500);
    expect(imports.some((i) => i.lazy)).toBe(true);
    expect(imports.some((i) => i.typeOnly)).toBe(true);
  });

  it("src/ keeps every rule: no wrong-way arrow, no side door, no import circle, no require", () => {
    expect(check(tree, RULES)).toEqual([]);
  });
});

/** A small tree that keeps the rules, to plant one wrong thing in at a time. */
function plan(extra: Record<string, string> = {}): Map<string, string> {
  return new Map(
    Object.entries({
      "main.ts": 'import { run } from "./cli";\n',
      "cli.ts": 'import { EXIT } from "./exit-codes";\nconst load = () => import("./commands/serve");\n',
      "cli-kit.ts": 'import { EXIT } from "./exit-codes";\n',
      "exit-codes.ts": "export const EXIT = {};\n",
      "commands/serve.ts":
        'import type { CommandContext } from "../cli-kit";\nimport { startServer } from "../server";\n',
      "server/index.ts": 'export * from "./app";\n',
      "server/app.ts": 'import { openAppDb } from "../appdb";\nimport { keeperClient } from "../vault";\n',
      "appdb/index.ts": "export const openAppDb = 1;\n",
      "vault/index.ts": 'export * from "./client";\n',
      "vault/client.ts": "export const keeperClient = 1;\n",
      "client/index.ts": 'import type { Route } from "../server";\n',
      "tui/index.ts": 'import { api } from "../client";\n',
      ...extra,
    }),
  );
}

const planted = (extra: Record<string, string>) => check(plan(extra), RULES);

describe("the checker fails on what it is for (planted imports)", () => {
  it("passes the small tree as planned", () => {
    expect(check(plan(), RULES)).toEqual([]);
  });

  it("a keeper file importing app.db: the wrong way", () => {
    expect(planted({ "vault/x.ts": 'import { openAppDb } from "../appdb";\n' })).toEqual([
      "vault/x.ts imports ../appdb (vault -> appdb): the arrow points the wrong way",
    ]);
  });

  it("the client importing the server for more than types", () => {
    expect(planted({ "client/api.ts": 'import { startServer } from "../server";\n' })).toEqual([
      "client/api.ts imports ../server (client -> server): only types may cross here",
    ]);
    expect(planted({ "client/api.ts": 'import type { Route } from "../server";\n' })).toEqual([]);
  });

  it("a side door into a module, past its index.ts", () => {
    expect(planted({ "server/app.ts": 'import { keeperClient } from "../vault/client";\n' })).toEqual([
      "server/app.ts imports ../vault/client (server -> vault): enter a module through its index.ts",
    ]);
  });

  it("a require(), static or wrapped, and one named only in a comment is not an import", () => {
    const found = planted({ "tui/x.ts": 'const fs = require("node:fs");\n// require("../vault")\n' });
    expect(found).toEqual([
      'tui/x.ts uses require("node:fs"): import it (the checker, and the compiler, see imports)',
    ]);
    expect(planted({ "tui/y.ts": 'const v = require("../vault");\n' })).toContain(
      "tui/y.ts imports ../vault (tui -> vault): the arrow points the wrong way",
    );
  });

  it("a root file that is not an entry point importing a module", () => {
    expect(planted({ "config.ts": 'import { openAppDb } from "./appdb";\n' })).toEqual([
      "config.ts imports ./appdb (root:config -> appdb): a root file other than the entry points imports only root files",
    ]);
  });

  it("the command table importing a command file statically", () => {
    expect(planted({ "cli.ts": 'import { serve } from "./commands/serve";\n' })).toEqual([
      "cli.ts imports ./commands/serve (root:cli -> commands): the command table loads modules only on demand (import())",
    ]);
  });

  it("a module, or another command file, importing a command file; a command file importing the command table", () => {
    expect(planted({ "server/x.ts": 'import { serve } from "../commands/serve";\n' })).toContain(
      "server/x.ts imports ../commands/serve (server -> commands): command files are loaded by the command table only",
    );
    expect(planted({ "commands/tui.ts": 'import { serve } from "./serve";\n' })).toEqual([
      "commands/tui.ts imports ./serve: command files do not import each other (share code through a module)",
    ]);
    expect(planted({ "commands/tui.ts": 'import type { Command } from "../cli";\n' })).toEqual([
      "commands/tui.ts imports ../cli (commands -> root:cli): the arrow points the wrong way",
      "commands/tui.ts imports ../cli (commands -> root:cli): a command file takes only the shared root files (cli-kit, config, exit-codes, log, version, harden, ip-range, password-rules)",
    ]);
  });

  it("a command file (or a module above the stores) running SQL of its own", () => {
    expect(planted({ "commands/backup.ts": 'await app.client.execute("SELECT ref FROM refs");\n' })).toEqual([
      "commands/backup.ts runs SQL of its own: call the store's functions (the SQL stays in appdb, vault or db)",
    ]);
    expect(planted({ "appdb/repos.ts": 'await db.client.execute("SELECT ref FROM refs");\n' })).toEqual([]);
  });

  it("an import circle, of types too, with every file in it named", () => {
    expect(
      planted({
        "server/a.ts": 'import type { B } from "./b";\n',
        "server/b.ts": 'import type { C } from "./c";\n',
        "server/c.ts": 'import type { A } from "./a";\n',
      }),
    ).toEqual(["import circle of 3 files: server/a.ts -> server/b.ts -> server/c.ts"]);
    expect(
      cycles(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
    ).toEqual([]);
  });
});
