/**
 * The client commands of the compiled binary, run alone from temporary
 * directories against one `vault serve` started here: sign-in, linking,
 * push/pull with conflicts, keys, diff, versions, export, members, tokens
 * (the CI flow), audit, `.env.vault`, and their failures.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { COMMANDS } from "../../src/cli";
import { parse as parseDotenv, readEnvVaultSettings } from "../../src/dotenv";
import { cleanEnv } from "../helpers/binary";
import { waitFor } from "../helpers/proc";
import { stopAllServers } from "../helpers/serve";
import { selfSignedCert } from "../helpers/tls";
import { sh, startTmux } from "../tui/tmux";
import { type Cli, PASSWORD, startCli } from "./cli-fixture";

let cli: Cli;
let owner: string; // the owner's config directory
let checkout: string; // a linked working directory
let projectId: string;

const FILE = [
  "# database",
  "DB_HOST=localhost",
  "DB_PASS='p@ss w0rd # not a comment'",
  "",
  'API_KEY="sk_live_123"',
  "",
].join("\n");

beforeAll(async () => {
  cli = await startCli();
  cli.addUser("owner@example.com", "owner");
  cli.addUser("bob@example.com", "member");
});

afterAll(async () => {
  await stopAllServers();
  cli?.vault.remove();
});

describe("vault help", () => {
  it("prints usage for every client command with --help and with vault help CMD", () => {
    for (const name of [
      "login",
      "push",
      "pull",
      "run",
      "export",
      "members add",
      "tokens create",
      "completion",
    ]) {
      const a = cli.run([...name.split(" "), "--help"]);
      expect(a.code).toBe(0);
      expect(a.stdout).toStartWith(`Usage: vault ${name}`);
      expect(cli.ok(["help", ...name.split(" ")])).toBe(a.stdout);
    }
    const help = cli.ok(["--help"]);
    for (const c of COMMANDS.filter((c) => !c.hidden)) expect(help).toContain(`  ${c.name} `);
  });
});

describe("vault completion", () => {
  it("prints a bash script that completes commands and flags from the binary's table", () => {
    const script = join(cli.dir("completion"), "vault.bash");
    writeFileSync(script, cli.ok(["completion", "bash"]));
    const probe = `source ${script}; COMP_WORDS=(vault tokens ""); COMP_CWORD=2; _vault; echo "\${COMPREPLY[*]}"
COMP_WORDS=(vault run --no); COMP_CWORD=2; _vault; echo "\${COMPREPLY[*]}"`;
    const out = spawnSync("bash", ["-c", probe], { encoding: "utf8" });
    expect(out.stdout).toBe("create list revoke\n\n");
    expect(cli.run(["completion", "tcsh"]).code).toBe(2);
  });
});

/** A browser's cookie jar over fetch: sign in on the web page, then browse (no redirects followed). */
async function browserAs(email: string) {
  const jar = new Map<string, string>();
  const browse = async (path: string, form?: Record<string, string>) => {
    const res = await fetch(path.startsWith("http") ? path : `${cli.url}${path}`, {
      method: form ? "POST" : "GET",
      redirect: "manual",
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair!.indexOf("=");
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return { status: res.status, text: await res.text() };
  };
  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const signin = await browse("/signin");
  await browse("/signin", { csrf: csrfOf(signin.text), email, password: PASSWORD, next: "/" });
  return { browse, csrfOf };
}

describe("vault login, whoami, logout", () => {
  it("refuses a wrong password with exit code 3 and no session saved", () => {
    const config = join(cli.dir("config"), "vault");
    const r = cli.run(["login", cli.url, "--email", "owner@example.com", "--password-stdin"], {
      config,
      input: "not the password\n",
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toStartWith("vault: error: wrong email or password\n");
    expect(r.stderr).not.toContain("not the password");
    expect(existsSync(join(config, "sessions.json"))).toBe(false);
  });

  it("signs in, stores the session 0600 in a 0700 directory, and whoami names the user", () => {
    owner = cli.login("owner@example.com");
    expect(statSync(owner).mode & 0o777).toBe(0o700);
    expect(statSync(join(owner, "sessions.json")).mode & 0o777).toBe(0o600);
    const session = JSON.parse(readFileSync(join(owner, "sessions.json"), "utf8"));
    expect(session.current).toBe(cli.url);
    expect(session.sessions[cli.url].email).toBe("owner@example.com");
    expect(cli.ok(["whoami"], { config: owner })).toBe(
      `owner@example.com (owner) on ${cli.url} (from session)\n`,
    );
    const json = JSON.parse(cli.ok(["whoami", "--json"], { config: owner }));
    expect(json).toMatchObject({ kind: "session", source: "session", user: { email: "owner@example.com" } });
  });

  it("asks for a new password after a one-time one: the second line of --password-stdin", () => {
    const made = cli.ok(["admin", "user", "add", "carol@example.com", "--data", cli.data]);
    const otp = /one-time password: (\S+)/.exec(made)![1]!;
    const config = join(cli.dir("config"), "vault");
    const without = cli.run(["login", cli.url, "--email", "carol@example.com", "--password-stdin"], {
      config,
      input: `${otp}\n`,
    });
    expect(without.code).toBe(3);
    expect(without.stderr).toContain("must choose a new password");
    const r = cli.run(["login", cli.url, "--email", "carol@example.com", "--password-stdin"], {
      config,
      input: `${otp}\nmy new long passphrase\n`,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("password changed");
    cli.login("carol@example.com", { password: "my new long passphrase" });
  });

  it("vault admin user disable, then enable: the password is refused while disabled and works again after", () => {
    const login = () =>
      cli.run(["login", cli.url, "--email", "carol@example.com", "--password-stdin"], {
        config: join(cli.dir("config"), "vault"),
        input: "my new long passphrase\n",
      });
    expect(cli.ok(["admin", "user", "disable", "carol@example.com", "--data", cli.data])).toContain(
      "disabled carol@example.com",
    );
    expect(login().code).not.toBe(0);
    expect(cli.ok(["admin", "user", "enable", "carol@example.com", "--data", cli.data])).toContain(
      "enabled carol@example.com",
    );
    expect(login().code).toBe(0);
  });

  it("--browser prints an approval page and a code that is not in it, and signs in once the user types the code there", async () => {
    const config = join(cli.dir("config"), "vault");
    const proc = Bun.spawn([cli.vault.bin, "login", cli.url, "--browser", "--no-open"], {
      cwd: cli.vault.dir,
      env: cleanEnv(cli.vault.dir, { VAULT_CONFIG_DIR: config }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    let err = "";
    const reading = (async () => {
      for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
    })();
    const url = await waitFor(
      "the approval URL",
      () => /(http:\S+\/cli\/approve\?request=req_[0-9a-f]{64})/.exec(err)?.[1],
      {
        timeoutMs: 10_000,
      },
    );
    // A browser: sign in on the web page, then approve the request.
    const jar = new Map<string, string>();
    const browse = async (path: string, form?: Record<string, string>) => {
      const res = await fetch(path.startsWith("http") ? path : `${cli.url}${path}`, {
        method: form ? "POST" : "GET",
        redirect: "manual",
        headers: {
          cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
          ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        },
        body: form ? new URLSearchParams(form).toString() : undefined,
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const eq = pair!.indexOf("=");
        jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
      }
      return { status: res.status, text: await res.text() };
    };
    const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const signin = await browse("/signin");
    await browse("/signin", {
      csrf: csrfOf(signin.text),
      email: "owner@example.com",
      password: PASSWORD,
      next: "/",
    });
    // The code is shown in the terminal only: not in the URL, nor on the page.
    const code = await waitFor("the verification code", () => /\n {2}([A-Z]{4}-[A-Z]{4})\n/.exec(err)?.[1], {
      timeoutMs: 10_000,
    });
    expect(code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(url).not.toContain(code.replace("-", ""));
    const page = await browse(url);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(code);
    expect(page.text).toContain("Where this request came from");
    const request = /request=(req_[0-9a-f]{64})/.exec(url)![1]!;
    const wrong = await browse("/cli/approve", { csrf: csrfOf(page.text), request, code: "BBBB-BBBB" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("wrong code: 4 attempts left");
    expect((await browse("/cli/approve", { csrf: csrfOf(page.text), request, code })).status).toBeLessThan(
      400,
    );
    expect(await proc.exited).toBe(0);
    await reading;
    expect(cli.ok(["whoami"], { config })).toBe(`owner@example.com (owner) on ${cli.url} (from session)\n`);
  });

  it("--browser stops when the page refused the request after five wrong codes, and says why", async () => {
    const config = join(cli.dir("config"), "vault");
    const proc = Bun.spawn([cli.vault.bin, "login", cli.url, "--browser", "--no-open"], {
      cwd: cli.vault.dir,
      env: cleanEnv(cli.vault.dir, { VAULT_CONFIG_DIR: config }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    let err = "";
    const reading = (async () => {
      for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
    })();
    const request = await waitFor(
      "the request id",
      () => /cli\/approve\?request=(req_[0-9a-f]{64})/.exec(err)?.[1],
      {
        timeoutMs: 10_000,
      },
    );
    const web = await browserAs("owner@example.com");
    const page = await web.browse(`/cli/approve?request=${request}`);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await web.browse("/cli/approve", { csrf: web.csrfOf(page.text), request, code: "BBBB-BBBB" });
    }
    expect(await proc.exited).toBe(3);
    await reading;
    expect(err).toContain(
      "vault: error: the sign-in request ended: the sign-in was refused: its code was typed wrong too many times on the page\n",
    );
    expect(err).toContain("vault: hint: run vault login --browser again\n");
    expect(existsSync(join(config, "sessions.json"))).toBe(false);
  });

  it("sends no password to a server named only by a checkout's .env.vault when there is no terminal to show it on", () => {
    const checkout = cli.dir("linked");
    writeFileSync(
      join(checkout, ".env.vault"),
      `DOTENV_VAULT="vlt_${"a".repeat(64)}"\nDOTENV_API_URL="${cli.url}"\n`,
    );
    const config = join(cli.dir("config"), "vault");
    const refused = cli.run(["login", "--email", "owner@example.com", "--password-stdin"], {
      cwd: checkout,
      config,
      input: `${PASSWORD}\n`,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`the server ${cli.url} comes only from .env.vault`);
    expect(refused.stderr).toContain(`vault: hint: name it: vault login ${cli.url}\n`);
    expect(existsSync(join(config, "sessions.json"))).toBe(false);
    // Named, the same sign-in works; and from then on the checkout's server is one signed in to before.
    expect(
      cli.run(["login", cli.url, "--email", "owner@example.com", "--password-stdin"], {
        cwd: checkout,
        config,
        input: `${PASSWORD}\n`,
      }).code,
    ).toBe(0);
    const again = cli.run(["login", "--email", "owner@example.com", "--password-stdin"], {
      cwd: checkout,
      config,
      input: `${PASSWORD}\n`,
    });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("the server comes from DOTENV_API_URL in .env.vault");
  });

  it("takes the login URL of a page copied from the browser (with a path and a query) as the server's origin", () => {
    const config = join(cli.dir("config"), "vault");
    const r = cli.run(
      [
        "login",
        `${cli.url}/cli/approve?request=req_${"0".repeat(64)}`,
        "--email",
        "owner@example.com",
        "--password-stdin",
      ],
      { config, input: `${PASSWORD}\n` },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `vault: signing in to ${cli.url}: the server's address is its origin, without /cli/approve\n`,
    );
    expect(r.stdout).toStartWith(`signed in to ${cli.url} as owner@example.com`);
    expect(JSON.parse(readFileSync(join(config, "sessions.json"), "utf8")).current).toBe(cli.url);
  });

  it("refuses a login URL with a path where no vault server answers with a clear hint, not 'no such route'", () => {
    const r = cli.run(
      ["login", "http://127.0.0.1:9/some/path", "--email", "owner@example.com", "--password-stdin"],
      {
        config: join(cli.dir("c"), "v"),
        input: `${PASSWORD}\n`,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "vault: error: no vault server answers at http://127.0.0.1:9/some/path, nor at http://127.0.0.1:9\n" +
        "vault: hint: give the server's address without a path (vault login http://127.0.0.1:9), and check that the server runs\n",
    );
    expect(r.stderr).not.toContain("no such route");
  });

  it("checks the new-password rules right after the first entry, before asking for it again (a terminal, in tmux)", async () => {
    const made = cli.ok(["admin", "user", "add", "dave@example.com", "--data", cli.data]);
    const otp = /one-time password: (\S+)/.exec(made)![1]!;
    const config = join(cli.dir("config"), "vault");
    const env = cleanEnv(cli.vault.dir, { VAULT_CONFIG_DIR: config, TERM: "xterm-256color" });
    const assignments = Object.entries(env)
      .map(([k, v]) => `${k}=${sh(v)}`)
      .join(" ");
    const tmux = startTmux({
      name: "vault-login-password",
      columns: 120,
      rows: 30,
      command: `env -i ${assignments} ${sh(cli.vault.bin)} login ${sh(cli.url)} --email dave@example.com; echo "EXITED $?"; sleep 60`,
    });
    try {
      await tmux.until("Password:");
      await tmux.type(otp);
      await tmux.send("Enter");
      await tmux.until("New password:");
      await tmux.type("too short");
      await tmux.send("Enter");
      const refused = await tmux.until("use a longer passphrase");
      expect(refused).toContain(
        "vault: the password is shorter than 12 characters (use a longer passphrase); again",
      );
      expect(refused).not.toContain("New password again");
      await tmux.until(/; again\n+New password:/);
      await tmux.type("a long enough passphrase");
      await tmux.send("Enter");
      await tmux.until("New password again:");
      await tmux.type("a long enough passphrase");
      await tmux.send("Enter");
      const done = await tmux.until("EXITED");
      expect(done).toContain("vault: password changed");
      expect(done).toContain("signed in to");
      expect(done).toContain("EXITED 0");
      for (const pane of tmux.captures) {
        expect(pane).not.toContain(otp);
        expect(pane).not.toContain("too short");
        expect(pane).not.toContain("a long enough passphrase");
      }
    } finally {
      tmux.kill();
    }
  }, 60_000);

  it("without a terminal and without --password-stdin, says how to sign in (exit code 2)", () => {
    const r = cli.run(["login", cli.url, "--email", "owner@example.com"], {
      config: join(cli.dir("c"), "v"),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--password-stdin");
  });

  it("logout revokes the session on the server, and then nothing is signed in", () => {
    const config = cli.login("owner@example.com");
    const token = JSON.parse(readFileSync(join(config, "sessions.json"), "utf8")).sessions[cli.url].token;
    expect(cli.ok(["logout"], { config })).toBe(`signed out of ${cli.url}\n`);
    const r = cli.run(["whoami"], { config, env: { VAULT_SERVER: cli.url } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`not signed in to ${cli.url}`);
    const revoked = cli.run(["whoami"], { config, env: { VAULT_SERVER: cli.url, VAULT_TOKEN: token } });
    expect(revoked.code).toBe(3);
  });

  it("with nothing configured, says which server is missing (exit code 2)", () => {
    const r = cli.run(["projects"], { config: join(cli.dir("c"), "v"), cwd: cli.dir("empty") });
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("vault: error: which server? none is configured here\n");
  });
});

describe("vault new, link, projects, envs", () => {
  it("new creates a project, writes .env.vault for dotenv-vault and ignores .env files in git", () => {
    checkout = cli.dir("app");
    writeFileSync(join(checkout, ".gitignore"), "node_modules\n");
    const out = cli.ok(["new", "shop"], { config: owner, cwd: checkout });
    expect(out).toContain('created project "shop"');
    const settings = readEnvVaultSettings(readFileSync(join(checkout, ".env.vault"), "utf8"));
    expect(settings.DOTENV_VAULT).toMatch(/^vlt_[0-9a-f]{64}$/);
    expect(settings.DOTENV_API_URL).toBe(cli.url);
    expect(settings.DOTENV_CLI).toBe("npx dotenv-vault@1.27.0");
    projectId = settings.DOTENV_VAULT!;
    expect(readFileSync(join(checkout, ".gitignore"), "utf8")).toBe("node_modules\n.env*\n!.env.vault\n");
    const again = cli.run(["new"], { config: owner, cwd: checkout });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain("already linked");
  });

  it("a command that needs a project says so where nothing is linked (exit code 2)", () => {
    const r = cli.run(["push"], { config: owner, cwd: cli.dir("unlinked") });
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("vault: error: no project is linked here\n");
    expect(r.stderr).toContain("vault link vlt_");
  });

  it("link writes the project into .env.vault, and refuses a project that does not exist (exit code 4)", () => {
    const other = cli.dir("other");
    expect(cli.ok(["link", projectId], { config: owner, cwd: other })).toContain(
      'linked this directory to "shop"',
    );
    expect(readEnvVaultSettings(readFileSync(join(other, ".env.vault"), "utf8")).DOTENV_VAULT).toBe(
      projectId,
    );
    const missing = cli.run(["link", `vlt_${"0".repeat(64)}`], { config: owner, cwd: cli.dir("x") });
    expect(missing.code).toBe(4);
    const bad = cli.run(["link", "vlt_nope"], { config: owner, cwd: cli.dir("x") });
    expect(bad.code).toBe(2);
  });

  it("projects lists the project, marked where it is linked; --json for scripts", () => {
    expect(cli.ok(["projects"], { config: owner, cwd: checkout })).toMatch(
      new RegExp(`${projectId}\\s+shop\\s+\\S+\\s+\\(linked here\\)`),
    );
    const list = JSON.parse(cli.ok(["projects", "--json"], { config: owner }));
    expect(list.map((p: { id: string }) => p.id)).toContain(projectId);
  });

  it("envs lists, adds and removes environments (removal needs --yes without a terminal)", () => {
    expect(cli.ok(["envs"], { config: owner, cwd: checkout })).toContain(
      "development  0        write   (main)",
    );
    cli.ok(["envs", "add", "qa"], { config: owner, cwd: checkout });
    expect(
      JSON.parse(cli.ok(["envs", "--json"], { config: owner, cwd: checkout })).map(
        (e: { name: string }) => e.name,
      ),
    ).toEqual(["development", "ci", "staging", "production", "qa"]);
    const unconfirmed = cli.run(["envs", "rm", "qa"], { config: owner, cwd: checkout });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("--yes");
    cli.ok(["envs", "rm", "qa", "--yes"], { config: owner, cwd: checkout });
    expect(cli.run(["envs", "add", "Bad-Name"], { config: owner, cwd: checkout }).code).toBe(2);
  });
});

describe("vault push, pull, get, set, unset", () => {
  it("pushes .env and pulls it back byte for byte into another checkout, 0600", () => {
    writeFileSync(join(checkout, ".env"), FILE);
    expect(cli.ok(["push"], { config: owner, cwd: checkout })).toBe(
      "pushed .env to development: version 1 (3 added, 0 changed, 0 removed)\n",
    );
    expect(cli.ok(["push"], { config: owner, cwd: checkout })).toContain("nothing pushed");
    const second = cli.dir("second");
    cli.ok(["link", projectId], { config: owner, cwd: second });
    expect(cli.ok(["pull"], { config: owner, cwd: second })).toBe("pulled development version 1 into .env\n");
    expect(readFileSync(join(second, ".env"), "utf8")).toBe(FILE);
    expect(statSync(join(second, ".env")).mode & 0o777).toBe(0o600);
  });

  it("a push over a newer version is a conflict (exit code 5) that says what changed and how to go on", () => {
    const a = cli.dir("a");
    const b = cli.dir("b");
    for (const d of [a, b]) {
      cli.ok(["link", projectId], { config: owner, cwd: d });
      cli.ok(["pull", "staging"], { config: owner, cwd: d });
    }
    writeFileSync(join(b, ".env.staging"), "FROM_B=1\nSHARED=b\n");
    cli.ok(["push", "staging"], { config: owner, cwd: b });
    writeFileSync(join(a, ".env.staging"), "FROM_A=1\n");
    const r = cli.run(["push", "staging"], { config: owner, cwd: a });
    expect(r.code).toBe(5);
    expect(r.stderr).toStartWith(
      "vault: error: staging changed on the server since this checkout last pulled or pushed it (you last had version 0; it is now at 1)\n",
    );
    expect(r.stderr).toContain("by owner@example.com; added FROM_B, SHARED");
    expect(r.stderr).toContain("vault: hint: compare with your file: vault diff staging .env.staging");
    expect(r.stderr).toContain("--force");
    expect(r.stderr).not.toContain("=b");
    // Pull keeps the local file as .previous; after it the push goes through.
    expect(cli.ok(["pull", "staging"], { config: owner, cwd: a })).toContain(
      "(the old file is .env.staging.previous)",
    );
    expect(readFileSync(join(a, ".env.staging.previous"), "utf8")).toBe("FROM_A=1\n");
    writeFileSync(join(a, ".env.staging"), "FROM_B=1\nSHARED=b\nFROM_A=1\n");
    expect(cli.ok(["push", "staging"], { config: owner, cwd: a })).toContain("version 2 (1 added");
    // --force replaces whatever is there.
    writeFileSync(join(b, ".env.staging"), "ONLY_B=1\n");
    expect(cli.run(["push", "staging"], { config: owner, cwd: b }).code).toBe(5);
    expect(cli.ok(["push", "staging", "--force"], { config: owner, cwd: b })).toContain("version 3");
  });

  it("--merge adds and updates the file's keys and keeps the others", () => {
    const d = cli.dir("merge");
    cli.ok(["link", projectId], { config: owner, cwd: d });
    cli.ok(["pull", "staging"], { config: owner, cwd: d });
    writeFileSync(join(d, "extra.env"), "MERGED=1\n");
    cli.ok(["push", "staging", "extra.env", "--merge"], { config: owner, cwd: d });
    const values = JSON.parse(
      cli.ok(["export", "--env", "staging", "--format", "json"], { config: owner, cwd: d }),
    );
    expect(values).toEqual({ ONLY_B: "1", MERGED: "1" });
  });

  it("pulls an old version with ENV@VERSION, to a named file or to stdout", () => {
    const d = cli.dir("old");
    cli.ok(["link", projectId], { config: owner, cwd: d });
    cli.ok(["pull", "staging@1", "v1.env"], { config: owner, cwd: d });
    expect(readFileSync(join(d, "v1.env"), "utf8")).toBe("FROM_B=1\nSHARED=b\n");
    expect(cli.ok(["pull", "staging@v2", "-"], { config: owner, cwd: d })).toBe(
      "FROM_B=1\nSHARED=b\nFROM_A=1\n",
    );
    const missing = cli.run(["pull", "staging@99"], { config: owner, cwd: d });
    expect(missing.code).toBe(4);
    expect(cli.run(["pull", "staging@0"], { config: owner, cwd: d }).code).toBe(2);
    expect(cli.run(["pull", "nope"], { config: owner, cwd: d }).code).toBe(4);
  });

  it("set, get and unset keys; a multi-line value comes from stdin with KEY -", () => {
    expect(cli.ok(["set", "A=1", "B=two words", "--env", "ci"], { config: owner, cwd: checkout })).toBe(
      "set 2 keys in ci: version 1 (2 added, 0 changed, 0 removed)\n",
    );
    const pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----";
    cli.ok(["set", "PEM", "-", "--env", "ci"], { config: owner, cwd: checkout, input: `${pem}\n` });
    expect(cli.ok(["get", "PEM", "--env", "ci"], { config: owner, cwd: checkout })).toBe(`${pem}\n`);
    expect(cli.ok(["get", "B", "--env", "ci"], { config: owner, cwd: checkout })).toBe("two words\n");
    expect(
      JSON.parse(cli.ok(["get", "B", "--env", "ci@1", "--json"], { config: owner, cwd: checkout })),
    ).toEqual({
      B: "two words",
    });
    const missing = cli.run(["get", "NOPE", "--env", "ci"], { config: owner, cwd: checkout });
    expect(missing.code).toBe(4);
    expect(cli.ok(["unset", "A", "--env", "ci"], { config: owner, cwd: checkout })).toBe(
      "removed A from ci: version 3\n",
    );
    expect(cli.run(["unset", "A", "--env", "ci"], { config: owner, cwd: checkout }).code).toBe(4);
    expect(cli.run(["set", "NOEQUALS", "--env", "ci"], { config: owner, cwd: checkout }).code).toBe(2);
    // A value from stdin that is not UTF-8 is refused, not stored as U+FFFD (issue 18).
    const latin1 = cli.run(["set", "NAME", "-", "--env", "ci"], {
      config: owner,
      cwd: checkout,
      input: Buffer.from("caf\xe9\n", "latin1"),
    });
    expect(latin1.code).toBe(2);
    expect(latin1.stderr).toStartWith(
      "vault: error: standard input is not valid UTF-8 (line 1, column 4: byte 0xe9)\n",
    );
    expect(cli.run(["set", "1BAD=x", "--env", "ci"], { config: owner, cwd: checkout }).code).toBe(2);
  });
});

describe("vault diff, versions, rollback", () => {
  it("diffs the server against the local file, masked unless --reveal, plain when piped", () => {
    writeFileSync(join(checkout, ".env"), `${FILE}NEW_KEY=brand-new\n`.replace("sk_live_123", "sk_live_456"));
    const masked = cli.ok(["diff"], { config: owner, cwd: checkout });
    expect(masked).toBe(
      "--- development@1\n+++ .env\n+ NEW_KEY\n~ API_KEY\n1 added, 1 changed, 0 removed, 2 the same (values hidden; --reveal shows them)\n",
    );
    expect(masked).not.toContain("\u001b[");
    const shown = cli.ok(["diff", "--reveal"], { config: owner, cwd: checkout });
    expect(shown).toContain("+ NEW_KEY=brand-new\n");
    expect(shown).toContain("- API_KEY=sk_live_123\n+ API_KEY=sk_live_456\n");
    const coloured = cli.ok(["diff"], { config: owner, cwd: checkout, env: { FORCE_COLOR: "1" } });
    expect(coloured).toContain("\u001b[32m+ NEW_KEY");
    expect(cli.ok(["diff"], { config: owner, cwd: checkout, env: { FORCE_COLOR: "1", NO_COLOR: "1" } })).toBe(
      masked,
    );
  });

  it("diffs two environments and two versions on the server; --json for scripts", () => {
    const envs = JSON.parse(cli.ok(["diff", "staging", "ci", "--json"], { config: owner, cwd: checkout }));
    expect(envs.from).toBe("staging@4");
    expect(envs.to).toBe("ci@3");
    expect(envs.added.sort()).toEqual(["B", "PEM"]);
    expect(envs.values).toBeUndefined();
    const versions = cli.ok(["diff", "staging@1", "staging@2"], { config: owner, cwd: checkout });
    expect(versions).toContain("+ FROM_A");
    const local = cli.ok(["diff", "staging", ".env"], { config: owner, cwd: checkout });
    expect(local).toContain("--- staging@4\n+++ .env\n");
    expect(cli.run(["diff", "missing.env"], { config: owner, cwd: checkout }).code).toBe(4);
  });

  it("lists versions newest first, and rollback makes a new version equal to an old one", () => {
    const table = cli.ok(["versions", "staging"], { config: owner, cwd: checkout });
    const lines = table.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^VERSION\s+WHEN\s+BY\s+KIND\s+CHANGES$/);
    expect(lines[1]).toMatch(/^4\s+\S+\s+owner@example\.com\s+merge\s+\+MERGED$/);
    const json = JSON.parse(cli.ok(["versions", "staging", "--json"], { config: owner, cwd: checkout }));
    expect(json.head).toBe(4);
    expect(cli.ok(["rollback", "staging@1"], { config: owner, cwd: checkout })).toContain(
      "staging is now version 5, equal to version 1",
    );
    expect(cli.ok(["pull", "staging", "-"], { config: owner, cwd: checkout })).toBe("FROM_B=1\nSHARED=b\n");
    expect(cli.run(["rollback", "staging"], { config: owner, cwd: checkout }).code).toBe(2);
    expect(cli.run(["rollback", "staging@42"], { config: owner, cwd: checkout }).code).toBe(4);
  });
});

describe("vault export", () => {
  it("prints every format so that its consumer reads the values back", () => {
    const hostile = 'it\'s $(echo pwned) `id` "q"\nline2';
    cli.ok(["set", "HOSTILE", "-", "--env", "production"], { config: owner, cwd: checkout, input: hostile });
    cli.ok(["set", "PLAIN=1", "--env", "production"], { config: owner, cwd: checkout });
    const want = { HOSTILE: hostile, PLAIN: "1" };
    const exp = (format: string) =>
      cli.ok(["export", "--env", "production", "--format", format], { config: owner, cwd: checkout });
    expect(JSON.parse(exp("json"))).toEqual(want);
    expect(parseDotenv(exp("dotenv"))).toEqual(want);
    expect(parseYaml(exp("yaml"))).toEqual(want);
    const sh = spawnSync("bash", ["-c", `${exp("shell")}\nprintf '%s' "$HOSTILE"`], { encoding: "utf8" });
    expect(sh.stdout).toBe(hostile);
    const secret = parseYaml(exp("k8s"));
    expect(secret.kind).toBe("Secret");
    expect(secret.metadata.name).toBe("vault-production");
    expect(Buffer.from(secret.data.HOSTILE, "base64").toString()).toBe(hostile);
    const docker = cli.run(["export", "--env", "production", "--format", "docker"], {
      config: owner,
      cwd: checkout,
    });
    expect(docker.code).toBe(1);
    expect(docker.stderr).toContain("HOSTILE");
    expect(docker.stderr).not.toContain("pwned");
    expect(docker.stdout).toBe("");
    expect(cli.run(["export", "--format", "xml"], { config: owner, cwd: checkout }).code).toBe(2);
  });
});

describe("vault members", () => {
  it("adds a member who sees only what is granted, and removes them", () => {
    const bob = cli.login("bob@example.com");
    const bobDir = cli.dir("bob");
    // Linked by someone who can see the project: bob cannot yet.
    cli.ok(["link", projectId], { config: owner, cwd: bobDir });
    expect(cli.run(["link", projectId], { config: bob, cwd: cli.dir("bob2") }).code).toBe(4);
    expect(cli.run(["pull"], { config: bob, cwd: bobDir }).code).toBe(4);
    cli.ok(["members", "add", "bob@example.com", "development=read"], { config: owner, cwd: checkout });
    expect(cli.ok(["members", "list"], { config: owner, cwd: checkout })).toMatch(
      /bob@example\.com\s+member\s+read\s+none\s+none\s+none/,
    );
    expect(cli.ok(["pull"], { config: bob, cwd: bobDir })).toContain("pulled development version 1");
    writeFileSync(join(bobDir, ".env"), "X=1\n");
    const refused = cli.run(["push", "--force"], { config: bob, cwd: bobDir });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("no write access to development");
    expect(cli.run(["pull", "staging"], { config: bob, cwd: bobDir }).code).toBe(3);
    cli.ok(["members", "grant", "bob@example.com", "staging=write"], { config: owner, cwd: checkout });
    expect(cli.ok(["pull", "staging"], { config: bob, cwd: bobDir })).toContain("pulled staging");
    const members = JSON.parse(cli.ok(["members", "list", "--json"], { config: owner, cwd: checkout }));
    expect(members.find((m: { email: string }) => m.email === "bob@example.com").permissions.staging).toBe(
      "write",
    );
    expect(cli.run(["members", "add", "nobody@example.com"], { config: owner, cwd: checkout }).code).toBe(4);
    expect(
      cli.run(["members", "grant", "bob@example.com", "staging=admin"], { config: owner, cwd: checkout })
        .code,
    ).toBe(2);
    expect(cli.run(["members", "list"], { config: bob, cwd: bobDir }).code).toBe(0);
    expect(cli.run(["members", "add", "carol@example.com"], { config: bob, cwd: bobDir }).code).toBe(3);
    cli.ok(["members", "rm", "bob@example.com"], { config: owner, cwd: checkout });
    expect(cli.run(["pull"], { config: bob, cwd: bobDir }).code).toBe(4);
  });
});

describe("vault tokens: the CI flow", () => {
  let token: string;

  it("tokens create prints the token once on stdout; list never shows it", () => {
    const r = cli.run(["tokens", "create", "ci-bot", "--env", "ci"], { config: owner, cwd: checkout });
    expect(r.code).toBe(0);
    token = r.stdout.trim();
    expect(token).toMatch(/^vst_[0-9a-f]{64}$/);
    expect(r.stderr).toContain("read-only on ci");
    const list = cli.ok(["tokens", "list"], { config: owner, cwd: checkout });
    expect(list).toMatch(/tok_[0-9a-f]{24}\s+ci-bot\s+ci\s+read-only\s+active/);
    expect(list).not.toContain(token);
    expect(cli.ok(["tokens", "list", "--json"], { config: owner, cwd: checkout })).not.toContain(token);
  });

  it("VAULT_TOKEN=... vault pull ci works in a clean directory, and push with it is refused", () => {
    const clean = cli.dir("ci-job");
    const env = { VAULT_TOKEN: token, VAULT_SERVER: cli.url };
    const config = join(cli.dir("ci-home"), "vault");
    expect(cli.ok(["pull", "ci"], { cwd: clean, env, config })).toBe("pulled ci version 3 into .env.ci\n");
    expect(parseDotenv(readFileSync(join(clean, ".env.ci"), "utf8"))).toMatchObject({ B: "two words" });
    expect(statSync(join(clean, ".env.ci")).mode & 0o777).toBe(0o600);
    expect(cli.ok(["whoami"], { cwd: clean, env, config })).toContain("service token ci-bot (read-only)");
    const push = cli.run(["push", "ci"], { cwd: clean, env, config });
    expect(push.code).toBe(3);
    expect(push.stderr).toContain("no write access to ci");
    expect(cli.run(["pull", "development"], { cwd: clean, env, config }).code).toBe(3);
    expect(cli.run(["tokens", "list"], { cwd: clean, env, config }).code).toBe(3);
  });

  it("VAULT_TOKEN wins over a signed-in session", () => {
    expect(cli.ok(["whoami"], { config: owner, cwd: checkout, env: { VAULT_TOKEN: token } })).toContain(
      "(from VAULT_TOKEN)",
    );
  });

  it("a revoked token is refused with exit code 3 and a hint about VAULT_TOKEN", () => {
    expect(cli.ok(["tokens", "revoke", "ci-bot"], { config: owner, cwd: checkout })).toMatch(/^revoked tok_/);
    const r = cli.run(["pull", "ci"], {
      cwd: cli.dir("ci-job"),
      env: { VAULT_TOKEN: token, VAULT_SERVER: cli.url },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("vault: hint: the token in VAULT_TOKEN is unknown, expired or revoked");
    expect(cli.run(["tokens", "revoke", "ci-bot"], { config: owner, cwd: checkout }).code).toBe(4);
  });

  it("a me_ credential in .env.me is used for the linked project (dotenv-vault's file), once its server is trusted", async () => {
    const me = await newMe();
    const d = cli.dir("me");
    cli.ok(["link", projectId], { config: owner, cwd: d });
    writeFileSync(join(d, ".env.me"), `DOTENV_ME=${me}\n`);
    const config = join(cli.dir("nobody"), "vault");
    // Issue 18: the server in .env.vault gets the credential only once the user trusts it for it.
    const refused = cli.run(["whoami"], { cwd: d, config });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      `vault: hint: if ${cli.url} is the server it is for: vault trust ${cli.url}`,
    );
    expect(cli.ok(["trust"], { cwd: d, config })).toBe(
      `the me_ credential in .env.me may now be sent to ${cli.url}\n`,
    );
    expect(cli.ok(["whoami"], { cwd: d, config })).toContain("(from .env.me)");
    expect(cli.ok(["pull"], { cwd: d, config })).toContain("pulled development");
  });
});

/** A fresh me_ credential of the owner for the project, as the dotenv-vault hand-off makes one. */
async function newMe(): Promise<string> {
  const session = JSON.parse(readFileSync(join(owner, "sessions.json"), "utf8")).sessions[cli.url].token;
  const res = await fetch(`${cli.url}/api/v1/projects/${projectId}/me`, {
    method: "POST",
    headers: { authorization: `Bearer ${session}` },
  });
  return ((await res.json()) as { token: string }).token;
}

describe("a committed .env.vault that points at another server (issue 18)", () => {
  it("the compiled binary sends an attacker's loopback server no VAULT_TOKEN, DOTENV_ME or .env.me credential", async () => {
    const seen: string[] = [];
    const attacker = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        seen.push(`${request.headers.get("authorization") ?? ""} ${request.url} ${await request.text()}`);
        return Response.json({ error: { code: "UNAUTHENTICATED", message: "?" } }, { status: 401 });
      },
    });
    try {
      const evil = `http://127.0.0.1:${attacker.port}`;
      const token = cli
        .ok(["tokens", "create", "deploy", "--env", "ci"], { config: owner, cwd: checkout })
        .trim();
      const me = await newMe();
      const d = cli.dir("pwned");
      writeFileSync(join(d, ".env.vault"), `DOTENV_VAULT="${projectId}"\nDOTENV_API_URL="${evil}"\n`);
      const config = join(cli.dir("ci-home"), "vault");
      for (const env of [{ VAULT_TOKEN: token }, { DOTENV_ME: me }] as Record<string, string>[]) {
        for (const args of [["pull", "ci"], ["run", "--env", "ci", "--", "true"], ["whoami"]]) {
          const r = cli.run(args, { cwd: d, config, env });
          expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(3);
          expect(r.stderr).toContain(`vault: error: refusing to send the `);
          expect(r.stderr).toContain(`vault: hint: if ${evil} is the server it is for: vault trust ${evil}`);
        }
      }
      writeFileSync(join(d, ".env.me"), `DOTENV_ME=${me}\n`);
      expect(cli.run(["pull"], { cwd: d, config }).code).toBe(3);
      // Even the owner's machine, where the token was made: it is bound to the server that made it.
      expect(cli.run(["pull", "ci"], { cwd: d, config: owner, env: { VAULT_TOKEN: token } }).code).toBe(3);
      expect(seen).toEqual([]);
      // The CI recipe names the server: the token goes there, and still not to the attacker.
      expect(
        cli.ok(["pull", "ci", "-"], { cwd: d, config, env: { VAULT_TOKEN: token, VAULT_SERVER: cli.url } }),
      ).toContain("B=");
      expect(seen).toEqual([]);
      cli.ok(["tokens", "revoke", "deploy"], { config: owner, cwd: checkout });
    } finally {
      attacker.stop(true);
    }
  });

  it("on a terminal, asks once before sending .env.me's credential to the server .env.vault names", async () => {
    const me = await newMe();
    const d = cli.dir("tty");
    cli.ok(["link", projectId], { config: owner, cwd: d });
    writeFileSync(join(d, ".env.me"), `DOTENV_ME=${me}\n`);
    const config = join(cli.dir("tty-home"), "vault");
    const env = cleanEnv(d, { VAULT_CONFIG_DIR: config, TERM: "dumb" });
    const assignments = Object.entries(env)
      .map(([k, v]) => `${k}=${sh(v)}`)
      .join(" ");
    const whoami = `env -i ${assignments} ${sh(cli.vault.bin)} whoami; echo "EXITED $?"`;
    const t = startTmux({
      name: "vault-cli-trust",
      columns: 250,
      rows: 20,
      command: `cd ${sh(d)} && ${whoami}; ${whoami}; sleep 30`,
    });
    try {
      const asked = await t.until("[y/N]");
      expect(asked).toContain(`vault: only DOTENV_API_URL in ${d}/.env.vault names ${cli.url}`);
      await t.type("y");
      await t.send("Enter");
      const done = await t.until(/EXITED \d+[\s\S]*EXITED \d+/);
      expect(done).toMatch(
        /owner@example\.com \(owner\) for project vlt_[0-9a-f]{64} on \S+ \(from \.env\.me\)\nEXITED 0/,
      );
      // The second run did not ask again.
      expect(done.split("[y/N]").length).toBe(2);
      expect(done).not.toContain(me);
    } finally {
      t.kill();
    }
  });
});

describe("TLS failures (issue 18)", () => {
  it("a self-signed server: says the certificate is not trusted, and NODE_EXTRA_CA_CERTS, as the hint says, makes it work", async () => {
    const dir = cli.dir("tls");
    const { cert, key } = selfSignedCert(dir);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") },
      fetch: () => Response.json({ error: { code: "UNAUTHENTICATED", message: "sign in" } }, { status: 401 }),
    });
    try {
      const url = `https://127.0.0.1:${server.port}`;
      const config = join(dir, "vault");
      // Not cli.run: its spawnSync would block this process, which serves the TLS server.
      const whoami = async (extra: Record<string, string> = {}) => {
        const proc = Bun.spawn([cli.vault.bin, "whoami", "--server", url], {
          cwd: dir,
          env: cleanEnv(dir, { VAULT_CONFIG_DIR: config, VAULT_TOKEN: `vst_${"1".repeat(64)}`, ...extra }),
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        });
        const [stderr] = await Promise.all([
          new Response(proc.stderr).text(),
          new Response(proc.stdout).text(),
        ]);
        return { code: await proc.exited, stderr };
      };
      const r = await whoami();
      expect(r.code).toBe(6);
      expect(r.stderr).toStartWith(
        `vault: error: the certificate of ${url} is not trusted here (self-signed`,
      );
      expect(r.stderr).toContain("vault: hint: if it is your own CA's");
      expect(r.stderr).toContain("NODE_EXTRA_CA_CERTS=");
      const trusted = await whoami({ NODE_EXTRA_CA_CERTS: cert });
      expect(trusted.code).toBe(3);
      expect(trusted.stderr).toStartWith("vault: error: sign in\n");
    } finally {
      server.stop(true);
    }
  });
});

describe("vault audit", () => {
  it("lists the linked project's events, filters them, and verifies the chain", () => {
    const table = cli.ok(["audit", "--limit", "200"], { config: owner, cwd: checkout });
    expect(table).toContain("secrets.read");
    expect(table).toContain("token.revoke");
    const reads = JSON.parse(
      cli.ok(["audit", "--action", "secrets.push", "--json"], { config: owner, cwd: checkout }),
    );
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((e: { action: string }) => e.action === "secrets.push")).toBe(true);
    expect(
      JSON.parse(cli.ok(["audit", "--since", "1m", "--json", "--all"], { config: owner })).length,
    ).toBeGreaterThan(0);
    expect(cli.ok(["audit", "--verify"], { config: owner })).toMatch(/^audit chain intact: \d+ events\n$/);
    const carol = cli.login("carol@example.com", { password: "my new long passphrase" });
    expect(cli.run(["audit", "--verify"], { config: carol }).code).toBe(3);
    expect(cli.run(["audit", "--since", "soon"], { config: owner }).code).toBe(2);
  });
});

describe("vault build, keys, rotatekey, decrypt", () => {
  it("build writes .env.vault, keys prints DOTENV_KEYs, and decrypt opens it offline", () => {
    cli.ok(["build"], { config: owner, cwd: checkout });
    const text = readFileSync(join(checkout, ".env.vault"), "utf8");
    expect(text).toContain("DOTENV_VAULT_DEVELOPMENT=");
    expect(readEnvVaultSettings(text).DOTENV_VAULT).toBe(projectId);
    const key = cli.ok(["keys", "development"], { config: owner, cwd: checkout }).trim();
    expect(key).toMatch(/^dotenv:\/\/:key_[0-9a-f]{64}@.+\?environment=development$/);
    const all = JSON.parse(cli.ok(["keys", "--json"], { config: owner, cwd: checkout }));
    expect(all.map((k: { environment: string }) => k.environment)).toContain("production");
    // Offline: no server, no credential, only the file and the key.
    const offline = {
      cwd: checkout,
      config: join(cli.dir("none"), "v"),
      env: { DOTENV_KEY: key, VAULT_SERVER: "http://127.0.0.1:9" },
    };
    expect(parseDotenv(cli.ok(["decrypt"], offline))).toEqual(parseDotenv(FILE));
    expect(JSON.parse(cli.ok(["decrypt", key, "--json"], { cwd: checkout }))).toEqual(parseDotenv(FILE));
    const rotated = JSON.parse(
      cli.ok(["rotatekey", "development", "--json"], { config: owner, cwd: checkout }),
    );
    expect(rotated.previousKey).toBe(key);
    expect(rotated.key).not.toBe(key);
    // The old file still opens with the old key; the new key does not open it.
    expect(cli.run(["decrypt", rotated.key], { cwd: checkout }).code).toBe(3);
    cli.ok(["build"], { config: owner, cwd: checkout });
    expect(cli.run(["decrypt", key], { cwd: checkout }).code).toBe(3);
    expect(cli.ok(["decrypt", `${key},${rotated.key}`], { cwd: checkout })).toContain("DB_HOST=localhost");
    expect(cli.run(["decrypt"], { cwd: checkout }).code).toBe(2);
    expect(cli.run(["decrypt", "not-a-key"], { cwd: checkout }).code).toBe(2);
  });
});

describe("--verbose", () => {
  it("says where the server, credential and project came from, and the failed request, without a secret", () => {
    const r = cli.run(["get", "NOPE", "--verbose"], { config: owner, cwd: checkout });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`vault: detail: server ${cli.url} (from DOTENV_API_URL in`);
    expect(r.stderr).toContain("vault: detail: credential from session");
    expect(r.stderr).toContain("vault: detail: HTTP 404 NOT_FOUND");
    const token = JSON.parse(readFileSync(join(owner, "sessions.json"), "utf8")).sessions[cli.url].token;
    expect(r.stderr).not.toContain(token);
    expect(r.stderr).not.toContain(PASSWORD);
  });
});
