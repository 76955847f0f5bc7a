/**
 * The CLI's client commands in process: `run(argv, io)` from src/cli.ts with
 * its own environment, working directory and config directory, against the
 * real application (test/server/harness.ts) served on a loopback port, so
 * that the CLI's requests travel over real HTTP. Standard error is not a
 * terminal here, so nothing prompts.
 */
import { afterAll } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/cli";
import { type Harness, startHarness } from "../server/harness";

const made: string[] = [];
const servers: { stop(force?: boolean): unknown }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  config?: string;
  env?: Record<string, string>;
}

export interface CliHarness {
  h: Harness;
  url: string;
  /** Every request the server got: "METHOD /path?query". */
  requests: string[];
  /** A fresh directory. */
  dir(name: string): string;
  /** A config directory holding a session of `token` for this server (as `vault login` leaves it). */
  signedIn(user: { token: string; id: string; email: string }): string;
  cli(args: string[], options?: RunOptions): Promise<CliResult>;
  /** A command that must succeed: its stdout. */
  ok(args: string[], options?: RunOptions): Promise<string>;
}

/** Runs the CLI in process, capturing what it writes. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    env: {
      PATH: process.env.PATH,
      HOME: options.config ?? "/nonexistent",
      ...(options.config ? { VAULT_CONFIG_DIR: options.config } : {}),
      ...options.env,
    },
    cwd: options.cwd,
    stdout: { write: (t: string) => (stdout += t), isTTY: false },
    stderr: { write: (t: string) => (stderr += t), isTTY: false },
  });
  return { code, stdout, stderr };
}

export function tempDir(name: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `vault-cli-${name}-`)));
  made.push(dir);
  return dir;
}

export async function startCliHarness(options?: Parameters<typeof startHarness>[0]): Promise<CliHarness> {
  const h = await startHarness(options);
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      const u = new URL(request.url);
      requests.push(`${request.method} ${u.pathname}${u.search}`);
      return h.app.handle(request);
    },
  });
  servers.push(server);
  const url = `http://127.0.0.1:${server.port}`;
  const root = tempDir("root");
  let n = 0;
  const dir = (name: string) => {
    const path = join(root, `${name}-${++n}`);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const signedIn: CliHarness["signedIn"] = (user) => {
    const config = join(dir("config"), "vault");
    mkdirSync(config, { recursive: true, mode: 0o700 });
    const sessions = {
      current: url,
      sessions: {
        [url]: { token: user.token, email: user.email, userId: user.id, expiresAt: Date.now() + 3_600_000 },
      },
    };
    writeFileSync(join(config, "sessions.json"), JSON.stringify(sessions), { mode: 0o600 });
    return config;
  };
  const ok: CliHarness["ok"] = async (args, options) => {
    const r = await runCli(args, options);
    if (r.code !== 0) throw new Error(`vault ${args.join(" ")} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  return { h, url, requests, dir, signedIn, cli: runCli, ok };
}
