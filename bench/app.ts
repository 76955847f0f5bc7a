/**
 * The application under load, against the compiled binary (`vault serve` on
 * loopback, audit on), with baselines measured in the same run:
 *
 * - pull of a 100-key environment at 32 concurrent clients: throughput and
 *   p50/p99 against a bare Bun.serve answering the same number of bytes
 *   (goal: at least a quarter of the bare server's throughput);
 * - durable pushes of 100 keys per second (goal: at least 500);
 * - pull latency for environments of 10, 100, 1,000 and 10,000 keys (goal:
 *   linear), and for a fixed environment while the instance holds 1,000 and
 *   then many more values (goal: flat). BENCH_FULL=1 grows the instance to
 *   1,000,000 values; the default is 100,000 so the suite stays short.
 *
 * The pull and the bare server are measured in alternating slices of a
 * second (five of each by default), not one after the other.
 *
 * BENCH_SECONDS sets each load phase (default 5). Each load is measured after
 * BENCH_WARMUP seconds of the same load (default 3): the server's JIT needs a
 * few seconds of traffic to reach its steady state, and a one-second warm-up
 * measured 20-25% below it.
 */
import { addUser, installBinary } from "../test/helpers/binary";
import { freePort, ServeProcess } from "../test/helpers/serve";

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
 * Two loads measured in alternating slices, so that a change in the
 * machine's own speed during the run (these machines are shared) weighs on
 * both sides of the ratio alike.
 */
async function interleaved(
  concurrency: number,
  seconds: number,
  a: (worker: number) => Promise<boolean>,
  b: (worker: number) => Promise<boolean>,
  slices = 5,
): Promise<[Load, Load]> {
  const ra: Raw = { latencies: [], errors: 0, seconds: 0 };
  const rb: Raw = { latencies: [], errors: 0, seconds: 0 };
  for (let i = 0; i < slices; i++) {
    await run(concurrency, seconds / slices, a, ra);
    await run(concurrency, seconds / slices, b, rb);
  }
  return [summary(ra), summary(rb)];
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const file = (keys: number, salt: string) =>
  `${Array.from({ length: keys }, (_, i) => `KEY_${i}="value-${salt}-${i}-${"x".repeat(24)}"`).join("\n")}\n`;

const installed = installBinary();
const port = await freePort();
const server = new ServeProcess({
  bin: installed.bin,
  cwd: installed.dir,
  data: `${installed.dir}/data`,
  listen: `127.0.0.1:${port}`,
  args: ["--rate-limit-address", "0", "--rate-limit-credential", "0", "--log-level", "warn"],
});

try {
  await server.waitReady();
  addUser(installed.bin, {
    cwd: installed.dir,
    data: `${installed.dir}/data`,
    email: "bench@example.com",
    password: PASSWORD,
    role: "owner",
  });
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
  await json("PUT", `${envUrl("development")}/secrets`, { dotenv: file(100, "pull") }, token);

  // 1. Pull at 32 concurrent clients, against a bare Bun.serve of the same size.
  const pullUrl = `${base}${envUrl("development")}/secrets`;
  const headers = { authorization: `Bearer ${token}` };
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
  const pullOnce = async () => {
    const res = await fetch(pullUrl, { headers });
    await res.arrayBuffer();
    return res.ok;
  };
  const bareOnce = async () => {
    const res = await fetch(`http://127.0.0.1:${barePort}/`);
    await res.arrayBuffer();
    return res.ok;
  };
  await load(32, WARMUP, pullOnce);
  await load(32, WARMUP, bareOnce);
  const [pull, bareLoad] = await interleaved(32, SECONDS, pullOnce, bareOnce);
  bareServer.kill();

  // 2. Durable pushes of 100 keys (8 clients, each on its own environment).
  const envs = ["development", "ci", "staging", "production"];
  for (let i = 0; i < 4; i++)
    await json("POST", `/projects/${project.id}/environments`, { name: `extra${i}` }, token);
  envs.push("extra0", "extra1", "extra2", "extra3");
  let counter = 0;
  const pushOnce = async (worker: number) => {
    const res = await fetch(`${base}${envUrl(envs[worker]!)}/secrets`, {
      method: "PUT",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ dotenv: file(100, `p${counter++}`) }),
    });
    await res.arrayBuffer();
    return res.ok;
  };
  await load(8, WARMUP, pushOnce);
  const push = await load(8, SECONDS, pushOnce);

  // 3. How cost grows with the environment's size.
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

  const cores = navigator.hardwareConcurrency;
  console.log(
    `machine: ${cores} cores, ${fmt(require("node:os").totalmem() / 2 ** 30, 1)} GiB; ${SECONDS} s per load phase, after ${WARMUP} s of warm-up`,
  );
  console.log("");
  console.log("| figure | vault | baseline | ratio | goal |");
  console.log("|---|---|---|---|---|");
  const rps = (l: Load) => l.requests / l.seconds;
  console.log(
    `| pull, 100 keys, 32 clients (req/s) | ${fmt(rps(pull))} | ${fmt(rps(bareLoad))} (bare Bun.serve, ${sample.byteLength} B) | ${fmt(rps(pull) / rps(bareLoad), 2)} | >= 0.25 |`,
  );
  console.log(
    `| pull p50 / p99 (ms) | ${fmt(pull.p50, 2)} / ${fmt(pull.p99, 2)} | ${fmt(bareLoad.p50, 2)} / ${fmt(bareLoad.p99, 2)} | | p99 < 10 |`,
  );
  console.log(`| pull errors | ${pull.errors} | ${bareLoad.errors} | | 0 |`);
  console.log(`| durable pushes of 100 keys, 8 clients (push/s) | ${fmt(rps(push))} | | | >= 500 |`);
  console.log(`| push p50 / p99 (ms) | ${fmt(push.p50, 2)} / ${fmt(push.p99, 2)} | | | |`);
  for (const s of bySize) {
    console.log(
      `| pull p50, ${fmt(s.keys)} keys (ms) | ${fmt(s.p50, 2)} | | x${fmt(s.p50 / bySize[0]!.p50, 1)} of 10 keys | linear |`,
    );
  }
  console.log(`| pull p50, 100 keys, instance of ~1,000 values (ms) | ${fmt(small, 2)} | | | |`);
  console.log(
    `| pull p50, 100 keys, instance of ${fmt(target)} more values (ms) | ${fmt(large, 2)} | | ${fmt(large / small, 2)} | flat |`,
  );
} finally {
  await server.stop();
  installed.remove();
}
