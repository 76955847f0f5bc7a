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
  it("turns the installed libsql's computed require into the unpacked addon, or else the embedded one", () => {
    const source = readFileSync(libsqlIndex, "utf8");
    const out = rewriteLibsql(source);
    const fn = out.slice(out.indexOf("function requireNative() {"));
    const body = fn.slice(0, fn.indexOf("\n}\n") + 3);
    expect(body).toContain("const unpacked = process.env.VAULT_LIBSQL_ADDON;");
    expect(body).toContain("process.dlopen(addon, unpacked);");
    expect(body).toMatch(/return require\(require\(".*\/src\/db\/embedded-addon\.ts"\)\.embeddedAddon\);/);
    const embedded = { from: "/$bunfs/root/index.node" };
    // The function runs as written: with the variable set it opens that file, never the embedded one.
    const dlopened: string[] = [];
    const run = new Function("process", "require", `${body}\nreturn requireNative();`);
    const fakeProcess = {
      env: { VAULT_LIBSQL_ADDON: "/data/lib/libsql.node" },
      dlopen: (m: { exports: unknown }, path: string) => {
        dlopened.push(path);
        m.exports = { databaseOpen: "native" };
      },
    };
    expect(run(fakeProcess, () => expect.unreachable())).toEqual({ databaseOpen: "native" });
    expect(dlopened).toEqual(["/data/lib/libsql.node"]);
    const required: string[] = [];
    const fakeRequire = (id: string) => {
      required.push(id);
      return id.endsWith("embedded-addon.ts") ? { embeddedAddon: "/$bunfs/root/index.node" } : { from: id };
    };
    expect(run({ env: {}, dlopen: () => expect.unreachable() }, fakeRequire)).toEqual(embedded);
    // An unpacked file that does not load (gone, or on a noexec mount) falls back to the embedded addon.
    const gone = {
      env: { VAULT_LIBSQL_ADDON: "/data/lib/libsql.node" },
      dlopen: () => {
        throw new Error("cannot open shared object file: No such file or directory");
      },
    };
    expect(run(gone, fakeRequire)).toEqual(embedded);
    expect(out).not.toContain("require(`@libsql/");
    // Everything else is untouched.
    expect(out.length).toBeLessThan(source.length);
    expect(out.slice(out.indexOf("const {\n  databaseOpen"))).toBe(
      source.slice(source.indexOf("const {\n  databaseOpen")),
    );
  });

  it("fails loudly when requireNative() is not the expected shape", () => {
    const changed = "function requireNative() {\n  return require('@libsql/' + target);\n}\n";
    expect(() => rewriteLibsql(changed)).toThrow(CompileError);
    expect(() => rewriteLibsql("module.exports = {};\n")).toThrow(/not the expected shape/);
  });
});
