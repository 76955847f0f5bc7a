/**
 * Durability of the compiled server (issue 17): the supervisor hands
 * `--durability` to both children, so the keeper's vault.db and the app's
 * app.db sync every commit by default and keep NORMAL with `--durability
 * fast` (read back from /metrics, which reports each process's own
 * connection).
 *
 * Power-loss testing needs a file system that drops the writes that were not
 * synced when the "power" goes: a loop device under device-mapper's flakey
 * target (`drop_writes`), or LazyFS (FUSE). `powerCutLab()` says what this
 * kernel and container lack; the test skips with that message where the lab
 * cannot be built (on the 6.18 Firecracker kernel this was written on: no
 * device-mapper and no module loading).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Installed, installBinary } from "../helpers/binary";
import { startServe, stopAllServers } from "../helpers/serve";
import { parsePrometheus } from "../ops/prometheus";

let vault: Installed;

beforeAll(() => {
  vault = installBinary();
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

afterEach(stopAllServers);

async function synchronousOf(args: string[], env: Record<string, string> = {}) {
  const server = await startServe({
    bin: vault.bin,
    cwd: vault.dir,
    data: join(vault.dir, `data-${args.join("-") || "default"}-${Object.keys(env).join("-")}`),
    args,
    env,
  });
  await server.waitReady();
  const text = await (await fetch(`${server.url}/metrics`)).text();
  await server.stop();
  const samples = parsePrometheus(text).filter((s) => s.name === "vault_db_synchronous");
  return Object.fromEntries(samples.map((s) => [s.labels.db, s.value]));
}

describe("durability of the compiled server", () => {
  it("syncs every commit in both processes' databases by default (synchronous 2 = FULL)", async () => {
    expect(await synchronousOf([])).toEqual({ app: 2, vault: 2 });
  });

  it("keeps synchronous NORMAL (1) in the app's and the keeper's database with --durability fast", async () => {
    expect(await synchronousOf(["--durability", "fast"])).toEqual({ app: 1, vault: 1 });
  });

  it("takes VAULT_DURABILITY=fast in both processes", async () => {
    expect(await synchronousOf([], { VAULT_DURABILITY: "fast" })).toEqual({ app: 1, vault: 1 });
  });
});

/** Why a power cut cannot be simulated here, or undefined when it can (dm-flakey over a loop device). */
function powerCutLab(): string | undefined {
  const run = (cmd: string[]) => {
    try {
      const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
      return { ok: p.exitCode === 0, out: `${p.stdout.toString()}${p.stderr.toString()}`.trim() };
    } catch (error) {
      return { ok: false, out: String((error as Error).message) };
    }
  };
  const lacks: string[] = [];
  if (process.getuid?.() !== 0) lacks.push("not root (losetup, dmsetup and mount need it)");
  const kernel = run(["uname", "-r"]).out;
  const dm = run(["dmsetup", "targets"]);
  if (!dm.ok) {
    const modules = existsSync("/proc/modules")
      ? existsSync(`/lib/modules/${kernel}`)
        ? "modprobe dm-flakey did not help"
        : `no /lib/modules/${kernel}, so modprobe dm-flakey has nothing to load`
      : "the kernel loads no modules (no /proc/modules), so modprobe dm-flakey cannot add it";
    lacks.push(
      `kernel ${kernel} has no device-mapper (dmsetup targets: ${dm.out.split("\n")[0] || "not installed"}); ${modules}`,
    );
  } else if (!/^flakey\b/m.test(dm.out)) {
    lacks.push(`device-mapper on kernel ${kernel} has no flakey target (CONFIG_DM_FLAKEY)`);
  }
  if (!run(["losetup", "-f"]).ok) lacks.push("no free loop device (losetup -f)");
  if (lacks.length === 0) return undefined;
  // LazyFS, the other way: a FUSE file system built from source (C++, libfuse3), not packaged.
  const lazyfs = run(["sh", "-c", "command -v lazyfs"]).ok;
  if (!lazyfs)
    lacks.push("and no LazyFS (not packaged for Debian; built from its source, which is not here)");
  return lacks.join("; ");
}

describe("power loss", () => {
  const lacks = powerCutLab();
  if (lacks) console.warn(`power-loss test skipped: ${lacks}`);
  it.skipIf(lacks !== undefined)(
    `loses no acknowledged push when unsynced writes are dropped (dm-flakey drop_writes)${lacks ? ` [skipped: ${lacks}]` : ""}`,
    () => {
      // Reached only on a kernel with dm-flakey: the lab exists, but this test is not written yet
      // (it could not be run where it was written). Fail rather than pass without proving anything.
      throw new Error(
        "dm-flakey is available here: write the power-cut test (see bench/RESULTS.md, power loss)",
      );
    },
  );
});
