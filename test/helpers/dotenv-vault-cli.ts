/**
 * The real `dotenv-vault` CLI (npm dotenv-vault 1.27.0, an oclif program,
 * pinned in devDependencies) as a child process under Node, the way its
 * users run it: from a project directory, talking to `DOTENV_API_URL`.
 *
 * Nothing here reaches beyond the machine:
 * - its browser step runs `xdg-open URL`; a stub first on PATH only records
 *   the URL (the test reads the URL from stdout and opens it in Chromium);
 * - oclif's update check would spawn a background fetch of the npm registry
 *   when its cache is stale: the cache is seeded with the installed version;
 * - its auto-update hook is turned off (DOTENV_VAULT_DISABLE_AUTOUPDATE).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "./binary";

export const DOTENV_VAULT_RUN = join(REPO_ROOT, "node_modules/dotenv-vault/bin/run");
export const DOTENV_VAULT_VERSION = "1.27.0";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The URL the CLI said it opens in a browser ("Opening browser to URL"), if any. */
  url: string | undefined;
}

export interface CliHome {
  /** A fresh HOME, cache and config for the CLI, and the stub browser opener. */
  dir: string;
  /** The environment for every run (add DOTENV_API_URL per run, or not). */
  env: Record<string, string>;
  /** Every URL the CLI asked the system to open, in order. */
  opened(): string[];
}

export function cliHome(dir: string): CliHome {
  const node = Bun.which("node");
  if (!node) throw new Error("node is not on PATH: the dotenv-vault CLI runs under Node.js");
  const version = JSON.parse(readFileSync(join(REPO_ROOT, "node_modules/dotenv-vault/package.json"), "utf8"));
  if (version.version !== DOTENV_VAULT_VERSION) {
    throw new Error(`node_modules/dotenv-vault is ${version.version}, expected ${DOTENV_VAULT_VERSION}`);
  }
  const bin = join(dir, "bin");
  const cache = join(dir, "cache");
  const log = join(dir, "xdg-open.log");
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(cache, "dotenv-vault"), { recursive: true });
  writeFileSync(join(cache, "dotenv-vault", "version"), JSON.stringify({ latest: DOTENV_VAULT_VERSION }));
  writeFileSync(log, "");
  writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$1" >> '${log}'\n`);
  chmodSync(join(bin, "xdg-open"), 0o755);
  const env = {
    PATH: `${bin}:${dirname(node)}:/usr/bin:/bin`,
    HOME: dir,
    XDG_CACHE_HOME: cache,
    XDG_CONFIG_HOME: join(dir, "config"),
    XDG_DATA_HOME: join(dir, "data"),
    TMPDIR: process.env.TMPDIR ?? "/tmp",
    LANG: "C.UTF-8",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
    DOTENV_VAULT_DISABLE_AUTOUPDATE: "1",
  };
  return {
    dir,
    env,
    opened: () =>
      readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line.length > 0),
  };
}

/**
 * Runs `dotenv-vault ARGS` in `cwd` with no terminal. When the CLI prints the
 * page it wants opened, `onUrl` gets it (approve it in a browser there) while
 * the CLI keeps polling; the result once the CLI exits. A CLI still running
 * after `timeoutMs` is killed and the run fails with what it printed.
 */
export async function dotenvVault(
  args: string[],
  options: {
    cwd: string;
    env: Record<string, string>;
    onUrl?: (url: string) => Promise<void>;
    timeoutMs?: number;
  },
): Promise<CliResult> {
  const node = Bun.which("node", { PATH: options.env.PATH })!;
  const proc = Bun.spawn([node, DOTENV_VAULT_RUN, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stdout = "";
  let stderr = "";
  let url: string | undefined;
  let handler: Promise<void> | undefined;
  const readOut = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      stdout += decoder.decode(chunk, { stream: true });
      const found = /Opening browser to (\S+)/.exec(stdout);
      if (found && !url) {
        url = found[1]!;
        if (options.onUrl) {
          handler = options.onUrl(url).catch((error: unknown) => {
            proc.kill("SIGKILL");
            throw error;
          });
        }
      }
    }
  })();
  const readErr = (async () => {
    stderr = await new Response(proc.stderr).text();
  })();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  await Promise.all([readOut, readErr]);
  if (handler) await handler;
  if (proc.signalCode === "SIGKILL") {
    throw new Error(
      `dotenv-vault ${args.join(" ")} was killed after ${timeoutMs} ms\n--- stdout\n${stdout}--- stderr\n${stderr}`,
    );
  }
  return { code, stdout, stderr, url };
}
