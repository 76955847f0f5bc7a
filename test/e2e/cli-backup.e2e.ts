/**
 * `vault backup` and `vault restore` from the compiled binary: an online
 * snapshot of a running server (while it takes writes), restored into a new
 * data directory that serves the same projects, versions, values and
 * DOTENV_KEYs; a damaged backup refused before anything is replaced; a
 * running server's directory never replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv } from "../helpers/binary";
import { startServe, stopAllServers } from "../helpers/serve";
import { type Cli, startCli } from "./cli-fixture";

let cli: Cli;
let owner: string;
let checkout: string;
let backupDir: string;
const SECRET = "s3cr3t-backup-value";

beforeAll(async () => {
  cli = await startCli();
  cli.addUser("owner@example.com", "owner");
  owner = cli.login("owner@example.com");
  checkout = cli.dir("app");
  cli.ok(["new", "kept"], { config: owner, cwd: checkout });
  writeFileSync(join(checkout, ".env"), `# kept\nDB_PASSWORD=${SECRET}\nPORT=8080\n`);
  cli.ok(["push"], { config: owner, cwd: checkout });
  cli.ok(["set", "ADDED=later"], { config: owner, cwd: checkout });
  cli.ok(["set", "STAGE=1", "--env", "staging"], { config: owner, cwd: checkout });
  cli.ok(["rotatekey", "production"], { config: owner, cwd: checkout });
});

afterAll(async () => {
  await stopAllServers();
  cli?.vault.remove();
});

describe("vault backup", () => {
  it("snapshots a running server while it takes writes, with a manifest of checksums", async () => {
    // Writes in flight during the backup.
    const writer = (async () => {
      for (let i = 0; i < 10; i++) {
        const p = Bun.spawn([cli.vault.bin, "set", `BUSY_${i}=${i}`, "--env", "ci"], {
          cwd: checkout,
          env: cleanEnv(checkout, { VAULT_CONFIG_DIR: owner }),
          stdout: "ignore",
          stderr: "ignore",
        });
        await p.exited;
      }
    })();
    backupDir = join(cli.dir("backups"), "b1");
    const r = cli.run(["backup", backupDir, "--data", cli.data]);
    await writer;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backed up \d+ sealed values \(\d+ referenced\) to /);
    expect(r.stderr).toContain("a server is running: taking an online snapshot");
    expect(r.stderr).toContain("vault: warning: this backup holds the keys with the databases");
    const manifest = JSON.parse(readFileSync(join(backupDir, "manifest.json"), "utf8"));
    expect(manifest.format).toBe("vault-backup/1");
    expect(manifest.online).toBe(true);
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([
      "app/app.db",
      "app/app.key",
      "app/keeper.token",
      "keeper/root.key",
      "keeper/vault.db",
    ]);
    expect(manifest.schema["app.db"].length).toBeGreaterThan(0);
    expect(manifest.schema["vault.db"].length).toBeGreaterThan(0);
    for (const f of manifest.files) {
      const path = join(backupDir, f.path);
      expect(statSync(path).size).toBe(f.bytes);
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
  });

  it("writes databases that stay encrypted: no value, no name, no SQLite header in clear", () => {
    for (const rel of ["app/app.db", "keeper/vault.db"]) {
      const bytes = readFileSync(join(backupDir, rel));
      expect(bytes.subarray(0, 15).toString("latin1")).not.toBe("SQLite format 3");
      expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
      expect(bytes.includes(Buffer.from("DB_PASSWORD"))).toBe(false);
    }
  });

  it("refuses a destination that is not empty, or inside the data directory", () => {
    expect(cli.run(["backup", backupDir, "--data", cli.data]).code).toBe(2);
    expect(cli.run(["backup", join(cli.data, "inside"), "--data", cli.data]).code).toBe(2);
  });
});

describe("vault restore", () => {
  it("refuses while a server runs on the target, and replaces nothing", () => {
    const before = readFileSync(join(cli.data, "app", "app.db"));
    const r = cli.run(["restore", backupDir, "--data", cli.data, "--force"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("is running on");
    expect(readFileSync(join(cli.data, "app", "app.db")).equals(before)).toBe(true);
  });

  it("refuses a damaged backup before anything is replaced", () => {
    const damaged = join(cli.dir("backups"), "damaged");
    cpSync(backupDir, damaged, { recursive: true });
    const path = join(damaged, "keeper", "vault.db");
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(path, bytes);
    const target = join(cli.dir("restored"), "data");
    const r = cli.run(["restore", damaged, "--data", target]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("keeper/vault.db does not match the manifest's checksum");
    expect(r.stderr).toContain("nothing was replaced");
    expect(existsSync(target)).toBe(false);
    const noManifest = cli.run(["restore", cli.dir("not-a-backup"), "--data", target]);
    expect(noManifest.code).toBe(2);
  });

  it("restores into a new data directory that serves the same projects, versions, values and keys", async () => {
    const keysBefore = cli.ok(["keys", "--json"], { config: owner, cwd: checkout });
    const versionsBefore = JSON.parse(cli.ok(["versions", "--json"], { config: owner, cwd: checkout }));
    const fileBefore = cli.ok(["pull", "development", "-"], { config: owner, cwd: checkout });
    const target = join(cli.dir("restored"), "data");
    const r = cli.run(["restore", backupDir, "--data", target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^restored .* 1 users, \d+ sealed values/);
    for (const rel of ["app/app.key", "keeper/root.key", "app/app.db", "keeper/vault.db"]) {
      expect(statSync(join(target, rel)).mode & 0o777).toBe(0o600);
    }
    expect(readdirSync(join(target, "app")).some((f) => f.includes("restoring"))).toBe(false);
    // A second server on the restored directory.
    const second = await startServe({ bin: cli.vault.bin, cwd: cli.vault.dir, data: target });
    await second.waitReady();
    const config = join(cli.dir("config"), "vault");
    cli.ok(["login", second.url, "--email", "owner@example.com", "--password-stdin"], {
      config,
      input: "correct horse battery staple\n",
    });
    const on = { config, cwd: checkout, env: { VAULT_SERVER: second.url } };
    expect(cli.ok(["pull", "development", "-"], on)).toBe(fileBefore);
    expect(JSON.parse(cli.ok(["versions", "--json"], on))).toEqual(versionsBefore);
    expect(cli.ok(["get", "STAGE", "--env", "staging"], on)).toBe("1\n");
    // DOTENV_KEYs (and the rotated one) survive; only the host in the URI differs.
    const host = (text: string) => text.replaceAll(/@[^/]+\//g, "@HOST/");
    expect(host(cli.ok(["keys", "--json"], on))).toBe(host(keysBefore));
    await second.stop();
  });

  it("refuses to replace a data directory that holds data without --force, and keeps the old files with it", () => {
    const target = join(cli.dir("restored"), "data");
    cli.ok(["restore", backupDir, "--data", target]);
    const again = cli.run(["restore", backupDir, "--data", target]);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain("--force");
    const forced = cli.run(["restore", backupDir, "--data", target, "--force"]);
    expect(forced.code).toBe(0);
    expect(readdirSync(join(target, "app")).some((f) => f.startsWith("app.db.before-restore-"))).toBe(true);
  });

  it("a backup made with --no-keys restores only where the keys already are", () => {
    const bare = join(cli.dir("backups"), "bare");
    const r = cli.run(["backup", bare, "--no-keys", "--data", cli.data]);
    expect(r.code).toBe(0);
    expect(existsSync(join(bare, "keeper", "root.key"))).toBe(false);
    const empty = join(cli.dir("restored"), "data");
    const refused = cli.run(["restore", bare, "--data", empty]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("holds no app/app.key");
    const withKeys = join(cli.dir("restored"), "data");
    cli.ok(["restore", backupDir, "--data", withKeys]);
    expect(cli.run(["restore", bare, "--data", withKeys, "--force"]).code).toBe(0);
  });
});
