/**
 * scripts/ensure-test-deps.sh, which `make test` runs first so that a fresh
 * machine with Node.js and npm passes it: with a PATH made for each case and
 * a stand-in apt-get that records its calls (and "installs" stand-in tools).
 */
import { afterAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SCRIPT = join(import.meta.dir, "../../scripts/ensure-test-deps.sh");
const TOOLS = ["tmux", "openssl", "git", "chromium", "faketime"];
const isRoot = process.getuid?.() === 0;
/** The script also checks two files (fonts, libfaketime) that no PATH can hide: the cases below assume they are there. */
const filesThere =
  existsSync("/usr/share/fonts/truetype/liberation") &&
  spawnSync("bash", ["-c", "compgen -G '/usr/lib/*/faketime/libfaketime.so.1'"]).status === 0;
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A bin directory with the basics, the given stand-in tools, and an apt-get that logs and installs stand-ins. */
function sandbox(present: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "vault-deps-"));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  for (const tool of ["bash", "id", "sort"]) symlinkSync(Bun.which(tool)!, join(dir, tool));
  const stub = (name: string) => writeFileSync(join(dir, name), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  for (const tool of present) stub(tool);
  const log = join(dir, "apt-get.log");
  writeFileSync(
    join(dir, "apt-get"),
    `#!/bin/sh\necho "$*" >> ${log}\nfor p in "$@"; do case "$p" in -*|update|install) ;; *) printf '#!/bin/sh\\nexit 0\\n' > ${dir}/$p; ${Bun.which("chmod")} 755 ${dir}/$p ;; esac; done\n`,
    { mode: 0o755 },
  );
  return {
    /** Runs the script with only this directory on PATH; `asNobody` drops root first (setpriv). */
    run(asNobody = false) {
      const command = [join(dir, "bash"), SCRIPT];
      if (asNobody && isRoot)
        command.unshift(Bun.which("setpriv")!, "--reuid=65534", "--regid=65534", "--clear-groups", "--");
      const out = spawnSync(command[0]!, command.slice(1), { env: { PATH: dir }, encoding: "utf8" });
      if (out.error) throw out.error;
      return { code: out.status, stderr: out.stderr };
    },
    aptCalls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []),
  };
}

describe.skipIf(!filesThere)("scripts/ensure-test-deps.sh", () => {
  it("does nothing when every tool is there", () => {
    const box = sandbox(TOOLS);
    expect(box.run()).toEqual({ code: 0, stderr: "" });
    expect(box.aptCalls()).toEqual([]);
  });

  it.skipIf(!isRoot)("as root, installs with apt-get only what is missing, then checks again", () => {
    const box = sandbox(["openssl", "git"]);
    const result = box.run();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("installed chromium faketime tmux");
    expect(box.aptCalls()).toEqual([
      "update -qq",
      "install -y -qq --no-install-recommends chromium faketime tmux",
    ]);
    // A second run finds everything.
    expect(box.run()).toEqual({ code: 0, stderr: "" });
  });

  it("not as root, names what is missing and the command that installs it, installs nothing, and fails", () => {
    const box = sandbox(["openssl", "git", "faketime"]);
    const result = box.run(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: the tests need chromium tmux, which are not installed");
    expect(result.stderr).toContain(
      "hint: install them as root: sudo apt-get install -y --no-install-recommends chromium tmux",
    );
    expect(box.aptCalls()).toEqual([]);
  });
});

describe.skipIf(Bun.which("make") === null)("make test and make e2e", () => {
  it("check the system tools before they run any test", () => {
    const root = join(import.meta.dir, "../..");
    for (const target of ["test", "e2e"]) {
      const lines = spawnSync("make", ["-n", "-C", root, target], { encoding: "utf8" }).stdout.split("\n");
      const deps = lines.findIndex((line) => line.includes("scripts/ensure-test-deps.sh"));
      const firstTest = lines.findIndex((line) => /\bbun (run check|test)\b/.test(line));
      expect({ target, deps: deps >= 0, before: deps < firstTest }).toEqual({
        target,
        deps: true,
        before: true,
      });
    }
  });
});
