/**
 * The part of scripts/compile.ts that depends on another package's source:
 * the rewrite of libsql's requireNative(). Checked against the installed
 * libsql here, so that an upgrade that changes it fails in the unit suite,
 * before any compile. (The build itself is checked by running it: `make e2e`.)
 */
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { CompileError, rewriteLibsql } from "../scripts/compile";

const libsqlIndex = Bun.resolveSync("libsql", import.meta.dir);

describe("rewriteLibsql", () => {
  it("turns the installed libsql's computed require into a static one", () => {
    const source = readFileSync(libsqlIndex, "utf8");
    const out = rewriteLibsql(source, "@libsql/linux-x64-gnu");
    expect(out).toContain('function requireNative() {\n  return require("@libsql/linux-x64-gnu");\n}\n');
    expect(out).not.toContain("require(`@libsql/");
    // Everything else is untouched.
    expect(out.length).toBeLessThan(source.length);
    expect(out.slice(out.indexOf("const {\n  databaseOpen"))).toBe(
      source.slice(source.indexOf("const {\n  databaseOpen")),
    );
  });

  it("fails loudly when requireNative() is not the expected shape", () => {
    const changed = "function requireNative() {\n  return require('@libsql/' + target);\n}\n";
    expect(() => rewriteLibsql(changed, "@libsql/linux-x64-gnu")).toThrow(CompileError);
    expect(() => rewriteLibsql("module.exports = {};\n", "@libsql/linux-x64-gnu")).toThrow(
      /not the expected shape/,
    );
  });
});
