/**
 * The compiled binary's `vault serve` processes keep their memory off the
 * disk and away from other processes: started with core files allowed,
 * every process shows `Max core file size 0` (soft and hard), a crash
 * leaves no core file, and another process of the same user cannot read
 * their memory maps (not dumpable) unless `--debuggable`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { binaryPath, makeTempDir } from "../helpers/binary";
import { waitFor } from "../helpers/proc";
import { type ServeProcess, startServe, stopAllServers } from "../helpers/serve";

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

let dir: string;
let bin: string;

beforeAll(() => {
  dir = makeTempDir("vault-harden-");
  bin = join(dir, "vault");
  copyFileSync(binaryPath(), bin);
  chmodSync(bin, 0o755);
});

afterAll(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(stopAllServers);

/** A script that runs the binary with core files allowed (the soft limit raised to the hard one). */
function withCoreFilesAllowed(): string {
  const wrapper = join(dir, "vault-core-allowed");
  writeFileSync(wrapper, `#!/bin/sh\nulimit -c "$(ulimit -H -c)" || exit 97\nexec "${bin}" "$@"\n`, {
    mode: 0o755,
  });
  return wrapper;
}

function coreLimits(pid: number): string[] {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max core file size"));
  return line!.split(/\s{2,}/).slice(1, 3);
}

function coreFiles(path: string): string[] {
  return readdirSync(path).filter((name) => /^core\b/.test(name));
}

const hardLimitAllowsCores =
  spawnSync("sh", ["-c", "ulimit -H -c"], { encoding: "utf8" }).stdout.trim() !== "0";

describe("vault serve and core files", () => {
  it.skipIf(!hardLimitAllowsCores)(
    "every serve process (supervisor, keeper, app) runs with Max core file size 0, soft and hard, though started with cores allowed",
    async () => {
      const wrapper = withCoreFilesAllowed();
      // The control: the way the wrapper raises the limit does allow core files.
      const allowed = spawnSync("sh", ["-c", 'ulimit -c "$(ulimit -H -c)" && cat /proc/self/limits'], {
        encoding: "utf8",
      }).stdout;
      expect(allowed).not.toMatch(/^Max core file size\s+0\s/m);

      const server = await startServe({ bin: wrapper, cwd: dir, data: join(dir, "data-limits") });
      await server.waitReady();
      const children = await server.waitChildren();
      for (const [role, pid] of [
        ["supervisor", server.pid],
        ["keeper", children.keeper],
        ["app", children.app],
      ] as const) {
        expect({ role, core: coreLimits(pid) }).toEqual({ role, core: ["0", "0"] });
      }
      expect(server.stdout + server.stderr).not.toContain("could not turn core dumps off");
      expect(await server.stop()).toBe(0);
    },
  );

  const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8").trim();
  it.skipIf(!hardLimitAllowsCores || corePattern.startsWith("|") || corePattern.startsWith("/"))(
    "a crashed app (SIGQUIT: dump core) leaves no core file in its working directory, and is restarted",
    async () => {
      const cwd = join(dir, "crash");
      mkdirSync(cwd);
      const server = await startServe({ bin: withCoreFilesAllowed(), cwd, data: join(cwd, "data") });
      await server.waitReady();
      const before = (await server.waitChildren()).app;
      process.kill(before, "SIGQUIT");
      await waitFor(
        "a new app",
        () => {
          const pid = server.children().app;
          return pid && pid !== before ? pid : undefined;
        },
        { timeoutMs: 15_000 },
      );
      await server.waitReady(15_000);
      expect(server.stderr).toMatch(/child exited; restarting/);
      expect(coreFiles(cwd)).toEqual([]);
      expect(await server.stop()).toBe(0);
    },
  );
});

describe("vault's other commands and core files", () => {
  it.skipIf(!hardLimitAllowsCores)(
    "an operator command that holds the key files (admin user add, waiting for its password) runs with Max core file size 0, though started with cores allowed",
    async () => {
      const proc = Bun.spawn(
        [
          withCoreFilesAllowed(),
          "admin",
          "user",
          "add",
          "a@example.com",
          "--password-stdin",
          "--data",
          join(dir, "data-admin"),
        ],
        { cwd: dir, stdin: "pipe", stdout: "ignore", stderr: "ignore" },
      );
      try {
        // The wrapper (sh) first raises the soft limit, then execs vault, which lowers both.
        const isVault = () => readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").includes("admin");
        await waitFor("the wrapper to exec vault", () => isVault() || undefined, { timeoutMs: 10_000 });
        const limits = await waitFor(
          "vault to lower its core limit",
          () => {
            const found = coreLimits(proc.pid);
            return found[1] === "0" ? found : undefined;
          },
          { timeoutMs: 10_000 },
        );
        expect(limits).toEqual(["0", "0"]);
      } finally {
        proc.kill();
        await proc.exited;
      }
    },
  );
});

/**
 * Runs the server as a non-root user (nobody, through setpriv, when the tests
 * run as root) and reads its children's /proc files as that same user.
 */
function sameUser(): {
  bin: string;
  cwd: string;
  env: Record<string, string>;
  read: (path: string) => boolean;
} {
  if (!isRoot) {
    return {
      bin,
      cwd: dir,
      env: {},
      read: (path) => spawnSync("cat", [path], { stdio: "ignore" }).status === 0,
    };
  }
  const home = join(dir, "nobody");
  mkdirSync(join(home, "tmp"), { recursive: true });
  chmodSync(dir, 0o755);
  for (const path of [home, join(home, "tmp")]) chownSync(path, NOBODY, NOBODY);
  const setpriv = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--"];
  const wrapper = join(dir, "vault-as-nobody");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${setpriv.join(" ")} "${bin}" "$@"\n`, { mode: 0o755 });
  return {
    bin: wrapper,
    cwd: home,
    env: { TMPDIR: join(home, "tmp") },
    read: (path) =>
      spawnSync(setpriv[0]!, [...setpriv.slice(1), "cat", path], { stdio: "ignore" }).status === 0,
  };
}

describe.skipIf(isRoot && spawnSync("setpriv", ["--version"]).status !== 0)(
  "vault serve and other processes of its user",
  () => {
    let as: ReturnType<typeof sameUser>;
    beforeAll(() => {
      as = sameUser();
    });

    async function start(name: string, args: string[] = []): Promise<ServeProcess> {
      const server = await startServe({
        bin: as.bin,
        cwd: as.cwd,
        data: join(as.cwd, name),
        env: as.env,
        args,
      });
      await server.waitReady();
      return server;
    }

    it("cannot read the memory maps of any serve process (not dumpable), though /proc/PID/limits stays readable", async () => {
      const server = await start("data-private");
      const children = await server.waitChildren();
      for (const pid of [server.pid, children.keeper, children.app]) {
        expect({ pid, maps: as.read(`/proc/${pid}/maps`), limits: as.read(`/proc/${pid}/limits`) }).toEqual({
          pid,
          maps: false,
          limits: true,
        });
      }
      expect(await server.stop()).toBe(0);
    });

    it("can with --debuggable (the control: the same reader succeeds), and core files stay off", async () => {
      const server = await start("data-debuggable", ["--debuggable"]);
      const children = await server.waitChildren();
      for (const pid of [server.pid, children.keeper, children.app]) {
        expect({ pid, maps: as.read(`/proc/${pid}/maps`), core: coreLimits(pid) }).toEqual({
          pid,
          maps: true,
          core: ["0", "0"],
        });
      }
      expect(await server.stop()).toBe(0);
    });
  },
);
