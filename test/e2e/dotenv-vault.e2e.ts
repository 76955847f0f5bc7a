/**
 * The real dotenv-vault CLI (npm dotenv-vault 1.27.0, under Node) against
 * `vault serve` from the compiled binary, with `DOTENV_API_URL` pointing at
 * it and no terminal: new, login, push, pull (also name@N), versions, build,
 * keys, rotatekey, whoami and logout, with the browser steps (new, login,
 * logout) approved in a real headless Chromium that opens the URL the CLI
 * prints. Checks the files the CLI writes, its exit codes, and that its
 * .env.vault still points at this server after every command; that errors
 * print their code and suggestion and exit 2; that a credential of one
 * project cannot touch another; and that npm dotenv 16.4.7 and 17.4.2 open
 * the built .env.vault with the DOTENV_KEYs the CLI printed.
 *
 * The steps run in order and build on each other, like a person at a
 * terminal: one server, one browser, one project directory for the file.
 */
import { afterAll, beforeAll, describe, expect, it, mock, spyOn } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import dotenv17 from "dotenv";
import dotenv16 from "dotenv16";
import type { Browser, Page } from "playwright-core";
import { makeTempDir } from "../helpers/binary";
import { approve, launchBrowser, newContext, signIn } from "../helpers/browser";
import { type CliHome, type CliResult, cliHome, dotenvVault } from "../helpers/dotenv-vault-cli";
import { stopAllServers } from "../helpers/serve";
import { startVaultServer, type VaultServer } from "../helpers/vault-server";

const OWNER = "owner@example.com";
const PASSWORD = "correct horse battery staple";
const PROJECT = "my-shop";

const DEV_V1 = "# development, first push\nDATABASE_URL=postgres://localhost/dev\nAPI_TOKEN=dev-token-1\n";
const DEV_V2 =
  "# development, second push\nDATABASE_URL=postgres://localhost/dev\nAPI_TOKEN=dev-token-2\nexport DEBUG='true'\n";
const PROD = 'STRIPE_KEY="sk_live_0123456789"\nWELCOME="Hello\\nworld"\nMULTI="one\ntwo"\nEMPTY=\n';
const PROD_VARS = { STRIPE_KEY: "sk_live_0123456789", WELCOME: "Hello\nworld", MULTI: "one\ntwo", EMPTY: "" };
const DEV_V2_VARS = { DATABASE_URL: "postgres://localhost/dev", API_TOKEN: "dev-token-2", DEBUG: "true" };

/** What `dotenv-vault new` writes (its template, dotenv-vault 1.27.0 dist/services/new-service.js). */
const newVaultFile = (vlt: string, apiUrl: string) => `#/-------------------.env.vault---------------------/
#/         cloud-agnostic vaulting standard         /
#/   [how it works](https://dotenv.org/env-vault)   /
#/--------------------------------------------------/

#
# Hello 👋,
#
# Your environment variables will be encrypted and
# safely stored in this .env.vault file, after you
# run the login, push, and build commands.
#
# Next run:
#
# $ npx dotenv-vault@latest login
#
#
# You can safely commit this file to code.
#
# Enjoy. 🌴
#

#/----------------settings/metadata-----------------/
DOTENV_VAULT="${vlt}"
DOTENV_API_URL="${apiUrl}"
DOTENV_CLI="npx dotenv-vault@latest"
`;

/** What `dotenv-vault login` writes. */
const meFile = (me: string) => `#/!!!!!!!!!!!!!!!!!!!!.env.me!!!!!!!!!!!!!!!!!!!!!!!/
#/ credential file. DO NOT commit to source control /
#/    [how it works](https://dotenv.org/env-me)     /
#/--------------------------------------------------/

DOTENV_ME="${me}"
`;

interface Runtime {
  config(options: {
    path: string;
    DOTENV_KEY: string;
    processEnv: Record<string, string>;
    quiet?: boolean;
  }): {
    parsed?: Record<string, string>;
    error?: Error;
  };
}
const RUNTIMES = [
  ["dotenv 16.4.7", dotenv16 as unknown as Runtime],
  ["dotenv 17.4.2", dotenv17 as unknown as Runtime],
] as const;

let srv: VaultServer;
let browser: Browser;
let page: Page;
let root: string;
let home: CliHome;
let dir: string;
/** The project the CLI created, and the credential it got. */
let vlt = "";
let me = "";
let productionKey = "";
const commands: string[] = [];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const file = (name: string, base = dir) => readFileSync(join(base, name), "utf8");
const write = (name: string, text: string, base = dir) => writeFileSync(join(base, name), text);

function settings(text: string): Record<string, string> {
  return dotenv17.parse(text);
}

/**
 * Runs one CLI command in the project directory with DOTENV_API_URL set (as
 * a user pointing the CLI at their server does), then checks that the
 * project's .env.vault still names this project and this server.
 */
async function cli(
  args: string[],
  options: { onUrl?: (url: string) => Promise<void>; env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  commands.push(args.join(" "));
  const result = await dotenvVault(args, {
    cwd: options.cwd ?? dir,
    env: { ...home.env, DOTENV_API_URL: srv.url, ...options.env },
    onUrl: options.onUrl,
  });
  if (vlt && (options.cwd ?? dir) === dir) {
    const kept = settings(file(".env.vault"));
    expect({
      after: args.join(" "),
      DOTENV_VAULT: kept.DOTENV_VAULT,
      DOTENV_API_URL: kept.DOTENV_API_URL,
    }).toEqual({ after: args.join(" "), DOTENV_VAULT: vlt, DOTENV_API_URL: srv.url });
  }
  return result;
}

/** A command that must succeed: exit code 0, and its output when it did not. */
function expectOk(result: CliResult): void {
  expect({
    code: result.code,
    stderr: result.code === 0 ? "" : result.stderr,
    stdout: result.code === 0 ? "" : result.stdout,
  }).toEqual({
    code: 0,
    stderr: "",
    stdout: "",
  });
}

/** The protocol's error as the CLI shows it: exit code 2, the code and the first suggestion on stdout, the message on stderr. */
function expectProtocolError(result: CliResult, code: string): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toContain("Aborted.");
  expect(result.stdout).toContain(`Code: ${code}\n`);
  expect(result.stdout).toMatch(/^Suggestion: \S.*$/m);
  expect(result.stderr).toMatch(/Error: \S/);
}

function open(runtime: Runtime, vaultFile: string, key: string): Record<string, string> {
  const log = spyOn(console, "log").mockImplementation(() => {});
  const error = spyOn(console, "error").mockImplementation(() => {});
  try {
    const result = runtime.config({ path: vaultFile, DOTENV_KEY: key, processEnv: {}, quiet: true });
    if (result.error) throw result.error;
    return result.parsed ?? {};
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

beforeAll(async () => {
  root = makeTempDir("vault-e2e-dotenv-vault-");
  dir = join(root, PROJECT);
  mkdirSync(dir);
  mkdirSync(join(root, "home"));
  home = cliHome(join(root, "home"));
  srv = await startVaultServer();
  srv.addUser(OWNER, PASSWORD, "owner");
  browser = await launchBrowser();
  const context = await newContext(browser);
  page = await context.newPage();
  const signedIn = await signIn(page, srv.url, OWNER, PASSWORD);
  if (signedIn.status !== 303) throw new Error(`signing in answered ${signedIn.status}: ${signedIn.error}`);
}, 60_000);

afterAll(async () => {
  mock.restore();
  await browser?.close();
  await stopAllServers();
  srv?.vault.remove();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("dotenv-vault 1.27.0 against the compiled server", () => {
  it("new: the browser approves the project, and .env.vault holds its id and this server's URL", async () => {
    const result = await cli(["new", "--yes"], {
      onUrl: async (url) => {
        expect(url).toMatch(
          new RegExp(`^${escapeRegExp(srv.url)}/new\\?project_name=${PROJECT}&request_uid=req_[0-9a-f]{64}$`),
        );
        const done = await approve(page, url);
        expect(done).toMatchObject({ status: 200, heading: "Project created" });
        expect(done.text).toContain(`The project ${PROJECT} is ready`);
      },
    });
    expectOk(result);
    // It tried to open the page itself; the stub opener only wrote it down.
    expect(home.opened()).toEqual([result.url!]);
    vlt = settings(file(".env.vault")).DOTENV_VAULT ?? "";
    expect(vlt).toMatch(/^vlt_[0-9a-f]{64}$/);
    expect(file(".env.vault")).toBe(newVaultFile(vlt, srv.url));
    expect(result.stdout).toContain(`Added to .env.vault (DOTENV_VAULT=${vlt.slice(0, 9)}...)`);
  }, 40_000);

  it("login: the browser approves, and .env.me holds a me_ credential for this project", async () => {
    const result = await cli(["login", "--yes"], {
      onUrl: async (url) => {
        expect(url).toMatch(
          new RegExp(`^${escapeRegExp(srv.url)}/login\\?DOTENV_VAULT=${vlt}&requestUid=req_[0-9a-f]{64}$`),
        );
        expect(await approve(page, url)).toMatchObject({ status: 200, heading: "Login approved" });
      },
    });
    expectOk(result);
    me = settings(file(".env.me")).DOTENV_ME ?? "";
    expect(me).toMatch(/^me_[0-9a-f]{64}$/);
    expect(file(".env.me")).toBe(meFile(me));
    expect(result.stdout).toContain(`Created .env.me (DOTENV_ME=${me.slice(0, 9)}...)`);
  }, 40_000);

  it("push: .env becomes development v1, then v2, and the .env.vault it writes back keeps its settings", async () => {
    write(".env", DEV_V1);
    const first = await cli(["push"]);
    expectOk(first);
    expect(first.stdout).toContain("Securely pushed development (.env)");
    expect(first.stdout).toContain("Securely built vault (.env.vault)");
    expect(settings(file(".env.vault"))).toMatchObject({
      DOTENV_VAULT_DEVELOPMENT_VERSION: "1",
      DOTENV_CLI: "npx dotenv-vault@1.27.0",
    });
    write(".env", DEV_V2);
    expectOk(await cli(["push"]));
    expect(settings(file(".env.vault")).DOTENV_VAULT_DEVELOPMENT_VERSION).toBe("2");
    expect(file(".env")).toBe(DEV_V2);
  }, 30_000);

  it("push production: .env.production becomes production v1", async () => {
    write(".env.production", PROD);
    const result = await cli(["push", "production"]);
    expectOk(result);
    expect(result.stdout).toContain("Securely pushed production (.env.production)");
    expect(settings(file(".env.vault")).DOTENV_VAULT_PRODUCTION_VERSION).toBe("1");
  }, 30_000);

  it("pull: writes the latest development file byte for byte, keeping the local one as .env.previous", async () => {
    write(".env", "LOCAL_EDIT=1\n");
    const result = await cli(["pull"]);
    expectOk(result);
    expect(result.stdout).toContain("Securely pulled development (.env)");
    expect(file(".env")).toBe(DEV_V2);
    expect(file(".env.previous")).toBe("LOCAL_EDIT=1\n");
  }, 30_000);

  it("pull production: writes .env.production byte for byte", async () => {
    rmSync(join(dir, ".env.production"));
    const result = await cli(["pull", "production"]);
    expectOk(result);
    expect(result.stdout).toContain("Securely pulled production (.env.production)");
    expect(file(".env.production")).toBe(PROD);
  }, 30_000);

  it("pull development@1: writes the first version into .env", async () => {
    const result = await cli(["pull", "development@1"]);
    expectOk(result);
    expect(file(".env")).toBe(DEV_V1);
    expect(file(".env.previous")).toBe(DEV_V2);
  }, 30_000);

  it("versions: lists development's versions, newest first, with what changed and who changed it", async () => {
    const result = await cli(["versions"]);
    expectOk(result);
    const rows = result.stdout
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => /^\d+ /.test(line));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^2\s+added DEBUG; changed API_TOKEN\s+owner@example\.com\s+\d{4}-\d\d-\d\dT/);
    expect(rows[1]).toMatch(/^1\s+added .*API_TOKEN.*\s+owner@example\.com\s+\d{4}-/);
    expect(result.stdout).toContain("Pull a version with npx dotenv-vault@1.27.0 pull development@2");
  }, 30_000);

  it("build: writes a .env.vault with every pushed environment at its latest version", async () => {
    const result = await cli(["build"]);
    expectOk(result);
    expect(result.stdout).toContain("Securely built .env.vault");
    const built = settings(file(".env.vault"));
    expect(built).toMatchObject({
      DOTENV_VAULT_DEVELOPMENT_VERSION: "2",
      DOTENV_VAULT_PRODUCTION_VERSION: "1",
      DOTENV_CLI: "npx dotenv-vault@1.27.0",
    });
    expect(built.DOTENV_VAULT_PRODUCTION).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
  }, 30_000);

  it("keys: lists a DOTENV_KEY for each environment; keys production prints only production's", async () => {
    const all = await cli(["keys"]);
    expectOk(all);
    const keys = Object.fromEntries(
      [...all.stdout.matchAll(/^\s*(\w+)\s+(dotenv:\/\/\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(Object.keys(keys)).toEqual(["development", "ci", "staging", "production"]);
    const host = new URL(srv.url).host;
    for (const [env, key] of Object.entries(keys)) {
      expect(key).toMatch(
        new RegExp(
          `^dotenv://:key_[0-9a-f]{64}@${escapeRegExp(host)}/vault/\\.env\\.vault\\?environment=${env}$`,
        ),
      );
    }
    expect(new Set(Object.values(keys)).size).toBe(4);

    const one = await cli(["keys", "production"]);
    expectOk(one);
    expect(one.stdout).toBe(`${keys.production}\n`);
    productionKey = keys.production!;

    for (const [name, runtime] of RUNTIMES) {
      expect({ name, vars: open(runtime, join(dir, ".env.vault"), productionKey) }).toEqual({
        name,
        vars: PROD_VARS,
      });
      expect({ name, vars: open(runtime, join(dir, ".env.vault"), keys.development!) }).toEqual({
        name,
        vars: DEV_V2_VARS,
      });
    }
  }, 30_000);

  it("rotatekey production -y: prints a new key and the overlap; the rebuilt file opens with it and not with the old one", async () => {
    const before = file(".env.vault");
    const result = await cli(["rotatekey", "production", "-y"]);
    expectOk(result);
    expect(file(".env.vault")).toBe(before);
    const fresh = /^(dotenv:\/\/\S+)$/m.exec(result.stdout)?.[1] ?? "";
    expect(fresh).toMatch(/^dotenv:\/\/:key_[0-9a-f]{64}@.+\?environment=production$/);
    expect(fresh).not.toBe(productionKey);
    expect(result.stdout).toContain(`DOTENV_KEY='${productionKey},${fresh}'`);

    const listed = await cli(["keys", "production"]);
    expect(listed.stdout).toBe(`${fresh}\n`);

    write("previous.env.vault", before);
    expectOk(await cli(["build"]));
    for (const [name, runtime] of RUNTIMES) {
      expect({ name, vars: open(runtime, join(dir, ".env.vault"), fresh) }).toEqual({
        name,
        vars: PROD_VARS,
      });
      expect({ name, vars: open(runtime, join(dir, ".env.vault"), `${productionKey},${fresh}`) }).toEqual({
        name,
        vars: PROD_VARS,
      });
      expect({
        name,
        vars: open(runtime, join(dir, "previous.env.vault"), `${productionKey},${fresh}`),
      }).toEqual({
        name,
        vars: PROD_VARS,
      });
      expect(() => open(runtime, join(dir, ".env.vault"), productionKey)).toThrow();
    }
  }, 30_000);

  it("whoami: prints the signed-in email, also when only .env.vault says where the server is", async () => {
    const result = await cli(["whoami"]);
    expectOk(result);
    expect(result.stdout).toBe(`${OWNER}\n`);
    // No DOTENV_API_URL in the environment: the CLI finds this server in .env.vault.
    expect(home.env.DOTENV_API_URL).toBeUndefined();
    const fromFile = await dotenvVault(["whoami"], { cwd: dir, env: home.env });
    expectOk(fromFile);
    expect(fromFile.stdout).toBe(`${OWNER}\n`);
  }, 30_000);

  it("answers an unknown environment with the protocol's error: its code and suggestion printed, exit code 2, no file touched", async () => {
    const env = file(".env");
    const result = await cli(["pull", "nowhere"]);
    expectProtocolError(result, "NOT_FOUND");
    expect(result.stdout).toContain("Suggestion: environments: development, ci, staging, production\n");
    expect(result.stderr).toContain('Error: no environment "nowhere" in this project');
    expect(file(".env")).toBe(env);
    const old = await cli(["pull", "development@99"]);
    expectProtocolError(old, "NOT_FOUND");
    expect(old.stdout).toContain("Suggestion: versions run from 1 to 2\n");
    expect(old.stderr).toContain("Error: development has no version 99");
    expect(file(".env")).toBe(env);
  }, 30_000);

  it("refuses a credential of another project on every verb, with exit code 2", async () => {
    const token = await srv.apiLogin(OWNER, PASSWORD);
    const other = (await srv.api(token, "POST", "/api/v1/projects", { name: "other" })).id as string;
    const otherMe = (await srv.api(token, "POST", `/api/v1/projects/${other}/me`)).token as string;
    expect(otherMe).toMatch(/^me_[0-9a-f]{64}$/);

    // It is a working credential, for its own project.
    const otherDir = join(root, "other");
    mkdirSync(otherDir);
    write(".env.vault", `DOTENV_VAULT="${other}"\nDOTENV_API_URL="${srv.url}"\n`, otherDir);
    const own = await cli(["whoami", `--dotenvMe=${otherMe}`], { cwd: otherDir });
    expectOk(own);

    const env = file(".env");
    for (const args of [
      ["pull"],
      ["push"],
      ["pull", "production"],
      ["keys"],
      ["versions"],
      ["build"],
      ["whoami"],
    ]) {
      const result = await cli([...args, `--dotenvMe=${otherMe}`]);
      expect({ args, code: result.code, code_line: /^Code: (\S+)$/m.exec(result.stdout)?.[1] }).toEqual({
        args,
        code: 2,
        code_line: "PROJECT_NOT_FOUND",
      });
    }
    // The same through .env.me, as when the file is copied from another project's directory.
    write(".env.me", meFile(otherMe));
    try {
      const copied = await cli(["pull"]);
      expectProtocolError(copied, "PROJECT_NOT_FOUND");
    } finally {
      write(".env.me", meFile(me));
    }
    expect(file(".env")).toBe(env);
    const versions = await cli(["versions"]);
    expect(versions.stdout).toContain("development@2");
  }, 60_000);

  it("logout: the browser approves, the CLI reports the revoked credential, and the old me_ no longer works", async () => {
    const result = await cli(["logout", "--yes"], {
      onUrl: async (url) => {
        expect(url).toMatch(
          new RegExp(`^${escapeRegExp(srv.url)}/logout\\?DOTENV_VAULT=${vlt}&requestUid=req_[0-9a-f]{64}$`),
        );
        const done = await approve(page, url);
        expect(done).toMatchObject({ status: 200, heading: "Signed out" });
        expect(done.text).toContain("Revoked 1 credential for this project.");
      },
    });
    expectOk(result);
    expect(result.stdout).toContain(`Revoked .env.me (DOTENV_ME=${me.slice(0, 9)}...)`);
    expect(file(".env.me")).toBe(meFile(me));

    const after = await cli(["whoami"]);
    expectProtocolError(after, "INVALID_DOTENV_ME");
    expect(after.stderr).toContain("Error: the credential in .env.me is not valid here");
    const env = file(".env");
    expectProtocolError(await cli(["pull"]), "INVALID_DOTENV_ME");
    expect(file(".env")).toBe(env);
  }, 40_000);

  it("kept .env.vault pointing at this server after every command", () => {
    expect(commands.length).toBeGreaterThanOrEqual(25);
    expect(settings(file(".env.vault"))).toMatchObject({ DOTENV_VAULT: vlt, DOTENV_API_URL: srv.url });
  });
});
