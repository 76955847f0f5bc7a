import { describe, expect, it } from "bun:test";
import { cpSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./helpers";

const ROOT = join(import.meta.dir, "..", "..");

describe("vault.db schema", () => {
  it("matches its checked-in migrations (drizzle-kit finds nothing to generate)", async () => {
    const dir = tempDir();
    const out = join(dir, "migrations");
    cpSync(join(ROOT, "src", "vault", "migrations"), out, { recursive: true });
    const config = join(dir, "drizzle.config.ts");
    writeFileSync(
      config,
      `export default ${JSON.stringify({ dialect: "sqlite", schema: join(ROOT, "src", "vault", "schema.ts"), out: "migrations" })};\n`,
    );
    const before = readdirSync(out).sort();
    // drizzle-kit reads `out` relative to its working directory.
    const bin = join(ROOT, "node_modules", "drizzle-kit", "bin.cjs");
    const child = Bun.spawn([process.execPath, bin, "generate", "--config", config], {
      cwd: dir,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, NO_COLOR: "1" },
    });
    const [code, stdout, stderr] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    const output = stdout + stderr;
    expect(code).toBe(0);
    expect(output).toContain("No schema changes");
    expect(readdirSync(out).sort()).toEqual(before);
  });

  it("lists every migration file in migrations.ts", async () => {
    const { vaultMigrations } = await import("../../src/vault/migrations");
    const files = readdirSync(join(ROOT, "src", "vault", "migrations")).filter((f) => f.endsWith(".sql"));
    expect(vaultMigrations.map((m) => `${m.name}.sql`)).toEqual(files.sort());
  });
});
