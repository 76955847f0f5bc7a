/**
 * Approvals on the compiled binary: an owner protects production; a push to
 * it opens a change request (exit 0, no version); a second user sees it,
 * cannot be its author, approves it, and the pull gets the new version,
 * authored by whoever pushed. The stock dotenv-vault CLI's push to the
 * protected environment fails with the request's number instead of
 * pretending it pushed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliHome, dotenvVault } from "../helpers/dotenv-vault-cli";
import { stopAllServers } from "../helpers/serve";
import { type Cli, PASSWORD, startCli } from "./cli-fixture";

let cli: Cli;
let owner: string;
let second: string;
let checkout: string;
let projectId: string;

beforeAll(async () => {
  cli = await startCli();
  cli.addUser("owner@example.com", "owner");
  cli.addUser("second@example.com");
  owner = cli.login("owner@example.com");
  second = cli.login("second@example.com");
  checkout = cli.dir("app");
  cli.ok(["new", "approvals"], { config: owner, cwd: checkout });
  projectId = /DOTENV_VAULT="(vlt_[0-9a-f]{64})"/.exec(
    readFileSync(join(checkout, ".env.vault"), "utf8"),
  )![1]!;
  cli.ok(["members", "add", "second@example.com", "production=write"], { config: owner, cwd: checkout });
  writeFileSync(join(checkout, ".env.production"), "DB_PASS=first\n");
  cli.ok(["push", "production"], { config: owner, cwd: checkout });
});

afterAll(async () => {
  await stopAllServers();
  cli?.vault.remove();
});

describe("approvals on the binary", () => {
  it("a push to a protected environment becomes a change request that a second user approves into the next version", () => {
    expect(cli.ok(["envs", "protect", "production"], { config: owner, cwd: checkout })).toContain(
      "protected production",
    );
    writeFileSync(join(checkout, ".env.production"), "DB_PASS=second\nNEW_KEY=added\n");
    const pushed = cli.run(["push", "production"], { config: owner, cwd: checkout });
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toBe(
      "vault: change request #1 opened for production; an approver must approve it: vault requests show 1\n",
    );
    // No version yet: the pull still gets version 1.
    expect(cli.ok(["pull", "production", "-"], { config: second, cwd: checkout })).toBe("DB_PASS=first\n");
    const list = cli.ok(["requests", "list"], { config: second, cwd: checkout });
    expect(list).toMatch(/1\s+production\s+open\s+owner@example\.com\s+1\s+.*\+NEW_KEY ~DB_PASS/);
    const shown = cli.ok(["requests", "show", "1"], { config: second, cwd: checkout });
    expect(shown).not.toContain("second");
    const self = cli.run(["requests", "approve", "1"], { config: owner, cwd: checkout });
    expect(self.code).toBe(3);
    expect(self.stderr).toContain("vault: error: you opened change request #1: someone else must approve it");
    expect(cli.ok(["requests", "approve", "1"], { config: second, cwd: checkout })).toBe(
      "approved change request #1: production is now version 2\n",
    );
    expect(cli.ok(["pull", "production", "-"], { config: second, cwd: checkout })).toBe(
      "DB_PASS=second\nNEW_KEY=added\n",
    );
    const versions = JSON.parse(
      cli.ok(["versions", "production", "--json"], { config: owner, cwd: checkout }),
    );
    expect(versions.versions[0]).toMatchObject({ version: 2, author: "owner@example.com", kind: "push" });
    const events = JSON.parse(cli.ok(["audit", "--json", "--limit", "50"], { config: owner, cwd: checkout }));
    const actions = events.map(
      (e: { action: string; actor: { label: string } }) => `${e.action} ${e.actor.label}`,
    );
    expect(actions).toContain("requests.open owner@example.com");
    expect(actions).toContain("requests.approve second@example.com");
    expect(actions).toContain("requests.apply second@example.com");
  });

  it("the stock dotenv-vault CLI's push to a protected environment is held, and says which request it opened", async () => {
    const login = await fetch(`${cli.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "second@example.com", password: PASSWORD }),
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
    writeFileSync(join(dir, ".env.production"), "DB_PASS=from-dotenv-vault\n");
    const home = cliHome(cli.dir("dotenv-vault-home"));
    const pushed = await dotenvVault(["push", "production"], {
      cwd: dir,
      env: { ...home.env, DOTENV_API_URL: cli.url },
    });
    expect(pushed.code).not.toBe(0);
    const said = pushed.stdout + pushed.stderr;
    expect(said).toContain("CHANGE_REQUEST_OPENED");
    expect(said).toContain("change request #2");
    expect(said).toContain("vault requests show 2");
    expect(cli.ok(["pull", "production", "-"], { config: owner, cwd: checkout })).toBe(
      "DB_PASS=second\nNEW_KEY=added\n",
    );
    expect(cli.ok(["requests", "list"], { config: owner, cwd: checkout })).toMatch(
      /2\s+production\s+open\s+second@example\.com/,
    );
  });
});
