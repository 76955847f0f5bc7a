/**
 * A new user's first day (issue 18): command groups list their commands,
 * typos get a "did you mean", `vault pull -` prints, a push that would empty
 * an environment asks first, `--merge` works on a moved environment, a CI
 * token without --env is told which environment it reads, audit tables
 * name environments and people, and `vault build` points at a key the user
 * can read.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { editDistance, suggest } from "../../src/cli-kit";
import { createApiClient } from "../../src/client";
import { type CliHarness, runCli, startCliHarness } from "./cli-harness";

let c: CliHarness;
let owner: { token: string; id: string; email: string };
let config: string;
let checkout: string;
let projectId: string;

const pushes = () => c.requests.filter((r) => r.startsWith("PUT ")).length;

beforeAll(async () => {
  c = await startCliHarness();
  owner = await c.h.user("owner@example.com", "owner");
  config = c.signedIn(owner);
  checkout = c.dir("app");
  await c.ok(["new", "shop"], { config, cwd: checkout });
  projectId = /DOTENV_VAULT="(vlt_[0-9a-f]{64})"/.exec(
    readFileSync(join(checkout, ".env.vault"), "utf8"),
  )![1]!;
  writeFileSync(join(checkout, ".env"), "A=1\nB=2\n");
  await c.ok(["push"], { config, cwd: checkout });
});

describe("command groups", () => {
  for (const [group, members] of [
    ["tokens", ["tokens create", "tokens list", "tokens revoke"]],
    ["members", ["members list", "members add", "members rm", "members grant"]],
    [
      "admin",
      [
        "admin user add",
        "admin user list",
        "admin user disable",
        "admin user enable",
        "admin user reset-password",
      ],
    ],
    ["keeper", ["keeper status", "keeper rotate", "keeper rotate-root"]],
  ] as const) {
    it(`vault ${group} alone lists its commands (it said "unknown command")`, async () => {
      const bare = await runCli([group]);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toStartWith(`Usage: vault ${group} <command> [flags]\n`);
      for (const m of members) expect(bare.stderr).toContain(`  ${m} `);
      expect(bare.stderr).not.toContain("unknown command");
      const help = await runCli([group, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe(bare.stderr);
      expect((await runCli(["help", group])).stdout).toBe(bare.stderr);
    });
  }
});

describe("did you mean", () => {
  it("editDistance counts a swap of neighbours as one edit", () => {
    expect(editDistance("pull", "pull")).toBe(0);
    expect(editDistance("evn", "env")).toBe(1);
    expect(editDistance("tokn", "tokens")).toBe(2);
    expect(suggest("pusj", ["push", "pull", "run"])).toEqual(["push"]);
    expect(suggest("xyzzy", ["push", "pull"])).toEqual([]);
  });

  it("suggests the command for a mistyped command or subcommand", async () => {
    const cases: [string[], string, string][] = [
      [["pul"], 'vault: error: unknown command "pul"', "vault: hint: did you mean vault pull?"],
      [["tokns", "list"], 'vault: error: unknown command "tokns"', "vault: hint: did you mean vault tokens?"],
      [
        ["tokens", "lst"],
        'vault: error: unknown command "tokens lst"',
        "vault: hint: did you mean vault tokens list?",
      ],
      [
        ["admin", "usr", "add"],
        'vault: error: unknown command "admin usr"',
        "did you mean vault admin user?",
      ],
      [["envs", "ad", "qa"], 'vault: error: unexpected argument "ad"', "did you mean vault envs add?"],
      [["help", "tokn"], 'vault: error: no command "tokn"', "vault: hint: did you mean vault help tokens?"],
    ];
    for (const [args, error, hint] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toStartWith(`${error}\n`);
      expect(r.stderr).toContain(hint);
    }
  });

  it("suggests the flag for a mistyped flag", async () => {
    for (const [args, hint] of [
      [["run", "--no-fallbak", "--", "true"], "did you mean --no-fallback?"],
      [["push", "--forse"], "did you mean --force?"],
      [["versions", "--limt", "3"], "did you mean --limit?"],
      [["--verison"], "did you mean --version?"],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(`vault: hint: ${hint}\n`);
    }
    // Nothing close: no guess, only the usual hint.
    const far = await runCli(["push", "--zzzzzz"]);
    expect(far.stderr).toBe("vault: error: unknown flag --zzzzzz\nvault: hint: run: vault help push\n");
  });
});

describe("vault pull -", () => {
  it("writes the main environment to stdout (it was refused), as ENV - and ENV@N - do", async () => {
    expect(await c.ok(["pull", "-"], { config, cwd: checkout })).toBe("A=1\nB=2\n");
    expect(await c.ok(["pull", "development", "-"], { config, cwd: checkout })).toBe("A=1\nB=2\n");
    expect(await c.ok(["pull", "development@1", "-"], { config, cwd: checkout })).toBe("A=1\nB=2\n");
  });
});

describe("vault push of a file that holds no keys", () => {
  it("refuses a JSON file without --yes (non-interactive), saying it is JSON and would remove every key", async () => {
    writeFileSync(join(checkout, "config.json"), '{\n  "A": "1",\n  "B": "2"\n}\n');
    const before = pushes();
    const r = await c.cli(["push", "development", "config.json"], { config, cwd: checkout });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      [
        "vault: warning: config.json is JSON, not a .env file: dotenv reads no KEY=VALUE line in it",
        "vault: error: config.json holds no keys (it is JSON): pushing it removes every key from development",
        "vault: hint: push takes a .env file (KEY=VALUE lines): convert it, or set keys with vault set KEY=VALUE ...",
        "vault: hint: if that is what you want: vault push development config.json --yes",
        "",
      ].join("\n"),
    );
    expect(pushes()).toBe(before);
  });

  it("refuses an empty or comment-only file without --yes, and pushes it with --yes", async () => {
    for (const text of ["", "# nothing here yet\n\n"]) {
      writeFileSync(join(checkout, "empty.env"), text);
      const r = await c.cli(["push", "staging", "empty.env"], { config, cwd: checkout });
      expect(r.code).toBe(2);
      expect(r.stderr).toStartWith(
        "vault: error: empty.env holds no keys: pushing it removes every key from staging\n",
      );
    }
    await c.ok(["set", "S=1", "--env", "staging"], { config, cwd: checkout });
    await c.ok(["pull", "staging"], { config, cwd: checkout });
    const yes = await c.cli(["push", "staging", "empty.env", "--yes"], { config, cwd: checkout });
    expect(yes.code).toBe(0);
    expect(yes.stderr).toContain("vault: warning: empty.env holds no keys");
    expect(yes.stdout).toContain("0 added, 0 changed, 1 removed");
  });

  it("a file with keys pushes without a question, and --merge of a keyless file removes nothing", async () => {
    writeFileSync(join(checkout, "one.env"), "ONE=1\n");
    expect((await c.cli(["push", "ci", "one.env"], { config, cwd: checkout })).stderr).toBe("");
    writeFileSync(join(checkout, "nothing.env"), "");
    const merged = await c.ok(["push", "ci", "nothing.env", "--merge"], { config, cwd: checkout });
    expect(merged).toContain("nothing pushed");
  });
});

describe("vault push --merge", () => {
  it("merges the file's keys onto the latest version of an environment that moved on (it was refused)", async () => {
    const a = c.dir("a");
    const b = c.dir("b");
    for (const d of [a, b]) {
      await c.ok(["link", projectId], { config, cwd: d });
      await c.ok(["pull", "production"], { config, cwd: d });
    }
    writeFileSync(join(b, ".env.production"), "FROM_B=1\n");
    await c.ok(["push", "production"], { config, cwd: b });
    writeFileSync(join(a, "extra.env"), "FROM_A=1\n");
    expect(await c.ok(["push", "production", "extra.env", "--merge"], { config, cwd: a })).toContain(
      "(1 added, 0 changed, 0 removed)",
    );
    const values = JSON.parse(
      await c.ok(["export", "--env", "production", "--format", "json"], { config, cwd: a }),
    );
    expect(values).toEqual({ FROM_B: "1", FROM_A: "1" });
    // The merge is no base for a plain push from this checkout: that is still refused until it pulls.
    writeFileSync(join(a, ".env.production"), "FROM_A=1\n");
    expect((await c.cli(["push", "production"], { config, cwd: a })).code).toBe(5);
  });
});

describe("a refusal on the default environment", () => {
  it("tells a CI token without --env which environment it reads (--env ci)", async () => {
    const api = createApiClient({ baseUrl: c.url, token: owner.token });
    await api.secrets.push(projectId, "ci", { dotenv: "CI=1\n" });
    const token = (await api.tokens.create(projectId, { name: "gha", environments: ["ci"] })).token;
    const env = { VAULT_TOKEN: token, VAULT_SERVER: c.url };
    const cwd = c.dir("ci-job");
    const cases: [string[], string][] = [
      [["pull"], "vault pull ci"],
      [["pull", "-"], "vault pull ci -"],
      [["run", "--", "npm", "test"], "vault run --env ci -- npm test"],
      [["export"], "vault export --env ci"],
      [["get", "CI"], "vault get CI --env ci"],
    ];
    for (const [args, example] of cases) {
      const r = await c.cli(args, { cwd, env, config: join(c.dir("h"), "v") });
      expect(r.code, args.join(" ")).toBe(3);
      expect(r.stderr).toContain(
        `vault: hint: development is the default; this token reads ci: ${example}\n`,
      );
    }
    // A write on the default names the environments it may write: none, for this read-only token.
    const set = await c.cli(["set", "X=1"], { cwd, env });
    expect(set.code).toBe(3);
    expect(set.stderr).not.toContain("is the default");
    const writer = (await api.tokens.create(projectId, { name: "w", environments: ["ci"], write: true }))
      .token;
    const w = await c.cli(["set", "X=1"], { cwd, env: { VAULT_TOKEN: writer, VAULT_SERVER: c.url } });
    expect(w.code).toBe(3);
    expect(w.stderr).toContain(
      "vault: hint: development is the default; this token writes ci: vault set KEY=VALUE --env ci\n",
    );
    // An explicit environment it cannot read gets no such guess.
    const named = await c.cli(["pull", "staging"], { cwd, env });
    expect(named.code).toBe(3);
    expect(named.stderr).not.toContain("is the default");
    expect(await c.ok(["pull", "ci", "-"], { cwd, env })).toBe("CI=1\n");
  });
});

describe("vault audit", () => {
  it("shows environment names and emails, not ids", async () => {
    const bob = await c.h.user("bob@example.com", "member");
    await c.ok(["members", "add", "bob@example.com"], { config, cwd: checkout });
    await c.ok(["members", "grant", "bob@example.com", "staging=read"], { config, cwd: checkout });
    const out = await c.ok(["audit", "--limit", "200"], { config, cwd: checkout });
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SEQ\s+WHEN\s+ACTION\s+BY\s+ENV\s+FROM\s+DETAIL$/);
    const grant = lines.find((l) => l.includes("member.grant"))!;
    expect(grant).toMatch(
      /member\.grant\s+owner@example\.com\s+-\s+\S+\s+bob@example\.com \{"permissions":\{"staging":"read"\}\}/,
    );
    expect(out).not.toContain(bob.id);
    expect(lines.find((l) => l.includes("secrets.push"))).toMatch(
      /secrets\.push\s+owner@example\.com\s+(development|staging|ci|production)\s/,
    );
    expect(out).not.toMatch(/env_[0-9a-f]{8}/);
    // --all adds the project's name.
    const all = await c.ok(["audit", "--all", "--limit", "5"], { config, cwd: checkout });
    expect(all.split("\n")[0]).toMatch(/^SEQ\s+WHEN\s+ACTION\s+BY\s+PROJECT\s+ENV\s+FROM\s+DETAIL$/);
    expect(all).toContain(" shop ");
  });
});

describe("vault build", () => {
  it("a member's hint names an environment they can read, not production", async () => {
    await c.ok(["members", "grant", "bob@example.com", "staging=read"], { config, cwd: checkout });
    await c.ok(["set", "S=1", "--env", "staging"], { config, cwd: checkout });
    const bob = await c.h.request("POST", "/api/v1/auth/login", {
      body: { email: "bob@example.com", password: "correct horse battery staple" },
    });
    const bobConfig = c.signedIn({ token: bob.body.token, id: bob.body.user.id, email: "bob@example.com" });
    const d = c.dir("bob");
    await c.ok(["link", projectId], { config: bobConfig, cwd: d });
    const r = await c.cli(["build"], { config: bobConfig, cwd: d });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("built .env.vault with staging\n");
    expect(r.stderr).toBe("vault: staging opens it with its DOTENV_KEY: vault keys staging\n");
    // The owner, who reads production, still gets production.
    const own = await c.cli(["build"], { config, cwd: checkout });
    expect(own.stderr).toBe("vault: production opens it with its DOTENV_KEY: vault keys production\n");
  });
});
