/**
 * Load: a mixed workload against `vault serve` from the compiled binary on
 * loopback, TLS on (a self-signed certificate the client trusts as its CA),
 * audit on, rate limits off: 90% pulls and 10% pushes of 100-key
 * environments spread over 3 projects x 4 environments, at 1, 8, 32 and 128
 * concurrent clients, each level for a bounded time.
 *
 * Per level: throughput, p50/p99/p999 latency, and answers by kind. Checks:
 * no error of any kind below saturation (the first level whose throughput is
 * within 10% of the previous one); at and beyond it only clean 429s or
 * queueing (slower answers), never a 5xx, a dropped connection or a
 * restarted child. Exits 1 when a check fails.
 *
 * BENCH_LOAD_SECONDS sets each level (default 10; 3 with BENCH_QUICK=1).
 * Writes bench/out/load.json for the chart.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  closedLoop,
  emit,
  fmt,
  type LoadResult,
  mixedWorkload,
  QUICK,
  type Row,
  startBenchServer,
} from "./lib/suite";

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? (QUICK ? 3 : 10));
const LEVELS = [1, 8, 32, 128];
const KEYS = 100;

const s = await startBenchServer({ tls: true, projects: 3, envsPerProject: 4, keys: KEYS });
const results: LoadResult[] = [];
const problems: string[] = [];
try {
  const children = await s.server.waitChildren();
  const once = mixedWorkload(s, KEYS);
  await closedLoop(8, once, { seconds: 1 }); // warm up (TLS sessions, caches, JIT)
  for (const level of LEVELS) {
    const r = await closedLoop(level, once, { seconds: SECONDS });
    results.push(r);
  }
  const after = s.server.children();
  if (after.app !== children.app || after.keeper !== children.keeper)
    problems.push(
      `a child was restarted during the load (app ${children.app} -> ${after.app}, keeper ${children.keeper} -> ${after.keeper})`,
    );
  if ((await s.server.status("/readyz")) === undefined) {
    // TLS: the helper's probe does not carry our CA; ask directly.
    const res = await s.fetch("/readyz");
    if (res.status !== 200) problems.push(`/readyz answers ${res.status} after the load`);
  }
} finally {
  await s.close();
}

// Saturation: the first level that adds less than 10% throughput over the previous one.
let saturated = results.length;
for (let i = 1; i < results.length; i++) {
  if (results[i]!.rps < results[i - 1]!.rps * 1.1) {
    saturated = i;
    break;
  }
}
for (const [i, r] of results.entries()) {
  if (r.serverErrors > 0) problems.push(`${r.serverErrors} answers were 5xx at ${r.concurrency} clients`);
  if (r.failures > 0) problems.push(`${r.failures} requests got no answer at ${r.concurrency} clients`);
  if (r.clientErrors > 0) problems.push(`${r.clientErrors} unexpected 4xx at ${r.concurrency} clients`);
  if (i < saturated && r.tooMany > 0)
    problems.push(`${r.tooMany} 429s below saturation (${r.concurrency} clients)`);
}

const rows: Row[] = results.map((r, i) => ({
  figure: `mixed 90/10, TLS, ${r.concurrency} client${r.concurrency > 1 ? "s" : ""}: req/s; p50/p99/p999 ms; errors`,
  value: `${fmt(r.rps)}; ${fmt(r.p50, 1)}/${fmt(r.p99, 1)}/${fmt(r.p999, 1)}; ${r.serverErrors + r.failures + r.clientErrors}${r.tooMany ? ` (+${r.tooMany} 429)` : ""}`,
  goal: i < saturated ? "0 errors" : "saturated: 429 or queueing only",
  verdict:
    r.serverErrors + r.failures + r.clientErrors > 0 || (i < saturated && r.tooMany > 0) ? "MISSED" : "ok",
}));
emit(`load: mixed workload, ${SECONDS} s per level, 3 projects x 4 environments of ${KEYS} keys`, rows, {
  load: results,
  saturatedAt: results[saturated]?.concurrency ?? null,
});
mkdirSync(join(import.meta.dir, "out"), { recursive: true });
writeFileSync(
  join(import.meta.dir, "out", "load.json"),
  `${JSON.stringify({ seconds: SECONDS, results }, null, 2)}\n`,
);
console.log(
  `saturation: ${results[saturated] ? `from ${results[saturated]!.concurrency} clients` : "not reached"}`,
);
if (problems.length > 0) {
  for (const p of problems) console.error(`load: ${p}`);
  process.exit(1);
}
