/**
 * `vault run` from the compiled binary: the child's environment, its exit
 * code and signals passed through, the credential kept from it, and the
 * encrypted offline copy when the server cannot be reached (stopped at the
 * end of this file).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv } from "../helpers/binary";
import { waitFor } from "../helpers/proc";
import { stopAllServers } from "../helpers/serve";
import { type Cli, startCli } from "./cli-fixture";

let cli: Cli;
let owner: string;
let checkout: string;
let token: string;
let projectId: string;

beforeAll(async () => {
  cli = await startCli();
  cli.addUser("owner@example.com", "owner");
  owner = cli.login("owner@example.com");
  checkout = cli.dir("app");
  cli.ok(["new", "runner"], { config: owner, cwd: checkout });
  projectId = /DOTENV_VAULT="(vlt_[0-9a-f]{64})"/.exec(
    readFileSync(join(checkout, ".env.vault"), "utf8"),
  )![1]!;
  writeFileSync(join(checkout, ".env"), "GREETING=hello from vault\nSHARED=vault\nSECRET=s3cr3t-value\n");
  cli.ok(["push"], { config: owner, cwd: checkout });
  cli.ok(["set", "CI_ONLY=1", "--env", "ci"], { config: owner, cwd: checkout });
  token = cli
    .ok(["tokens", "create", "runner", "--env", "ci,development"], { config: owner, cwd: checkout })
    .trim();
});

afterAll(async () => {
  await stopAllServers();
  cli?.vault.remove();
});

/** Starts `vault run` in the background, for signals. */
function spawnRun(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([cli.vault.bin, "run", ...args], {
    cwd: checkout,
    env: cleanEnv(checkout, { VAULT_CONFIG_DIR: owner, ...env }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const reading = (async () => {
    for await (const chunk of proc.stdout) out += new TextDecoder().decode(chunk);
  })();
  return { proc, output: () => out, reading };
}

describe("vault run", () => {
  const hardLimitAllowsCores = Bun.spawnSync(["sh", "-c", "ulimit -H -c"]).stdout.toString().trim() !== "0";
  it.skipIf(!hardLimitAllowsCores)(
    "leaves the command it starts the core limit it was started with (only vault's own process is kept from dumping)",
    () => {
      const out = Bun.spawnSync(
        [
          "sh",
          "-c",
          'ulimit -c "$(ulimit -H -c)" && exec "$0" run -- sh -c "grep \\"Max core\\" /proc/self/limits"',
          cli.vault.bin,
        ],
        {
          cwd: checkout,
          env: cleanEnv(checkout, { VAULT_CONFIG_DIR: owner }),
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      expect(out.exitCode).toBe(0);
      const allowed = Bun.spawnSync([
        "sh",
        "-c",
        'ulimit -c "$(ulimit -H -c)" && grep "Max core" /proc/self/limits',
      ])
        .stdout.toString()
        .trim();
      expect(out.stdout.toString().trim()).toBe(allowed);
      expect(allowed).not.toMatch(/^Max core file size\s+0\s/);
    },
  );

  it("gives the child the environment's values; variables already set win unless --override", () => {
    const show = ["--", "sh", "-c", 'printf "%s|%s" "$GREETING" "$SHARED"'];
    expect(cli.ok(["run", ...show], { config: owner, cwd: checkout })).toBe("hello from vault|vault");
    expect(cli.ok(["run", ...show], { config: owner, cwd: checkout, env: { SHARED: "mine" } })).toBe(
      "hello from vault|mine",
    );
    expect(
      cli.ok(["run", "--override", ...show], { config: owner, cwd: checkout, env: { SHARED: "mine" } }),
    ).toBe("hello from vault|vault");
    expect(
      cli.ok(["run", "--env", "ci", "--", "sh", "-c", 'printf "%s" "$CI_ONLY"'], {
        config: owner,
        cwd: checkout,
      }),
    ).toBe("1");
  });

  it("returns the child's exit code, 127 for a command that does not exist", () => {
    expect(cli.run(["run", "--", "sh", "-c", "exit 42"], { config: owner, cwd: checkout }).code).toBe(42);
    expect(cli.run(["run", "--", "true"], { config: owner, cwd: checkout }).code).toBe(0);
    const missing = cli.run(["run", "--", "no-such-command-xyz"], { config: owner, cwd: checkout });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("command not found: no-such-command-xyz");
    expect(cli.run(["run"], { config: owner, cwd: checkout }).code).toBe(2);
  });

  it("returns 128 + the signal when a signal ends the child", () => {
    expect(cli.run(["run", "--", "sh", "-c", "kill -TERM $$"], { config: owner, cwd: checkout }).code).toBe(
      143,
    );
    expect(cli.run(["run", "--", "sh", "-c", "kill -KILL $$"], { config: owner, cwd: checkout }).code).toBe(
      137,
    );
  });

  for (const [signal, number] of [
    ["SIGTERM", 15],
    ["SIGINT", 2],
    ["SIGHUP", 1],
  ] as const) {
    it(`forwards ${signal} to the child and exits with what the child does`, async () => {
      const name = signal.slice(3);
      const script = `trap 'echo got-${name}; exit ${number + 60}' ${name}; echo ready; while :; do sleep 0.05; done`;
      const run = spawnRun(["--", "sh", "-c", script], {});
      await waitFor("the child to be ready", () => run.output().includes("ready"), { timeoutMs: 10_000 });
      run.proc.kill(signal);
      const code = await run.proc.exited;
      await run.reading;
      expect(run.output()).toContain(`got-${name}`);
      expect(code).toBe(number + 60);
    });
  }

  it("keeps VAULT_TOKEN and DOTENV_ME from the child, and values off every command line", async () => {
    const env = { VAULT_TOKEN: token, VAULT_SERVER: cli.url, DOTENV_ME: `me_${"0".repeat(64)}` };
    const seen = cli.ok(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, on purpose.
      ["run", "--", "sh", "-c", 'printf "%s|%s|%s" "${VAULT_TOKEN-unset}" "${DOTENV_ME-unset}" "$GREETING"'],
      {
        cwd: checkout,
        env,
        config: join(cli.dir("ci"), "v"),
      },
    );
    expect(seen).toBe("unset|unset|hello from vault");
    const run = spawnRun(["--", "sh", "-c", "echo ready; sleep 5"], env);
    await waitFor("the child to be ready", () => run.output().includes("ready"), { timeoutMs: 10_000 });
    const cmdlines = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .map((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8");
        } catch {
          return "";
        }
      });
    for (const line of cmdlines) {
      expect(line).not.toContain("s3cr3t-value");
      expect(line).not.toContain(token);
    }
    run.proc.kill("SIGTERM");
    await run.proc.exited;
  });

  it("a revoked token is refused and never falls back to the offline copy", () => {
    const doomed = cli
      .ok(["tokens", "create", "doomed", "--env", "ci"], { config: owner, cwd: checkout })
      .trim();
    const env = { VAULT_TOKEN: doomed, VAULT_SERVER: cli.url };
    const config = join(cli.dir("doomed"), "v");
    const clean = cli.dir("clean");
    expect(cli.ok(["run", "--env", "ci", "--", "true"], { cwd: clean, env, config })).toBe("");
    cli.ok(["tokens", "revoke", "doomed"], { config: owner, cwd: checkout });
    const r = cli.run(["run", "--env", "ci", "--", "true"], { cwd: clean, env, config });
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain("offline copy");
  });
});

describe("vault run when the server cannot be reached (stops the server)", () => {
  let ciConfig: string;
  let ciDir: string;
  const ciEnv = () => ({ VAULT_TOKEN: token, VAULT_SERVER: cli.url });

  beforeAll(async () => {
    // A CI-style run (service token, no link) leaves an offline copy; so does the owner's.
    ciConfig = join(cli.dir("ci-home"), "vault");
    ciDir = cli.dir("ci-job");
    cli.ok(["run", "--env", "ci", "--", "true"], { cwd: ciDir, env: ciEnv(), config: ciConfig });
    cli.ok(["run", "--", "true"], { config: owner, cwd: checkout });
    await cli.server.stop();
  });

  it("uses the encrypted offline copy, saying so on stderr", () => {
    const r = cli.run(["run", "--", "sh", "-c", 'printf "%s" "$GREETING"'], { config: owner, cwd: checkout });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("hello from vault");
    expect(r.stderr).toMatch(
      new RegExp(
        `^vault: warning: cannot reach the server at ${cli.url.replaceAll(".", "\\.")}; using the offline copy of development version 1 pulled at \\S+\\n$`,
      ),
    );
    const ci = cli.run(["run", "--env", "ci", "--", "sh", "-c", 'printf "%s" "$CI_ONLY"'], {
      cwd: ciDir,
      env: ciEnv(),
      config: ciConfig,
    });
    expect(ci.stdout).toBe("1");
    expect(ci.stderr).toContain("using the offline copy of ci");
  });

  it("keeps the copy encrypted: no value and no name in the config directory in clear", () => {
    const files = readdirSync(join(owner, "cache")).map((f) => readFileSync(join(owner, "cache", f)));
    expect(files.length).toBeGreaterThan(0);
    for (const bytes of files) {
      expect(bytes.includes(Buffer.from("s3cr3t-value"))).toBe(false);
      expect(bytes.includes(Buffer.from("GREETING"))).toBe(false);
    }
  });

  it("--no-fallback refuses the copy with exit code 6", () => {
    const r = cli.run(["run", "--no-fallback", "--", "true"], { config: owner, cwd: checkout });
    expect(r.code).toBe(6);
    expect(r.stderr).toStartWith(`vault: error: cannot reach the server at ${cli.url}\n`);
  });

  it("without a copy, fails with exit code 6 and says there is none", () => {
    const r = cli.run(["run", "--env", "staging", "--", "true"], { config: owner, cwd: checkout });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("there is no offline copy of staging");
    // VAULT_SERVER names the server: a token is no longer sent to the one only .env.vault names (issue 18).
    const fresh = cli.run(["run", "--", "true"], {
      config: join(cli.dir("fresh"), "v"),
      cwd: checkout,
      env: { VAULT_TOKEN: token, VAULT_SERVER: cli.url },
    });
    expect(fresh.code).toBe(6);
  });

  it("--offline uses the copy without asking; export --offline too", () => {
    const r = cli.run(["run", "--offline", "--", "sh", "-c", 'printf "%s" "$SECRET"'], {
      config: owner,
      cwd: checkout,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("s3cr3t-value");
    expect(r.stderr).toStartWith("vault: warning: using the offline copy of development version 1");
    expect(
      JSON.parse(cli.ok(["export", "--offline", "--format", "json"], { config: owner, cwd: checkout })),
    ).toMatchObject({
      SECRET: "s3cr3t-value",
    });
  });

  it("other commands fail with exit code 6 and say the server cannot be reached", () => {
    for (const args of [["pull"], ["push"], ["whoami"], ["versions"], ["export"]]) {
      const r = cli.run(args, { config: owner, cwd: checkout });
      expect(r.code, args.join(" ")).toBe(6);
      expect(r.stderr).toStartWith(`vault: error: cannot reach the server at ${cli.url}\n`);
    }
    expect(projectId).toMatch(/^vlt_/);
  });
});
