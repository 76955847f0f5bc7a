/**
 * References under load, against the compiled binary (`vault serve` on
 * loopback, audit on): a pull of 100 keys of which 50 are references into
 * two other environments (25 into production, 25 into ci, each inside a
 * longer value), against a pull of 100 plain keys, in the same run and in
 * alternating slices (so the machine's own drift weighs on both sides).
 *
 * - values (`format=json`: what `vault run`, `export` and `get` read, resolved);
 * - the resolved file (`vault pull --resolve`);
 * - the file as written (`vault pull`: references are not followed), for reference.
 *
 * Goal: the resolved pulls of references at least 0.7 of the plain pull's
 * throughput. BENCH_SECONDS (default 5) per measured load, after BENCH_WARMUP
 * (default 2) seconds of the same load; 32 concurrent clients.
 */
import {
  closedLoop,
  emit,
  fileOf,
  fmt,
  type LoadResult,
  type Once,
  type Row,
  startBenchServer,
} from "./lib/suite";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONCURRENCY = 32;
const SLICES = 5;

/** 100 keys: 25 refer into production, 25 into ci, 50 are plain. */
function referring(): string {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) {
    if (i < 25) lines.push(`KEY_${i}="prefix-@{production.KEY_${i}}-suffix"`);
    else if (i < 50) lines.push(`KEY_${i}="@{ci.KEY_${i}}"`);
    else lines.push(`KEY_${i}="value-staging-${i}-${"x".repeat(24)}"`);
  }
  return `${lines.join("\n")}\n`;
}

const s = await startBenchServer({ tls: false, projects: 1, envsPerProject: 4, keys: 100 });
try {
  const path = (env: string) => s.envPaths.find((p) => p.endsWith(`/${env}`))!;
  const pushed = await s.fetch(`${path("staging")}/secrets`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ dotenv: referring() }),
  });
  if (!pushed.ok) throw new Error(`push: ${pushed.status} ${await pushed.text()}`);
  // The plain side: development holds 100 plain keys (fileOf), staging the references.
  void fileOf;

  const getter =
    (url: string): Once =>
    async () => {
      const res = await s.fetch(url);
      await res.arrayBuffer();
      return res.status;
    };
  const check = async (url: string, expect: (body: string) => boolean) => {
    const res = await s.fetch(url);
    const body = await res.text();
    if (!res.ok || !expect(body)) throw new Error(`${url}: ${res.status} ${body.slice(0, 300)}`);
  };
  await check(
    `${path("staging")}/secrets?format=json`,
    (b) => b.includes("prefix-value-0-3-0-") && !b.includes("@{"),
  );

  const merge = (parts: LoadResult[]): LoadResult => {
    const requests = parts.reduce((n, p) => n + p.requests, 0);
    const seconds = parts.reduce((n, p) => n + p.seconds, 0);
    const sum = (k: "ok" | "serverErrors" | "clientErrors" | "failures" | "tooMany") =>
      parts.reduce((n, p) => n + p[k], 0);
    const avg = (k: "p50" | "p99" | "p999") =>
      parts.reduce((n, p) => n + p[k] * p.requests, 0) / Math.max(1, requests);
    return {
      concurrency: CONCURRENCY,
      requests,
      seconds,
      ok: sum("ok"),
      serverErrors: sum("serverErrors"),
      clientErrors: sum("clientErrors"),
      failures: sum("failures"),
      tooMany: sum("tooMany"),
      rps: requests / seconds,
      p50: avg("p50"),
      p99: avg("p99"),
      p999: avg("p999"),
    };
  };
  const compare = async (refs: Once, plain: Once): Promise<[LoadResult, LoadResult]> => {
    await closedLoop(CONCURRENCY, refs, { seconds: WARMUP });
    await closedLoop(CONCURRENCY, plain, { seconds: WARMUP });
    const a: LoadResult[] = [];
    const b: LoadResult[] = [];
    for (let i = 0; i < SLICES; i++) {
      a.push(await closedLoop(CONCURRENCY, refs, { seconds: SECONDS / SLICES }));
      b.push(await closedLoop(CONCURRENCY, plain, { seconds: SECONDS / SLICES }));
    }
    return [merge(a), merge(b)];
  };

  const rows: Row[] = [];
  let errors = 0;
  const cases = [
    ["values (run, export, get)", "?format=json", ">= 0.7"],
    ["resolved file (pull --resolve)", "?format=dotenv&resolve=true", ">= 0.7"],
    ["file as written (pull)", "?format=dotenv", undefined],
  ] as const;
  for (const [what, query, goal] of cases) {
    const [refs, plain] = await compare(
      getter(`${path("staging")}/secrets${query}`),
      getter(`${path("development")}/secrets${query}`),
    );
    errors +=
      refs.serverErrors +
      refs.clientErrors +
      refs.failures +
      plain.serverErrors +
      plain.clientErrors +
      plain.failures;
    const ratio = refs.rps / plain.rps;
    rows.push({
      figure: `pull ${what}, 100 keys of which 50 references into 2 environments, ${CONCURRENCY} clients (req/s)`,
      value: fmt(refs.rps),
      baseline: `${fmt(plain.rps)} (100 plain keys)`,
      ratio: fmt(ratio, 2),
      ...(goal ? { goal, verdict: ratio >= 0.7 ? "ok" : "MISSED" } : {}),
    });
    rows.push({
      figure: `  p50 / p99 (ms), ${what}`,
      value: `${fmt(refs.p50, 2)} / ${fmt(refs.p99, 2)}`,
      baseline: `${fmt(plain.p50, 2)} / ${fmt(plain.p99, 2)}`,
    });
  }
  rows.push({
    figure: "errors (non-2xx or no answer)",
    value: String(errors),
    goal: "0",
    verdict: errors === 0 ? "ok" : "MISSED",
  });
  emit(
    `references: ${SECONDS} s per side after ${WARMUP} s of warm-up, in ${SLICES} alternating slices`,
    rows,
  );
  if (errors > 0) process.exitCode = 1;
} finally {
  await s.close();
}
