/**
 * Layers on the compiled binary: a project whose development refers to
 * production and staging, and a branch of development. `vault run` sees the
 * resolved values (the branch's own ones over its parent's); a .env.vault
 * built by the server and opened by the stock dotenv 17 with its DOTENV_KEY
 * holds them resolved; a change of the referenced value changes the next run
 * without a new version of the environment that refers to it; the stock
 * dotenv-vault CLI's pull and push keep references as written. Personal
 * overrides, explain and --local through the CLI too.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import dotenv17 from "dotenv";
import { cliHome, dotenvVault } from "../helpers/dotenv-vault-cli";
import { stopAllServers } from "../helpers/serve";
import { type Cli, PASSWORD, startCli } from "./cli-fixture";

const DEVELOPMENT = [
  "# the app",
  "DB_USER=app",
  'DATABASE_URL="postgres://@{DB_USER}:@{production.DB_PASS}@db.internal/app"',
  "API=https://@{staging.API_HOST}/v1",
  "LITERAL='p@@{not-a-reference}'",
  "",
].join("\n");

let cli: Cli;
let owner: string;
let checkout: string;
let projectId: string;

const show = 'printf "%s|%s|%s" "$DATABASE_URL" "$API" "$LITERAL"';
const run = (args: string[], options: { env?: Record<string, string> } = {}) =>
  cli.ok(["run", ...args, "--", "sh", "-c", show], { config: owner, cwd: checkout, ...options });
const headOf = (env: string) =>
  JSON.parse(cli.ok(["envs", "--json"], { config: owner, cwd: checkout })).find(
    (e: { name: string }) => e.name === env,
  ).version as number;

beforeAll(async () => {
  cli = await startCli();
  cli.addUser("owner@example.com", "owner");
  owner = cli.login("owner@example.com");
  checkout = cli.dir("app");
  cli.ok(["new", "layers"], { config: owner, cwd: checkout });
  projectId = /DOTENV_VAULT="(vlt_[0-9a-f]{64})"/.exec(
    readFileSync(join(checkout, ".env.vault"), "utf8"),
  )![1]!;
  writeFileSync(join(checkout, ".env.production"), "DB_PASS=prod-pass-1\n");
  writeFileSync(join(checkout, ".env.staging"), "API_HOST=staging.example.com\n");
  writeFileSync(join(checkout, ".env"), DEVELOPMENT);
  cli.ok(["push", "production"], { config: owner, cwd: checkout });
  cli.ok(["push", "staging"], { config: owner, cwd: checkout });
  cli.ok(["push"], { config: owner, cwd: checkout });
  cli.ok(["envs", "add", "dev_alice", "--from", "development"], { config: owner, cwd: checkout });
  cli.ok(["set", "DB_USER=alice", "--env", "dev_alice"], { config: owner, cwd: checkout });
});

afterAll(async () => {
  await stopAllServers();
  cli?.vault.remove();
});

describe("layers on the binary", () => {
  it("vault run sees resolved values, the branch's own over its parent's; a pull gives the file as written", () => {
    expect(run([])).toBe(
      "postgres://app:prod-pass-1@db.internal/app|https://staging.example.com/v1|p@{not-a-reference}",
    );
    expect(run(["--env", "dev_alice"])).toBe(
      "postgres://alice:prod-pass-1@db.internal/app|https://staging.example.com/v1|p@{not-a-reference}",
    );
    expect(cli.ok(["pull", "-"], { config: owner, cwd: checkout })).toBe(DEVELOPMENT);
    expect(cli.ok(["get", "DATABASE_URL"], { config: owner, cwd: checkout })).toBe(
      "postgres://app:prod-pass-1@db.internal/app\n",
    );
    const resolved = cli.ok(["pull", "-", "--resolve"], { config: owner, cwd: checkout });
    expect(dotenv17.parse(resolved).DATABASE_URL).toBe("postgres://app:prod-pass-1@db.internal/app");
    expect(cli.ok(["envs"], { config: owner, cwd: checkout })).toMatch(
      /dev_alice +\d+ +write +\(branch of development\)/,
    );
  });

  it("vault diff of the branch and its parent shows only the override", () => {
    const out = cli.ok(["diff", "dev_alice", "development", "--json"], { config: owner, cwd: checkout });
    const diff = JSON.parse(out);
    expect([diff.added, diff.changed, diff.removed]).toEqual([[], ["DB_USER"], []]);
  });

  it("a .env.vault built by the server, opened by the stock dotenv 17 with its DOTENV_KEY, holds resolved values", () => {
    cli.ok(["build"], { config: owner, cwd: checkout });
    const path = join(checkout, ".env.vault");
    for (const [env, user] of [
      ["development", "app"],
      ["dev_alice", "alice"],
    ] as const) {
      const key = cli.ok(["keys", env], { config: owner, cwd: checkout }).trim();
      const opened = dotenv17.config({ path, DOTENV_KEY: key, processEnv: {}, quiet: true });
      expect(opened.error).toBeUndefined();
      expect(opened.parsed).toMatchObject({
        DATABASE_URL: `postgres://${user}:prod-pass-1@db.internal/app`,
        API: "https://staging.example.com/v1",
        LITERAL: "p@{not-a-reference}",
      });
    }
  });

  it("changing the referenced value changes the next run, without a new version of the referring environment", () => {
    const before = headOf("development");
    cli.ok(["set", "DB_PASS=prod-pass-2", "--env", "production"], { config: owner, cwd: checkout });
    expect(run([])).toStartWith("postgres://app:prod-pass-2@db.internal/app|");
    expect(run(["--env", "dev_alice"])).toStartWith("postgres://alice:prod-pass-2@");
    expect(headOf("development")).toBe(before);
  });

  it("a push whose reference points at nothing is refused, naming the key and the reference", () => {
    writeFileSync(join(checkout, "broken.env"), "X=@{production.NOPE}\n");
    const res = cli.run(["push", "ci", "broken.env"], { config: owner, cwd: checkout });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("vault: error: X: @{production.NOPE}");
    expect(res.stderr).toContain("vault: hint:");
    expect(res.stderr).toContain("@@{");
  });

  it("personal overrides apply to the user's run and explain, are listed, and go away with unset --personal", () => {
    cli.ok(["set", "--personal", "DB_USER=mine"], { config: owner, cwd: checkout });
    expect(run([])).toStartWith("postgres://mine:prod-pass-2@");
    expect(cli.ok(["overrides"], { config: owner, cwd: checkout })).toMatch(/development +DB_USER/);
    const explained = cli.ok(["explain", "DB_USER"], { config: owner, cwd: checkout });
    expect(explained).toContain("1. your personal override");
    expect(explained).toContain("2. development version");
    expect(explained).not.toContain("mine");
    cli.ok(["unset", "--personal", "DB_USER"], { config: owner, cwd: checkout });
    expect(run([])).toStartWith("postgres://app:");
  });

  it("explain names the parent, the references and their versions; the value only with --reveal; --local lays a file on top", () => {
    const out = cli.ok(["explain", "DATABASE_URL", "dev_alice"], { config: owner, cwd: checkout });
    expect(out).toContain("development version 1 (a parent of dev_alice)");
    expect(out).toMatch(/@\{DB_USER\} -> DB_USER in dev_alice version 1/);
    expect(out).toMatch(/@\{production.DB_PASS\} -> DB_PASS in production version 2/);
    expect(out).not.toContain("prod-pass");
    const revealed = cli.ok(["explain", "DATABASE_URL", "dev_alice", "--reveal"], {
      config: owner,
      cwd: checkout,
    });
    expect(revealed).toContain("value: postgres://alice:prod-pass-2@db.internal/app");
    writeFileSync(join(checkout, "local.env"), "API=http://localhost:3000\n");
    expect(run(["--local", "local.env"])).toContain("|http://localhost:3000|");
    const local = cli.ok(["explain", "API", "--local", "local.env"], { config: owner, cwd: checkout });
    expect(local).toContain("1. --local local.env");
  });

  it("the stock dotenv-vault CLI's pull and push keep references as written", async () => {
    const login = await fetch(`${cli.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "owner@example.com", password: PASSWORD }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    const me = await fetch(`${cli.url}/api/v1/projects/${projectId}/me`, {
      method: "POST",
      headers: { authorization: `Bearer ${login.token}`, "content-type": "application/json" },
      body: "{}",
    }).then((r) => r.json() as Promise<{ token: string }>);
    const dir = join(cli.dir("dotenv-vault"), "project");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ".env.vault"), `DOTENV_VAULT="${projectId}"\nDOTENV_API_URL="${cli.url}"\n`);
    writeFileSync(join(dir, ".env.me"), `DOTENV_ME="${me.token}"\n`);
    const home = cliHome(cli.dir("dotenv-vault-home"));
    const env = { ...home.env, DOTENV_API_URL: cli.url };
    const pulled = await dotenvVault(["pull"], { cwd: dir, env });
    expect(pulled.code, pulled.stdout + pulled.stderr).toBe(0);
    expect(readFileSync(join(dir, ".env"), "utf8")).toBe(DEVELOPMENT);
    writeFileSync(join(dir, ".env"), `${DEVELOPMENT}FULL=@{API}?user=@{DB_USER}\n`);
    const pushed = await dotenvVault(["push"], { cwd: dir, env });
    expect(pushed.code, pushed.stdout + pushed.stderr).toBe(0);
    expect(cli.ok(["pull", "-"], { config: owner, cwd: checkout })).toBe(
      `${DEVELOPMENT}FULL=@{API}?user=@{DB_USER}\n`,
    );
    expect(cli.ok(["get", "FULL"], { config: owner, cwd: checkout })).toBe(
      "https://staging.example.com/v1?user=app\n",
    );
  });
});
