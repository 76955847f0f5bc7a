/**
 * The completion scripts, generated from the command table and run by the
 * real shells: bash always, zsh and fish when installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/cli";

const dir = mkdtempSync(join(tmpdir(), "vault-completion-"));
const scripts: Record<string, string> = {};
const empty = mkdtempSync(join(dir, "cwd-"));

async function script(shell: string): Promise<string> {
  let out = "";
  const code = await run(["completion", shell], {
    env: {},
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: () => undefined },
  });
  expect(code).toBe(0);
  const path = join(dir, `vault.${shell}`);
  writeFileSync(path, out);
  return path;
}

const has = (shell: string) => spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  for (const shell of ["bash", "zsh", "fish"]) scripts[shell] = await script(shell);
});

/** What bash offers after `vault <words...>` with the cursor on the last (possibly empty) word. */
function bash(words: string[]): string[] {
  const all = ["vault", ...words];
  const probe = `source ${scripts.bash}
COMP_WORDS=(${all.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${all.length - 1}
_vault; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = spawnSync("bash", ["-c", probe], { encoding: "utf8" });
  expect(out.stderr).toBe("");
  return out.stdout.split("\n").filter(Boolean).sort();
}

function zsh(words: string[]): string[] {
  const all = ["vault", ...words];
  const probe = `compdef() { : }
compadd() { [[ "$1" == "--" ]] && shift; print -l -- "$@" }
_files() { : }
source ${scripts.zsh}
words=(${all.map((w) => `'${w}'`).join(" ")}); CURRENT=${all.length}; PREFIX='${all.at(-1)}'
_vault`;
  const out = spawnSync("zsh", ["-f", "-c", probe], { encoding: "utf8" });
  expect(out.stderr).toBe("");
  const prefix = all.at(-1)!;
  return out.stdout
    .split("\n")
    .filter((w) => w !== "" && w.startsWith(prefix))
    .sort();
}

function fish(words: string[]): string[] {
  const line = ["vault", ...words].join(" ");
  // From an empty directory: fish offers files too, and there are none.
  const out = spawnSync("fish", ["--no-config", "-c", `source ${scripts.fish}; complete -C '${line}'`], {
    encoding: "utf8",
    cwd: empty,
  });
  expect(out.stderr).toBe("");
  const prefix = words.at(-1) ?? "";
  return out.stdout
    .split("\n")
    .map((l) => l.split("\t")[0]!)
    .filter((w) => w !== "" && w.startsWith(prefix) && !w.includes("/"))
    .sort();
}

const shells = { bash, zsh, fish } as const;

describe("vault completion", () => {
  for (const [name, complete] of Object.entries(shells)) {
    const maybe = name === "bash" || has(name) ? it : it.skip;

    maybe(`${name}: completes command words from the command table`, () => {
      expect(complete(["keep"])).toEqual(["keeper"]);
      expect(complete(["keeper", ""])).toEqual(["rotate", "rotate-root", "status"]);
      expect(complete(["members", ""])).toEqual(["add", "grant", "list", "rm"]);
      expect(complete(["admin", "user", ""])).toEqual(["add", "disable", "enable", "list", "reset-password"]);
      expect(complete(["pu"])).toEqual(["pull", "push"]);
    });

    maybe(`${name}: completes a command's flags, also after its arguments`, () => {
      expect(complete(["push", "--f"])).toEqual(["--force"]);
      expect(complete(["run", "--no"])).toEqual([]);
      expect(complete(["export", "--form"])).toEqual(["--format"]);
      expect(complete(["push", "staging", "--m"])).toEqual(["--merge"]);
    });
  }

  it("refuses an unknown shell with a usage error", async () => {
    let err = "";
    const code = await run(["completion", "powershell"], {
      env: {},
      stdout: { write: () => undefined },
      stderr: { write: (t: string) => (err += t) },
    });
    expect(code).toBe(2);
    expect(err).toStartWith("vault: error: give one shell: bash, zsh, fish");
  });
});
