/**
 * The compiled binary as a command-line program, run alone from a temporary
 * directory outside the repository.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli";
import { hasStackTrace, type Installed, installBinary, REPO_ROOT, runVault } from "../helpers/binary";
import { freePort, startServe, stopAllServers } from "../helpers/serve";

let vault: Installed;

beforeAll(() => {
  vault = installBinary();
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

describe("vault (compiled)", () => {
  it("prints its version and commit with --version", () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    const out = runVault(vault.bin, ["--version"], { cwd: vault.dir });
    expect(out.code).toBe(0);
    expect(out.stderr).toBe("");
    expect(out.stdout).toMatch(/^vault \S+ \((?:[0-9a-f]{4,40}|unknown)\)\n$/);
    if (!process.env.VAULT_E2E_BINARY) expect(out.stdout.startsWith(`vault ${version} (`)).toBe(true);
  });

  it("lists every command in --help", () => {
    const out = runVault(vault.bin, ["--help"], { cwd: vault.dir });
    expect(out.code).toBe(0);
    const visible = COMMANDS.filter((c) => !c.hidden);
    expect(visible.length).toBeGreaterThan(0);
    for (const command of visible) expect(out.stdout).toContain(`  ${command.name} `);
    for (const command of COMMANDS.filter((c) => c.hidden))
      expect(out.stdout).not.toContain(`  ${command.name} `);
  });

  it('prints `vault: error: --listen: "abc" is not HOST:PORT` for --listen abc, exit code 2', () => {
    const out = runVault(vault.bin, ["serve", "--data", join(vault.dir, "d"), "--listen", "abc"], {
      cwd: vault.dir,
    });
    expect(out.code).toBe(2);
    const lines = out.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe('vault: error: --listen: "abc" is not HOST:PORT');
    for (const line of lines.slice(1)) expect(line).toStartWith("vault: hint: ");
    expect(hasStackTrace(out.stderr)).toBe(false);
  });

  it("refuses plain HTTP on a non-loopback address with exit code 2", async () => {
    const port = await freePort();
    const out = runVault(
      vault.bin,
      ["serve", "--data", join(vault.dir, "d"), "--listen", `0.0.0.0:${port}`],
      {
        cwd: vault.dir,
      },
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toStartWith("vault: error: ");
    expect(hasStackTrace(out.stderr)).toBe(false);
  });
});

describe("vault (compiled) in a directory holding .env and bunfig.toml", () => {
  it("reads VAULT_LISTEN from its real environment (the control for the next test)", () => {
    const out = runVault(vault.bin, ["serve", "--data", join(vault.dir, "d")], {
      cwd: vault.dir,
      env: { VAULT_LISTEN: "garbage" },
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('"garbage"');
  });

  it("ignores ./.env and ./bunfig.toml", async () => {
    const dir = join(vault.dir, "project");
    await Bun.write(join(dir, ".env"), "VAULT_LISTEN=garbage\nVAULT_LOG_LEVEL=garbage\n");
    // A compiled binary that loaded bunfig.toml would run this preload (and write the marker).
    const marker = join(dir, "bunfig-was-loaded");
    writeFileSync(
      join(dir, "preload.js"),
      `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`,
    );
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.js"]\n[test]\ntimeout = 1\n');

    expect(runVault(vault.bin, ["--version"], { cwd: dir }).code).toBe(0);
    expect(existsSync(marker)).toBe(false);

    // Without --listen, serve would fail at once on VAULT_LISTEN=garbage if it
    // read ./.env; instead it starts on its default address (or fails to bind
    // it when that is busy, which is not what this test is about).
    const server = await startServe({ bin: vault.bin, cwd: dir, data: join(dir, "data"), listen: null });
    const outcome = await Promise.race([
      server.proc.exited.then(() => "exited" as const),
      server.waitChildren(20_000).then(
        () => "running" as const,
        () => "stuck" as const,
      ),
    ]);
    if (outcome === "exited") await server.exited();
    else await server.stop();
    expect(server.stderr).not.toContain("garbage");
    expect(existsSync(marker)).toBe(false);
  });
});
