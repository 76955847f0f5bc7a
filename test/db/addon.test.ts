/**
 * The check `vault unpack-addon` runs before it renames the unpacked addon
 * into place: a file that does not load is refused with a clear reason, so
 * that `vault serve` falls back to the embedded addon instead of children
 * that fail at start. (Unpacking itself needs a compiled binary: the compile
 * smoke test and test/e2e/serve.e2e.ts cover it.)
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { hasEmbeddedAddon, probeAddon, unpackAddon } from "../../src/db";

const dir = mkdtempSync(join(tmpdir(), "vault-addon-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("probeAddon", () => {
  it("loads a real addon (libsql's own, from node_modules)", () => {
    const libsqlDir = dirname(Bun.resolveSync("libsql", import.meta.dir));
    const addon = Bun.resolveSync(`@libsql/linux-${process.arch}-gnu/index.node`, libsqlDir);
    expect(() => probeAddon(addon)).not.toThrow();
  });

  it("refuses a file that is not a shared object, saying why and what to check", () => {
    const bogus = join(dir, "bogus.node");
    writeFileSync(bogus, "not an ELF file\n");
    expect(() => probeAddon(bogus)).toThrow(
      /the unpacked addon does not load \(.+\); is the data directory mounted noexec\?/,
    );
  });
});

describe("unpackAddon from source", () => {
  it("says there is nothing to unpack, and writes nothing", async () => {
    expect(hasEmbeddedAddon()).toBe(false);
    await expect(unpackAddon(join(dir, "lib"))).rejects.toThrow(/carries no libsql addon/);
    expect(await Bun.file(join(dir, "lib", "libsql.node")).exists()).toBe(false);
  });
});
