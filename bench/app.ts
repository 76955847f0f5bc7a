/**
 * The application under load, against the compiled binary (`vault serve` on
 * loopback, audit on), with baselines measured in the same run:
 *
 * - pull of a 100-key environment at 32 concurrent clients: throughput and
 *   p50/p99 against a bare Bun.serve answering the same number of bytes
 *   (goal: at least 0.45 of the bare server's throughput, p99 under 5 ms);
 * - durable pushes of 100 keys at 8 clients (each on its own environment),
 *   with the default `--durability full`, against the push baseline
 *   (bench/push-baseline.ts: the same rows committed to two libsql files with
 *   the same pragmas by 8 writers, one transaction in each file per push,
 *   nothing of ours in between; goal: at least 0.5 of it), and with
 *   `--durability fast` (synchronous NORMAL) on a second server for
 *   comparison. BENCH_BEFORE=path/to/an/older/vault adds that binary
 *   (started with --durability fast, as a release before FULL ran) to the
 *   same slices: the goal is that FULL beats it;
 * - pull latency for environments of 10, 100, 1,000 and 10,000 keys (goal:
 *   linear), and for a fixed environment while the instance holds 1,000 and
 *   then many more values (goal: flat). BENCH_FULL=1 grows the instance to
 *   1,000,000 values; the default is 100,000 so the suite stays short.
 *
 * Each comparison is measured in alternating slices of a second (five of
 * each by default), not one after the other, so a change in the shared
 * machine's speed weighs on both sides of a ratio alike.
 *
 * BENCH_SECONDS sets each load phase (default 5). Each load is measured after
 * BENCH_WARMUP seconds of the same load (default 3): the server's JIT needs a
 * few seconds of traffic to reach its steady state, and a one-second warm-up
 * measured 20-25% below it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addUser, installBinary } from "../test/helpers/binary";
import { freePort, ServeProcess } from "../test/helpers/serve";
import { openPushBaseline } from "./push-baseline";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const FULL = process.env.BENCH_FULL === "1";
const PASSWORD = "bench password, long enough";

interface Load {
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

interface Raw {
  latencies: number[];
  errors: number;
  seconds: number;
}

async function run(
  concurrency: number,
  seconds: number,
  once: (worker: number) => Promise<boolean>,
  into: Raw = { latencies: [], errors: 0, seconds: 0 },
): Promise<Raw> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const ok = await once(worker).catch(() => false);
        into.latencies.push(performance.now() - t0);
        if (!ok) into.errors++;
      }
    }),
  );
  into.seconds += (performance.now() - start) / 1000;
  return into;
}

function summary(raw: Raw): Load {
  const latencies = [...raw.latencies].sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors: raw.errors,
    seconds: raw.seconds,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
  };
}

const load = async (concurrency: number, seconds: number, once: (worker: number) => Promise<boolean>) =>
  summary(await run(concurrency, seconds, once));

/**
 * Loads measured in alternating slices, so that a change in the machine's own
 * speed during the run (these machines are shared) weighs on every side of a
 * ratio alike.
 */
async function interleaved(
  concurrency: number,
  seconds: number,
  loads: ((worker: number) => Promise<boolean>)[],
  slices = 5,
): Promise<Load[]> {
  const raws: Raw[] = loads.map(() => ({ latencies: [], errors: 0, seconds: 0 }));
  for (let i = 0; i < slices; i++) {
    for (const [j, once] of loads.entries()) await run(concurrency, seconds / slices, once, raws[j]);
  }
  return raws.map(summary);
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const file = (keys: number, salt: string) =>
  `${Array.from({ length: keys }, (_, i) => `KEY_${i}="value-${salt}-${i}-${"x".repeat(24)}"`).join("\n")}\n`;

/** Parts to run (BENCH_PARTS=pull,push,size; default all), for measuring one part again. */
const PARTS = new Set((process.env.BENCH_PARTS ?? "pull,push,size").split(","));

const installed = installBinary();
const servers: ServeProcess[] = [];
const scratch: string[] = [];

/** A server on its own data directory, with its owner signed in and a project. */
async function instance(name: string, args: string[], bin = installed.bin) {
  const port = await freePort();
  const data = `${installed.dir}/data-${name}`;
  const server = new ServeProcess({
    bin,
    cwd: installed.dir,
    data,
    listen: `127.0.0.1:${port}`,
    args: ["--rate-limit-address", "0", "--rate-limit-credential", "0", "--log-level", "warn", ...args],
  });
  servers.push(server);
  await server.waitReady();
  addUser(bin, { cwd: installed.dir, data, email: "bench@example.com", password: PASSWORD, role: "owner" });
  const base = `http://127.0.0.1:${port}/api/v1`;
  const json = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, string>>;
  };
  const { token } = await json("POST", "/auth/login", { email: "bench@example.com", password: PASSWORD });
  const project = await json("POST", "/projects", { name: "bench" }, token);
  const envUrl = (env: string) => `/projects/${project.id}/environments/${env}`;
  return { base, json, token: token!, project, envUrl, headers: { authorization: `Bearer ${token}` } };
}
type Instance = Awaited<ReturnType<typeof instance>>;

/** 8 pushers of 100 changed keys, each on its own environment of `inst`. */
async function pushers(inst: Instance) {
  const envs = ["development", "ci", "staging", "production"];
  for (let i = 0; i < 4; i++)
    await inst.json("POST", `/projects/${inst.project.id}/environments`, { name: `extra${i}` }, inst.token);
  envs.push("extra0", "extra1", "extra2", "extra3");
  let counter = 0;
  return async (worker: number) => {
    const res = await fetch(`${inst.base}${inst.envUrl(envs[worker]!)}/secrets`, {
      method: "PUT",
      headers: { ...inst.headers, "content-type": "application/json" },
      body: JSON.stringify({ dotenv: file(100, `p${counter++}`) }),
    });
    await res.arrayBuffer();
    return res.ok;
  };
}

try {
  const main = await instance("full", []);
  // The same server with --durability fast (synchronous NORMAL), for comparison.
  const fastServer = await instance("fast", ["--durability", "fast"]);
  // BENCH_BEFORE: an older binary (a release from before FULL, which ran NORMAL), in the same slices.
  const before = process.env.BENCH_BEFORE;
  const beforeServer = before ? await instance("before", [], before) : undefined;
  const { base, json, token, project, envUrl, headers } = main;
  await json("PUT", `${envUrl("development")}/secrets`, { dotenv: file(100, "pull") }, token);
  const rps = (l: Load) => l.requests / l.seconds;
  const rows: string[] = [];

  // 1. Pull at 32 concurrent clients, against a bare Bun.serve of the same size.
  const pullUrl = `${base}${envUrl("development")}/secrets`;
  const pullOnce = async () => {
    const res = await fetch(pullUrl, { headers });
    await res.arrayBuffer();
    return res.ok;
  };
  if (PARTS.has("pull")) {
    await fastServer.json(
      "PUT",
      `${fastServer.envUrl("development")}/secrets`,
      { dotenv: file(100, "pull") },
      fastServer.token,
    );
    const fastUrl = `${fastServer.base}${fastServer.envUrl("development")}/secrets`;
    if (beforeServer)
      await beforeServer.json(
        "PUT",
        `${beforeServer.envUrl("development")}/secrets`,
        { dotenv: file(100, "pull") },
        beforeServer.token,
      );
    const beforeUrl = beforeServer && `${beforeServer.base}${beforeServer.envUrl("development")}/secrets`;
    const beforePullOnce = async () => {
      const res = await fetch(beforeUrl!, { headers: beforeServer!.headers });
      await res.arrayBuffer();
      return res.ok;
    };
    const fastPullOnce = async () => {
      const res = await fetch(fastUrl, { headers: fastServer.headers });
      await res.arrayBuffer();
      return res.ok;
    };
    const sample = await (await fetch(pullUrl, { headers })).arrayBuffer();
    const barePort = await freePort();
    const bareServer = Bun.spawn(
      [
        process.execPath,
        "-e",
        `const body = new Uint8Array(${sample.byteLength}).fill(97); Bun.serve({ port: ${barePort}, hostname: "127.0.0.1", fetch: () => new Response(body, { headers: { "content-type": "application/json" } }) }); console.log("ready");`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    for await (const _ of bareServer.stdout) break;
    const bareOnce = async () => {
      const res = await fetch(`http://127.0.0.1:${barePort}/`);
      await res.arrayBuffer();
      return res.ok;
    };
    await load(32, WARMUP, pullOnce);
    await load(32, WARMUP, bareOnce);
    await load(32, WARMUP, fastPullOnce);
    if (beforeServer) await load(32, WARMUP, beforePullOnce);
    const [pull, bareLoad, fastPull, beforePull] = (await interleaved(32, SECONDS, [
      pullOnce,
      bareOnce,
      fastPullOnce,
      ...(beforeServer ? [beforePullOnce] : []),
    ])) as [Load, Load, Load, Load | undefined];
    bareServer.kill();
    rows.push(
      `| pull, 100 keys, 32 clients (req/s) | ${fmt(rps(pull))} | ${fmt(rps(bareLoad))} (bare Bun.serve, ${sample.byteLength} B) | ${fmt(rps(pull) / rps(bareLoad), 2)} | >= 0.45 |`,
      `| pull p50 / p99 (ms) | ${fmt(pull.p50, 2)} / ${fmt(pull.p99, 2)} | ${fmt(bareLoad.p50, 2)} / ${fmt(bareLoad.p99, 2)} | | p99 < 5 |`,
      `| pull errors | ${pull.errors} | ${bareLoad.errors} | | 0 |`,
      `| pull, --durability fast (req/s; p50 / p99 ms) | ${fmt(rps(fastPull))}; ${fmt(fastPull.p50, 2)} / ${fmt(fastPull.p99, 2)} | ${fmt(rps(bareLoad))} (bare Bun.serve) | ${fmt(rps(fastPull) / rps(bareLoad), 2)} | |`,
    );
    if (beforePull)
      rows.push(
        `| pull, ${before!.split("/").slice(-3).join("/")} (req/s; p50 / p99 ms) | ${fmt(rps(beforePull))}; ${fmt(beforePull.p50, 2)} / ${fmt(beforePull.p99, 2)} | ${fmt(rps(bareLoad))} (bare Bun.serve) | ${fmt(rps(beforePull) / rps(bareLoad), 2)} | |`,
      );
  }

  // 2. Durable pushes of 100 keys at 8 clients: FULL (the default) against the push baseline
  // with FULL, and --durability fast (NORMAL) on a second server, in alternating slices.
  if (PARTS.has("push")) {
    const fullPush = await pushers(main);
    const fastPush = await pushers(fastServer);
    const beforePush = beforeServer ? await pushers(beforeServer) : undefined;
    const dir = mkdtempSync(join(tmpdir(), "vault-push-baseline-"));
    scratch.push(dir);
    const baseline = await openPushBaseline(dir, { durability: "full", writers: 8 });
    let counter = 0;
    const baselineOnce = async (worker: number) => {
      const salt = `b${counter++}`;
      await baseline.push(
        worker,
        new Map(Array.from({ length: 100 }, (_, i) => [`KEY_${i}`, `value-${salt}-${i}-${"x".repeat(24)}`])),
      );
      return true;
    };
    const loads = [fullPush, baselineOnce, fastPush, ...(beforePush ? [beforePush] : [])];
    for (const once of loads) await load(8, WARMUP, once);
    const [full, base, fast, old] = await interleaved(8, SECONDS * 2, loads, 10);
    baseline.close();
    rows.push(
      `| durable pushes of 100 keys, 8 clients, FULL (push/s) | ${fmt(rps(full!))} | ${fmt(rps(base!))} (push baseline, FULL) | ${fmt(rps(full!) / rps(base!), 2)} | >= 0.50 |`,
      `| push p50 / p99, FULL (ms) | ${fmt(full!.p50, 2)} / ${fmt(full!.p99, 2)} | ${fmt(base!.p50, 2)} / ${fmt(base!.p99, 2)} | | |`,
      `| push errors | ${full!.errors + fast!.errors + (old?.errors ?? 0)} | | | 0 |`,
      `| pushes, --durability fast (NORMAL) (push/s); ratio: FULL / fast | ${fmt(rps(fast!))} | ${fmt(rps(full!))} (FULL) | ${fmt(rps(full!) / rps(fast!), 2)} | |`,
    );
    if (old) {
      rows.push(
        `| pushes, ${before!.split("/").slice(-3).join("/")} (before, NORMAL) (push/s); ratio: FULL / it | ${fmt(rps(old))} | ${fmt(rps(full!))} (FULL) | ${fmt(rps(full!) / rps(old), 2)} | > 1.00 |`,
      );
    }
  }

  // 3. How cost grows with the environment's size.
  if (PARTS.has("size")) {
    const sizes = [10, 100, 1_000, 10_000];
    const bySize: { keys: number; p50: number }[] = [];
    for (const [i, keys] of sizes.entries()) {
      const env = `size${i}`;
      await json("POST", `/projects/${project.id}/environments`, { name: env }, token);
      await json("PUT", `${envUrl(env)}/secrets`, { dotenv: file(keys, "size") }, token);
      const url = `${base}${envUrl(env)}/secrets`;
      const r = await load(1, Math.min(SECONDS, 3), async () => {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        return res.ok;
      });
      bySize.push({ keys, p50: r.p50 });
    }

    // 4. A fixed environment while the instance grows.
    const fixed = async () => (await load(1, Math.min(SECONDS, 3), pullOnce)).p50;
    const small = await fixed();
    const target = FULL ? 1_000_000 : 100_000;
    const filler = await json("POST", "/projects", { name: "filler" }, token);
    let stored = 0;
    let n = 0;
    while (stored < target) {
      const env = `fill${n++}`;
      await json("POST", `/projects/${filler.id}/environments`, { name: env }, token);
      await json(
        "PUT",
        `/projects/${filler.id}/environments/${env}/secrets`,
        { dotenv: file(10_000, env) },
        token,
      );
      stored += 10_000;
    }
    const large = await fixed();
    for (const s of bySize) {
      rows.push(
        `| pull p50, ${fmt(s.keys)} keys (ms) | ${fmt(s.p50, 2)} | | x${fmt(s.p50 / bySize[0]!.p50, 1)} of 10 keys | linear |`,
      );
    }
    rows.push(
      `| pull p50, 100 keys, instance of ~1,000 values (ms) | ${fmt(small, 2)} | | | |`,
      `| pull p50, 100 keys, instance of ${fmt(target)} more values (ms) | ${fmt(large, 2)} | | ${fmt(large / small, 2)} | flat |`,
    );
  }

  const cores = navigator.hardwareConcurrency;
  console.log(
    `machine: ${cores} cores, ${fmt(require("node:os").totalmem() / 2 ** 30, 1)} GiB; ${SECONDS} s per load phase, after ${WARMUP} s of warm-up`,
  );
  console.log("");
  console.log("| figure | vault | baseline | ratio | goal |");
  console.log("|---|---|---|---|---|");
  for (const row of rows) console.log(row);
} finally {
  for (const server of servers) await server.stop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  installed.remove();
}
