/**
 * What the CLI's end-to-end files share: the compiled binary copied alone
 * into a temporary directory, one `vault serve` on a free loopback port,
 * users made the way an operator makes them, and a runner for client
 * commands with its own config directory, working directory and stdin.
 * Every failing command is checked for a stack trace.
 */
import { expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, hasStackTrace, type Installed, installBinary } from "../helpers/binary";
import { type ServeProcess, startServe } from "../helpers/serve";

export const PASSWORD = "correct horse battery staple";

export interface Cli {
  vault: Installed;
  server: ServeProcess;
  url: string;
  data: string;
  /** A fresh directory under the binary's one. */
  dir(name: string): string;
  addUser(email: string, role?: "owner" | "admin" | "member", password?: string): void;
  /** Runs `vault ARGS`; the result, checked to hold no stack trace. */
  run(args: string[], options?: RunOptions): Result;
  /** Runs a command that must succeed; its stdout. */
  ok(args: string[], options?: RunOptions): string;
  /** Signs `email` in with a config directory of its own; that directory. */
  login(email: string, options?: { password?: string; cwd?: string }): string;
}

export interface RunOptions {
  cwd?: string;
  /** The config directory (VAULT_CONFIG_DIR). */
  config?: string;
  env?: Record<string, string>;
  input?: string | Uint8Array;
  timeoutMs?: number;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function startCli(): Promise<Cli> {
  const vault = installBinary();
  const data = join(vault.dir, "data");
  const server = await startServe({ bin: vault.bin, cwd: vault.dir, data });
  await server.waitReady();
  const url = server.url;
  let n = 0;
  const dir = (name: string) => {
    const path = join(vault.dir, `${name}-${++n}`);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const run = (args: string[], options: RunOptions = {}): Result => {
    const cwd = options.cwd ?? vault.dir;
    const out = spawnSync(vault.bin, args, {
      cwd,
      env: cleanEnv(cwd, {
        ...(options.config ? { VAULT_CONFIG_DIR: options.config } : {}),
        ...options.env,
      }),
      input: options.input ?? "",
      encoding: "utf8",
      timeout: options.timeoutMs ?? 30_000,
    });
    if (out.error) throw out.error;
    const result = { code: out.status, stdout: out.stdout, stderr: out.stderr };
    expect(hasStackTrace(result.stderr), `vault ${args.join(" ")}:\n${result.stderr}`).toBe(false);
    if (result.code !== 0) {
      for (const line of result.stderr.trimEnd().split("\n")) {
        if (line !== "") expect(line).toMatch(/^vault: /);
      }
    }
    return result;
  };
  const ok = (args: string[], options?: RunOptions) => {
    const r = run(args, options);
    if (r.code !== 0) throw new Error(`vault ${args.join(" ")} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const addUser = (email: string, role: "owner" | "admin" | "member" = "member", password = PASSWORD) => {
    ok(["admin", "user", "add", email, "--role", role, "--password-stdin", "--data", data], {
      input: `${password}\n`,
    });
  };
  const login = (email: string, options: { password?: string; cwd?: string } = {}) => {
    const config = join(dir("config"), "vault");
    ok(["login", url, "--email", email, "--password-stdin"], {
      config,
      cwd: options.cwd,
      input: `${options.password ?? PASSWORD}\n`,
    });
    return config;
  };
  return { vault, server, url, data, dir, addUser, run, ok, login };
}
