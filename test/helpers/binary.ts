/**
 * The compiled binary under test, and fresh directories outside the
 * repository to run it from (inside it, node_modules would hide packaging bugs).
 *
 * The binary is `dist/vault`, or `$VAULT_E2E_BINARY` to test another build
 * (a release artifact). `dist/vault` is compiled once per test run when it is
 * missing or older than anything it is built from; `make test` compiles it
 * first, so there this is only a check.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
const DIST_BINARY = join(REPO_ROOT, "dist/vault");
/** What the binary is built from: a change to any of these makes dist/vault stale. */
const SOURCES = ["src", "scripts/compile.ts", "package.json", "bun.lock"];

function newestMtimeMs(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

function staleReason(): string | undefined {
  if (!existsSync(DIST_BINARY)) return "dist/vault does not exist";
  const built = statSync(DIST_BINARY).mtimeMs;
  for (const source of SOURCES) {
    const path = join(REPO_ROOT, source);
    if (existsSync(path) && newestMtimeMs(path) > built)
      return `${source} changed after dist/vault was built`;
  }
  return undefined;
}

let checked: string | undefined;

/** The path of the binary to test, compiling dist/vault first if it is missing or stale. */
export function binaryPath(): string {
  if (checked) return checked;
  const override = process.env.VAULT_E2E_BINARY;
  if (override) {
    if (!existsSync(override)) throw new Error(`VAULT_E2E_BINARY=${override} does not exist`);
    checked = resolve(override);
    return checked;
  }
  const reason = staleReason();
  if (reason) {
    process.stderr.write(`e2e: ${reason}; compiling\n`);
    const out = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/compile.ts")], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (out.status !== 0) throw new Error(`bun scripts/compile.ts failed (exit code ${out.status})`);
  }
  checked = DIST_BINARY;
  return checked;
}

export function isInside(path: string, parent: string): boolean {
  const rel = relative(parent, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep));
}

/** A fresh directory under the system temporary directory, never inside the repository. */
export function makeTempDir(prefix = "vault-e2e-"): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  if (isInside(dir, REPO_ROOT)) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the temporary directory ${dir} is inside the repository; set TMPDIR elsewhere`);
  }
  return dir;
}

export interface Installed {
  /** The directory holding the binary alone; a good working directory. */
  dir: string;
  /** `<dir>/vault`. */
  bin: string;
  remove(): void;
}

/** Copies the binary alone into a fresh temporary directory. */
export function installBinary(): Installed {
  const source = binaryPath();
  const dir = makeTempDir();
  const bin = join(dir, "vault");
  copyFileSync(source, bin);
  chmodSync(bin, 0o755);
  return { dir, bin, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A minimal environment for the binary: nothing from the test run (no VAULT_*,
 * no NODE_PATH, no BUN_*) leaks into it. TMPDIR stays: the binary extracts its
 * native addon there.
 */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    LANG: "C.UTF-8",
    ...extra,
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short command of the binary to completion. */
export function runVault(
  bin: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): RunResult {
  const out = spawnSync(bin, args, {
    cwd: options.cwd,
    env: cleanEnv(options.cwd, options.env),
    encoding: "utf8",
    timeout: options.timeoutMs ?? 30_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (out.error) throw out.error;
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

/**
 * Creates a user on a data directory with `vault admin user add --password-stdin`
 * (the password goes through stdin, never the command line); throws with the
 * command's output when it fails.
 */
export function addUser(
  bin: string,
  options: {
    cwd: string;
    data: string;
    email: string;
    password: string;
    role?: "owner" | "admin" | "member";
  },
): void {
  const out = spawnSync(
    bin,
    [
      "admin",
      "user",
      "add",
      options.email,
      "--role",
      options.role ?? "member",
      "--password-stdin",
      "--data",
      options.data,
    ],
    {
      cwd: options.cwd,
      env: cleanEnv(options.cwd),
      input: `${options.password}\n`,
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  if (out.error) throw out.error;
  if (out.status !== 0) {
    throw new Error(
      `vault admin user add ${options.email} exited ${out.status}:\n${out.stdout}${out.stderr}`,
    );
  }
}

/** True when stderr holds a JavaScript stack trace or Bun's crash banner. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[:(].*\d+/m.test(text) || /^Bun v\d+\.\d+/m.test(text) || /^\s*\d+ \| /m.test(text);
}
