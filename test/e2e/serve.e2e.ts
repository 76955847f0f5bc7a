/**
 * `vault serve` from the compiled binary: the supervisor, its two children
 * (keeper and app), restarts, clean stops, the data directory's modes and
 * encryption, and a wrong root key.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { hasStackTrace, type Installed, installBinary, REPO_ROOT } from "../helpers/binary";
import { isRunning, waitFor } from "../helpers/proc";
import { type ServeProcess, startServe, stopAllServers } from "../helpers/serve";
import { selfSignedCert } from "../helpers/tls";

const SQLITE_HEADER = "SQLite format 3\0";

let vault: Installed;
let dataDirs = 0;

beforeAll(() => {
  vault = installBinary();
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

function newDataDir(): string {
  dataDirs += 1;
  return join(vault.dir, `data-${dataDirs}`);
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8).padStart(4, "0");
}

/** Every entry under a directory, recursively, as paths relative to it (directories end with "/"). */
function entries(dir: string, sub = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...entries(dir, rel));
    else out.push(rel);
  }
  return out;
}

/**
 * Every entry under a directory with its mode and, for files, a hash of its
 * bytes. SQLite's `-shm` files are left out: the shared-memory WAL index holds
 * no data and is rebuilt by every open, even one that then fails on a wrong key.
 */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of entries(dir)) {
    if (rel.endsWith("-shm")) continue;
    const path = join(dir, rel);
    const st = statSync(path);
    out[rel] = st.isFile()
      ? `${mode(path)} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`
      : `${mode(path)}${st.isDirectory() ? "" : " (special)"}`;
  }
  return out;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The libsql addon the binary was built with (this host's platform package). */
function hostAddon(): string {
  const libsqlDir = dirname(Bun.resolveSync("libsql", REPO_ROOT));
  return Bun.resolveSync(`@libsql/linux-${process.arch}-gnu/index.node`, libsqlDir);
}

/** The native addons (`.node` files) a process has mapped, by real path. */
function nativeAddonsMappedBy(pid: number): string[] {
  const paths = readFileSync(`/proc/${pid}/maps`, "utf8")
    .split("\n")
    .map((line) => line.split(/\s+/).slice(5).join(" "))
    .filter((path) => /\.node( \(deleted\))?$/.test(path));
  return [...new Set(paths)];
}

/** Kills one child of `server` with SIGKILL and waits for the supervisor to start another. */
async function killAndAwaitNew(
  server: ServeProcess,
  role: "keeper" | "app",
): Promise<{ before: number; after: number }> {
  const before = (await server.waitChildren())[role]!;
  process.kill(before, "SIGKILL");
  const after = await waitFor(
    `a new ${role}`,
    () => {
      const pid = server.children()[role];
      return pid && pid !== before ? pid : undefined;
    },
    { timeoutMs: 15_000 },
  );
  return { before, after };
}

/**
 * Some tests read the children's /proc/PID/maps. The serve processes are not
 * dumpable, which leaves those files to root: a test run by another user
 * starts them --debuggable to read them.
 */
const READ_MAPS = process.getuid?.() === 0 ? [] : ["--debuggable"];

async function startReady(data: string): Promise<ServeProcess> {
  const server = await startServe({ bin: vault.bin, cwd: vault.dir, data, args: READ_MAPS });
  await server.waitReady();
  return server;
}

describe("vault serve", () => {
  let server: ServeProcess;
  let data: string;

  beforeAll(async () => {
    data = newDataDir();
    server = await startReady(data);
  });

  afterAll(async () => {
    if (server && server.proc.exitCode === null) expect(await server.stop()).toBe(0);
  });

  it("answers /readyz 200 and /healthz 200 {status: ok}", async () => {
    expect(await server.status("/readyz")).toBe(200);
    const res = await server.get("/healthz");
    expect(res?.status).toBe(200);
    expect(await res?.json()).toEqual({ status: "ok" });
  });

  it("runs exactly two children: a keeper and an app", async () => {
    const children = await server.waitChildren();
    expect(children.all).toHaveLength(2);
    expect(children.keeper).not.toBe(children.app);
  });

  it("unpacks libsql's addon into <data>/lib once, and both children load it from there, not from $TMPDIR", async () => {
    const unpacked = join(data, "lib/libsql.node");
    expect(mode(join(data, "lib"))).toBe("0700");
    expect(mode(unpacked)).toBe("0600");
    expect(sha256(unpacked)).toBe(sha256(hostAddon()));
    const children = await server.waitChildren();
    for (const pid of [children.keeper!, children.app!]) {
      const addons = nativeAddonsMappedBy(pid);
      expect({ pid, addons }).toEqual({ pid, addons: [realpathSync(unpacked)] });
    }
    expect(nativeAddonsMappedBy(server.proc.pid)).toEqual([]);
  });

  it("keeps the keeper socket 0600 inside a 0700 directory", () => {
    expect(statSync(join(data, "keeper/keeper.sock")).isSocket()).toBe(true);
    expect(mode(join(data, "keeper/keeper.sock"))).toBe("0600");
    expect(mode(join(data, "keeper"))).toBe("0700");
  });

  it("writes app.key, root.key and keeper.token with mode 0600", () => {
    for (const file of ["app/app.key", "keeper/root.key", "app/keeper.token"]) {
      expect({ file, mode: mode(join(data, file)) }).toEqual({ file, mode: "0600" });
    }
  });

  it("lets neither group nor others into anything in the data directory", () => {
    for (const path of entries(data)) {
      const bits = statSync(join(data, path)).mode & 0o077;
      expect({ path, groupOrOther: bits.toString(8) }).toEqual({ path, groupOrOther: "0" });
    }
    expect(mode(data)).toBe("0700");
  });

  it("encrypts app.db and vault.db at rest (no plain SQLite header)", () => {
    for (const file of ["app/app.db", "keeper/vault.db"]) {
      const header = readFileSync(join(data, file)).subarray(0, SQLITE_HEADER.length).toString("latin1");
      expect({ file, plain: header === SQLITE_HEADER }).toEqual({ file, plain: false });
    }
  });

  it("restarts the keeper after kill -9 and becomes ready again", async () => {
    const { before, after } = await killAndAwaitNew(server, "keeper");
    expect(isRunning(before)).toBe(false);
    expect(after).not.toBe(before);
    await server.waitReady(15_000);
    expect((await server.waitChildren()).all).toHaveLength(2);
  });

  it("restarts the app after kill -9 and becomes ready again", async () => {
    const { before, after } = await killAndAwaitNew(server, "app");
    expect(after).not.toBe(before);
    await server.waitReady(15_000);
    expect((await server.waitChildren()).all).toHaveLength(2);
  });
});

describe("stopping vault serve", () => {
  afterEach(stopAllServers);

  it("ends every child and removes the keeper socket on SIGTERM, with exit code 0", async () => {
    const data = newDataDir();
    const server = await startReady(data);
    const children = await server.waitChildren();
    expect(existsSync(join(data, "keeper/keeper.sock"))).toBe(true);

    expect(await server.stop()).toBe(0);
    await waitFor("both children to be gone", () => !isRunning(children.keeper) && !isRunning(children.app), {
      timeoutMs: 5_000,
    });
    expect(existsSync(join(data, "keeper/keeper.sock"))).toBe(false);
    expect(await server.status("/readyz")).toBeUndefined();
  });

  it("starts again on the same data directory after kill -9 of the whole tree (stale socket)", async () => {
    const data = newDataDir();
    const first = await startReady(data);
    await first.waitChildren();
    const killed = await first.killTree();
    expect(killed).toHaveLength(3);
    // Nobody was left to clean up: the next start must cope with the leftovers.
    expect(existsSync(join(data, "keeper/keeper.sock"))).toBe(true);

    const second = await startServe({ bin: vault.bin, cwd: vault.dir, data });
    await second.waitReady();
    expect((await second.waitChildren()).all).toHaveLength(2);
    expect(await second.stop()).toBe(0);
  });

  it("leaves no child behind after kill -9 of the supervisor alone", async () => {
    const server = await startReady(newDataDir());
    const children = await server.waitChildren();
    process.kill(server.pid, "SIGKILL");
    await server.proc.exited;
    await waitFor(
      "the orphaned children to exit",
      () => !isRunning(children.keeper) && !isRunning(children.app),
      {
        timeoutMs: 10_000,
      },
    );
  });
});

describe("vault serve without its unpacked addon", () => {
  afterEach(stopAllServers);

  it("warns, starts anyway, and each child loads the addon Bun unpacks for it", async () => {
    const data = newDataDir();
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(data, "lib"), "a file where the directory should be\n", { mode: 0o600 });
    const server = await startReady(data);
    expect(server.stderr).toMatch(/could not unpack the libsql addon/);
    expect(hasStackTrace(server.stderr)).toBe(false);
    const children = await server.waitChildren();
    for (const pid of [children.keeper!, children.app!]) {
      const addons = nativeAddonsMappedBy(pid);
      expect(addons).toHaveLength(1);
      expect(addons[0]).not.toContain(data);
    }
    expect(await server.status("/readyz")).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it("restarts a crashed keeper on the embedded addon when DATA/lib/libsql.node was removed behind it", async () => {
    const data = newDataDir();
    const server = await startReady(data);
    rmSync(join(data, "lib/libsql.node"));
    const { after } = await killAndAwaitNew(server, "keeper");
    await server.waitReady(15_000);
    const addons = nativeAddonsMappedBy(after);
    expect(addons).toHaveLength(1);
    expect(addons[0]).not.toContain(data);
    expect(await server.stop()).toBe(0);
  });
});

describe("vault serve with a wrong root key", () => {
  afterEach(stopAllServers);

  it("exits non-zero with a `vault: error:` line, no stack trace, and changes no file", async () => {
    const data = newDataDir();
    const first = await startReady(data);
    expect(await first.stop()).toBe(0);

    const rootKey = join(data, "keeper/root.key");
    writeFileSync(rootKey, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    expect(mode(rootKey)).toBe("0600");
    const before = snapshot(data);

    const server = await startServe({ bin: vault.bin, cwd: vault.dir, data });
    const code = await server.exited(30_000);
    expect(code).not.toBe(0);
    expect(server.stderr).toMatch(/^vault: error: \S.*$/m);
    expect(hasStackTrace(server.stderr)).toBe(false);
    expect(snapshot(data)).toEqual(before);
  });
});

describe("vault serve refuses a start bound to fail before it touches anything", () => {
  afterEach(stopAllServers);

  /** Starts serve with `args`, waits for its exit; its code and stderr, and whether DATA was made. */
  async function failedStart(data: string, args: string[], listen?: string) {
    const server = await startServe({ bin: vault.bin, cwd: vault.dir, data, args, listen });
    const code = await server.exited(30_000);
    return { code, stderr: server.stderr, dataDirMade: existsSync(data) };
  }

  function expectRefusal(
    result: { code: number; stderr: string; dataDirMade: boolean },
    error: RegExp,
    hint: RegExp,
  ) {
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(error);
    expect(result.stderr).toMatch(hint);
    expect(hasStackTrace(result.stderr)).toBe(false);
    // Nothing started: no child, no keeper.
    expect(result.stderr).not.toMatch(/"msg":"started"/);
    expect(result.dataDirMade).toBe(false);
  }

  it("on a busy port: `vault: error:` and a hint, no data directory, no keeper", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const result = await failedStart(newDataDir(), [], `127.0.0.1:${port}`);
      expectRefusal(
        result,
        new RegExp(`^vault: error: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use$`, "m"),
        /^vault: hint: stop whatever holds it.*--listen$/m,
      );
    } finally {
      holder.close();
    }
  });

  it("with a TLS key that is not the certificate's, or a TLS file that is missing", async () => {
    const one = join(vault.dir, "tls-one");
    const two = join(vault.dir, "tls-two");
    mkdirSync(one);
    mkdirSync(two);
    const a = selfSignedCert(one);
    const b = selfSignedCert(two);
    expectRefusal(
      await failedStart(newDataDir(), ["--tls-cert", a.cert, "--tls-key", b.key]),
      /^vault: error: --tls-key \S+ is not the key of the certificate in --tls-cert \S+$/m,
      /^vault: hint: give the private key that belongs to the certificate/m,
    );
    expectRefusal(
      await failedStart(newDataDir(), ["--tls-cert", join(one, "missing.pem"), "--tls-key", a.key]),
      /^vault: error: --tls-cert \S+missing\.pem: no such file$/m,
      /^vault: hint: /m,
    );
  });

  it("with --data naming a file", async () => {
    const file = join(vault.dir, "not-a-directory");
    writeFileSync(file, "x\n");
    const server = await startServe({ bin: vault.bin, cwd: vault.dir, data: file });
    const code = await server.exited(30_000);
    expect(code).toBe(7);
    expect(server.stderr).toMatch(/^vault: error: --data \S+ is not a directory$/m);
    expect(readFileSync(file, "utf8")).toBe("x\n");
  });

  it("on a data directory another server runs on: says which process, before the port it also holds", async () => {
    const data = newDataDir();
    const first = await startReady(data);
    const second = await startServe({ bin: vault.bin, cwd: vault.dir, data, listen: first.listen });
    expect(await second.exited(30_000)).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `^vault: error: another vault serve \\(pid ${first.pid}\\) is running on this data directory$`,
        "m",
      ),
    );
    expect(await first.status("/readyz")).toBe(200);
    expect(await first.stop()).toBe(0);
  });
});

describe("vault serve --behind-proxy --trusted-proxy", () => {
  afterEach(stopAllServers);

  it("takes the flag repeated, and says whom it trusts in its starting line", async () => {
    const server = await startServe({
      bin: vault.bin,
      cwd: vault.dir,
      data: newDataDir(),
      args: ["--behind-proxy", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "fd00::/8,192.168.1.5"],
    });
    await server.waitReady();
    const starting = server.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .find((line) => line.msg === "starting");
    expect(starting?.trustedProxies).toBe("10.0.0.0/8,fd00::/8,192.168.1.5");
    expect(starting?.coreDumps).toBe("off (not dumpable)");
    expect(await server.stop()).toBe(0);
  });
});
