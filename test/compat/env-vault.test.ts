/**
 * `.env.vault` files we build, opened by the real runtimes: npm dotenv 16.4.7
 * and 17.4.2 `config({ path, DOTENV_KEY, processEnv })`. Both pick the file
 * from `path` (adding `.vault` unless it ends so) and log to the console, so
 * each test works in a temporary directory, silences the log and puts
 * process.env back as it was.
 */
import { afterEach, beforeEach, describe, expect, it, mock, spyOn } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dotenv17 from "dotenv";
import { Vars } from "dotenv-vault/dist/vars";
import dotenv16 from "dotenv16";
import { buildEnvVault, formatDotenvKey, parse, readEnvVaultSettings } from "../../src/dotenv";

const PUSHED = [
  "# pushed by a developer",
  "export DATABASE_URL=postgres://u:p@db:5432/app",
  "API_KEY='sk-12#34'",
  'MULTI="line one\\nline two"',
  "PEM='-----BEGIN-----",
  "abc",
  "-----END-----'",
  "EMPTY=",
  "SPACED = value with spaces # comment",
  "",
].join("\n");

const key = (byte: number) => new Uint8Array(32).fill(byte);
const OLD_KEY = key(1);
const NEW_KEY = key(2);
const uri = (key32: Uint8Array, environment = "production") =>
  formatDotenvKey({ key32, environment, host: "vault.example" });

function vaultFile(version: number, key32: Uint8Array, plaintext: string): string {
  return buildEnvVault({
    projectId: `vlt_${"0f".repeat(32)}`,
    apiUrl: "https://vault.example",
    environments: [
      { name: "development", version: 4, plaintext: "DEV=1\n", key32: key(9) },
      { name: "production", version, plaintext, key32 },
    ],
  });
}

/** The part of `config` both versions share. */
interface Runtime {
  config(options: {
    path: string;
    DOTENV_KEY?: string;
    processEnv: Record<string, string>;
    quiet?: boolean;
  }): { parsed?: Record<string, string>; error?: Error };
}

const RUNTIMES: readonly (readonly [string, Runtime])[] = [
  ["dotenv 16.4.7", dotenv16 as unknown as Runtime],
  ["dotenv 17.4.2", dotenv17 as unknown as Runtime],
];

let dir: string;
let savedEnv: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vault-dotenv-"));
  savedEnv = { ...process.env };
  spyOn(console, "log").mockImplementation(() => {});
  spyOn(console, "error").mockImplementation(() => {});
});

afterEach(() => {
  mock.restore();
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  rmSync(dir, { recursive: true, force: true });
});

function open(runtime: Runtime, text: string, dotenvKey: string): Record<string, string> {
  const path = join(dir, ".env.vault");
  writeFileSync(path, text);
  const processEnv: Record<string, string> = {};
  const result = runtime.config({ path, DOTENV_KEY: dotenvKey, processEnv, quiet: true });
  if (result.error) throw result.error;
  expect(processEnv).toMatchObject(result.parsed ?? {});
  return result.parsed ?? {};
}

for (const [label, runtime] of RUNTIMES) {
  describe(`.env.vault opened by ${label}`, () => {
    it("yields exactly the pushed variables", () => {
      expect(open(runtime, vaultFile(7, OLD_KEY, PUSHED), uri(OLD_KEY))).toEqual(parse(PUSHED));
    });

    it("opens another environment of the same file with that environment's key", () => {
      expect(open(runtime, vaultFile(7, OLD_KEY, PUSHED), uri(key(9), "development"))).toEqual({ DEV: "1" });
    });

    it("opens both the old and the new file with DOTENV_KEY='<old>,<new>'", () => {
      const both = `${uri(OLD_KEY)},${uri(NEW_KEY)}`;
      expect(open(runtime, vaultFile(7, OLD_KEY, "A=old\n"), both)).toEqual({ A: "old" });
      expect(open(runtime, vaultFile(8, NEW_KEY, "A=new\n"), both)).toEqual({ A: "new" });
    });

    it("fails on the old file with the new key alone", () => {
      expect(() => open(runtime, vaultFile(7, OLD_KEY, "A=old\n"), uri(NEW_KEY))).toThrow(
        expect.objectContaining({ code: "DECRYPTION_FAILED" }),
      );
    });

    it("reads DOTENV_KEY from process.env when no option is given", () => {
      const path = join(dir, ".env.vault");
      writeFileSync(path, vaultFile(7, OLD_KEY, "B=2\n"));
      process.env.DOTENV_KEY = uri(OLD_KEY);
      const processEnv: Record<string, string> = {};
      expect(runtime.config({ path, processEnv, quiet: true }).parsed).toEqual({ B: "2" });
    });
  });
}

describe(".env.vault read by the dotenv-vault 1.27.0 CLI", () => {
  it("finds the project id, this server's URL and the CLI command, as readEnvVaultSettings does", () => {
    const text = vaultFile(7, OLD_KEY, "A=1\n");
    writeFileSync(join(dir, ".env.vault"), text);
    const cwd = process.cwd();
    delete process.env.DOTENV_API_URL;
    delete process.env.DOTENV_CLI;
    try {
      process.chdir(dir);
      const vars = new Vars();
      expect(vars.existingVaultValue).toBe(true);
      const seen: Record<string, string> = {
        DOTENV_VAULT: vars.vaultValue,
        DOTENV_API_URL: vars.apiUrl,
        DOTENV_CLI: vars.cli,
      };
      expect(seen).toEqual({ ...readEnvVaultSettings(text) });
      expect(vars.apiUrl).toBe("https://vault.example");
    } finally {
      process.chdir(cwd);
    }
  });
});
