import { describe, expect, it } from "bun:test";
import {
  childEnvironment,
  diffValues,
  exitCodeOfChild,
  gitignoreText,
  linkText,
  parseAssignments,
  parseDiffSide,
  parseEnvAtVersion,
  parseEnvRef,
  parseGrants,
  parseSince,
  RefError,
  renderDiff,
} from "../../src/client";
import { readEnvVaultSettings } from "../../src/dotenv";

const PROJECT = `vlt_${"ab".repeat(32)}`;
const OTHER = `vlt_${"cd".repeat(32)}`;

describe("parseEnvRef", () => {
  it("reads ENV, ENV@N and ENV@vN", () => {
    expect(parseEnvRef("production")).toEqual({ env: "production" });
    expect(parseEnvRef("production@3")).toEqual({ env: "production", version: 3 });
    expect(parseEnvRef("staging_eu@v12")).toEqual({ env: "staging_eu", version: 12 });
  });

  it("refuses bad names and versions with a RefError", () => {
    for (const bad of [
      "Production",
      "1env",
      "",
      "prod@",
      "prod@0",
      "prod@-1",
      "prod@x",
      "prod@3@4",
      "a".repeat(33),
    ]) {
      expect(() => parseEnvRef(bad), bad).toThrow(RefError);
    }
  });

  it("needs a version for rollback", () => {
    expect(parseEnvAtVersion("ci@2")).toEqual({ env: "ci", version: 2 });
    expect(() => parseEnvAtVersion("ci")).toThrow(/names no version/);
  });
});

describe("parseDiffSide", () => {
  it("reads environment names as environments and anything else as a file", () => {
    expect(parseDiffSide("staging")).toEqual({ kind: "env", env: "staging" });
    expect(parseDiffSide("staging@2")).toEqual({ kind: "env", env: "staging", version: 2 });
    expect(parseDiffSide(".env")).toEqual({ kind: "file", path: ".env" });
    expect(parseDiffSide("./staging")).toEqual({ kind: "file", path: "./staging" });
    expect(parseDiffSide("config/.env.local")).toEqual({ kind: "file", path: "config/.env.local" });
  });
});

describe("parseAssignments", () => {
  it("reads KEY=VALUE pairs, keeping = inside values and empty values", () => {
    expect(parseAssignments(["A=1", "B=x=y", "C="])).toEqual({ set: { A: "1", B: "x=y", C: "" } });
  });

  it("reads KEY - as a value from standard input, once", () => {
    expect(parseAssignments(["A=1", "PEM", "-"])).toEqual({ set: { A: "1" }, fromStdin: "PEM" });
    expect(() => parseAssignments(["A", "-", "B", "-"])).toThrow(/only one value/);
  });

  it("refuses a bare KEY without echoing what follows", () => {
    expect(() => parseAssignments(["KEY"])).toThrow(/KEY=VALUE/);
    expect(() => parseAssignments(["=secret"])).toThrow();
  });
});

describe("parseGrants", () => {
  it("reads ENV=PERMISSION words and comma lists", () => {
    expect(parseGrants(["production=read", "staging=write,ci=none"])).toEqual({
      production: "read",
      staging: "write",
      ci: "none",
    });
    expect(() => parseGrants(["production=admin"])).toThrow();
    expect(() => parseGrants(["production"])).toThrow();
  });
});

describe("parseSince", () => {
  it("reads durations back from now, and dates", () => {
    const now = Date.UTC(2030, 0, 2);
    expect(parseSince("24h", now)).toBe(Date.UTC(2030, 0, 1));
    expect(parseSince("30m", now)).toBe(now - 1_800_000);
    expect(parseSince("2030-01-01T00:00:00Z", now)).toBe(Date.UTC(2030, 0, 1));
    expect(() => parseSince("yesterday", now)).toThrow();
  });
});

describe("linkText", () => {
  it("writes a fresh .env.vault with the settings dotenv-vault reads", () => {
    const text = linkText(undefined, PROJECT, "https://vault.example.com");
    expect(readEnvVaultSettings(text)).toEqual({
      DOTENV_VAULT: PROJECT,
      DOTENV_API_URL: "https://vault.example.com",
      DOTENV_CLI: "npx dotenv-vault@1.27.0",
    });
  });

  it("relinks an existing .env.vault, keeping its DOTENV_VAULT_<ENV> lines and everything else", () => {
    const existing = [
      "# comment",
      'DOTENV_VAULT_DEVELOPMENT="abc=="',
      "DOTENV_VAULT_DEVELOPMENT_VERSION=3",
      `DOTENV_VAULT="${OTHER}"`,
      'DOTENV_API_URL="https://old.example.com"',
      'DOTENV_CLI="npx dotenv-vault@1.27.0"',
      "",
    ].join("\n");
    const text = linkText(existing, PROJECT, "https://new.example.com");
    expect(text).toContain('DOTENV_VAULT_DEVELOPMENT="abc=="');
    expect(text).toContain("DOTENV_VAULT_DEVELOPMENT_VERSION=3");
    expect(text).toContain("# comment");
    expect(text).not.toContain(OTHER);
    expect(readEnvVaultSettings(text).DOTENV_VAULT).toBe(PROJECT);
    expect(readEnvVaultSettings(text).DOTENV_API_URL).toBe("https://new.example.com");
  });

  it("adds the settings an existing file lacks", () => {
    const text = linkText('DOTENV_VAULT_CI="x"', PROJECT, "http://127.0.0.1:8750");
    expect(readEnvVaultSettings(text)).toMatchObject({
      DOTENV_VAULT: PROJECT,
      DOTENV_API_URL: "http://127.0.0.1:8750",
    });
    expect(text.startsWith('DOTENV_VAULT_CI="x"\n')).toBe(true);
  });
});

describe("gitignoreText", () => {
  it("adds .env* and then !.env.vault, once", () => {
    expect(gitignoreText(undefined)).toBe(".env*\n!.env.vault\n");
    expect(gitignoreText("node_modules")).toBe("node_modules\n.env*\n!.env.vault\n");
    expect(gitignoreText(".env*\n!.env.vault\n")).toBeUndefined();
  });

  it("puts the exception after the pattern, since git lets the last match win", () => {
    expect(gitignoreText("!.env.vault\n")).toBe("!.env.vault\n.env*\n!.env.vault\n");
    expect(gitignoreText("!.env.vault\n.env*\n")).toBe("!.env.vault\n.env*\n!.env.vault\n");
  });
});

describe("childEnvironment", () => {
  it("never passes the CLI's credential to the child", () => {
    const env = childEnvironment(
      { PATH: "/bin", VAULT_TOKEN: "vst_x", DOTENV_ME: "me_x" },
      { A: "1" },
      false,
    );
    expect(env).toEqual({ PATH: "/bin", A: "1" });
  });

  it("lets variables already set win, unless override", () => {
    expect(childEnvironment({ A: "mine" }, { A: "vault", B: "2" }, false)).toEqual({ A: "mine", B: "2" });
    expect(childEnvironment({ A: "mine" }, { A: "vault" }, true)).toEqual({ A: "vault" });
  });
});

describe("exitCodeOfChild", () => {
  it("passes exit codes through and maps a signal to 128 + its number", () => {
    expect(exitCodeOfChild(0, null)).toBe(0);
    expect(exitCodeOfChild(42, null)).toBe(42);
    expect(exitCodeOfChild(null, "SIGTERM")).toBe(143);
    expect(exitCodeOfChild(null, "SIGINT")).toBe(130);
    expect(exitCodeOfChild(null, "SIGKILL")).toBe(137);
  });
});

describe("diffValues", () => {
  it("names what was added, changed and removed, and masks values unless revealed", () => {
    const a = { A: "1", B: "2", C: "3" };
    const b = { A: "1", B: "two", D: "4" };
    const masked = diffValues(a, b, false, { from: "x", to: "y" });
    expect(masked).toEqual({
      from: "x",
      to: "y",
      added: ["D"],
      changed: ["B"],
      removed: ["C"],
      unchanged: 1,
    });
    const text = renderDiff(masked, false);
    expect(text).toContain("+ D\n");
    expect(text).toContain("~ B\n");
    expect(text).toContain("- C\n");
    expect(text).not.toContain("two");
    const shown = renderDiff(diffValues(a, b, true, { from: "x", to: "y" }), false);
    expect(shown).toContain("+ B=two");
    expect(shown).toContain("- B=2");
  });

  it("colours only when asked", () => {
    const d = diffValues({}, { A: "1" }, false, { from: "x", to: "y" });
    expect(renderDiff(d, false)).not.toContain("\u001b[");
    expect(renderDiff(d, true)).toContain("\u001b[32m+ A");
  });
});
