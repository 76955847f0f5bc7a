/**
 * Memory of the whole `vault serve` tree (supervisor, keeper, app) from the
 * compiled binary: idle at start (no user yet), idle once 3 projects of 4
 * environments of 100 keys exist, then after each round of the mixed workload (90%
 * pulls, 10% pushes, 16 clients), 100,000 requests in all (20,000 with
 * BENCH_QUICK=1; BENCH_MEMORY_REQUESTS sets it), and idle again after them.
 *
 * "Idle" is 15 s without a request: each process gives back what a burst of
 * work left behind at its first quiet 5-second interval (src/supervisor/idle-trim.ts).
 * The tree 3 s after setup, before that, is reported too.
 *
 * Two sums over the tree: RSS (what each process reports; the binary's
 * shared pages counted once per process) and PSS (shared pages split among
 * the processes that map them, so the sum is what the tree really costs).
 * The goals are judged on PSS: idle under 100 MB (both idle figures), and
 * levelling off, i.e. the median of the last three rounds is within 10% (or
 * 16 MB) of the median of the three before them. A missed goal is a MISSED
 * row; the run exits 1 only when requests failed (5xx or no answer).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IDLE_TRIM_INTERVAL_MS } from "../src/supervisor/idle-trim";
import { descendantPids, pssKb, roleOf } from "../test/helpers/proc";
import {
  closedLoop,
  emit,
  fmt,
  mixedWorkload,
  QUICK,
  type Row,
  startBenchServer,
  type TreeMemory,
} from "./lib/suite";

const TOTAL = Number(process.env.BENCH_MEMORY_REQUESTS ?? (QUICK ? 20_000 : 100_000));
const ROUNDS = 10;
const KEYS = 100;
const IDLE_GOAL_MB = 100;
/** Quiet time before an idle figure: the busy interval's end, one quiet interval, and the shrink. */
const SETTLE_MS = 3 * IDLE_TRIM_INTERVAL_MS;
const SOON_MS = 3_000;
const mb = (kb: number) => kb / 1024;

const s = await startBenchServer({
  tls: false,
  projects: 3,
  envsPerProject: 4,
  keys: KEYS,
  idleAtStartMs: SETTLE_MS,
});
const samples: { requests: number; rssMb: number; pssMb: number; byRole: Record<string, number> }[] = [];
/** PSS in MB per process role (supervisor, keeper, app), to say which one grows. */
function byRole(): Record<string, number> {
  const out: Record<string, number> = { supervisor: mb(pssKb(s.server.pid) ?? 0) };
  for (const pid of descendantPids(s.server.pid)) {
    const role = roleOf(pid) ?? `pid ${pid}`;
    out[role] = (out[role] ?? 0) + mb(pssKb(pid) ?? 0);
  }
  return out;
}
let soon: TreeMemory;
let idle: TreeMemory;
let idleAfterLoad: TreeMemory;
let idleAfterLoadByRole: Record<string, number> = {};
const errors: string[] = [];
const missed: string[] = [];
try {
  await Bun.sleep(SOON_MS);
  soon = s.treeMemory();
  await Bun.sleep(SETTLE_MS - SOON_MS);
  idle = s.treeMemory();
  samples.push({ requests: 0, rssMb: mb(idle.rssKb), pssMb: mb(idle.pssKb), byRole: byRole() });
  const once = mixedWorkload(s, KEYS);
  let done = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const r = await closedLoop(16, once, { maxRequests: TOTAL / ROUNDS });
    if (r.serverErrors + r.failures > 0)
      errors.push(`round ${round}: ${r.serverErrors} 5xx, ${r.failures} unanswered`);
    done += r.requests;
    await Bun.sleep(500);
    const m = s.treeMemory();
    samples.push({ requests: done, rssMb: mb(m.rssKb), pssMb: mb(m.pssKb), byRole: byRole() });
  }
  await Bun.sleep(SETTLE_MS);
  idleAfterLoad = s.treeMemory();
  idleAfterLoadByRole = byRole();
} finally {
  await s.close();
}

// Levelling off, robust to the garbage collector's timing: the median of the last three samples
// against the median of the three before them.
const median3 = (xs: typeof samples) => [...xs].map((x) => x.pssMb).sort((a, b) => a - b)[1]!;
const last = samples.at(-1)!;
const earlier = samples.slice(-6, -3);
const half = { requests: earlier[1]!.requests, pssMb: median3(earlier) };
const end = median3(samples.slice(-3));
const lateGrowth = end - half.pssMb;
const levelled = lateGrowth < Math.max(16, half.pssMb * 0.1);
const start = s.atStart!;
const startOk = mb(start.pssKb) < IDLE_GOAL_MB;
const idleOk = mb(idle!.pssKb) < IDLE_GOAL_MB;
if (!startOk) missed.push(`idle PSS at start ${fmt(mb(start.pssKb), 1)} MB is over ${IDLE_GOAL_MB} MB`);
if (!idleOk) missed.push(`idle PSS after setup ${fmt(mb(idle!.pssKb), 1)} MB is over ${IDLE_GOAL_MB} MB`);
if (!levelled)
  missed.push(
    `PSS still grows: median ${fmt(half.pssMb, 1)} MB around ${half.requests} requests, ${fmt(end, 1)} MB over the last three rounds`,
  );

const rows: Row[] = [
  {
    figure: `idle tree at start (${start.processes} processes, no user yet): PSS MB (RSS sum)`,
    value: `${fmt(mb(start.pssKb), 1)} (${fmt(mb(start.rssKb), 1)})`,
    goal: `< ${IDLE_GOAL_MB}`,
    verdict: startOk ? "ok" : "MISSED",
  },
  {
    figure: `idle tree after setup (12 environments of ${KEYS} keys): PSS MB (RSS sum)`,
    value: `${fmt(mb(idle!.pssKb), 1)} (${fmt(mb(idle!.rssKb), 1)})`,
    goal: `< ${IDLE_GOAL_MB}`,
    verdict: idleOk ? "ok" : "MISSED",
  },
  {
    figure: `tree ${SOON_MS / 1000} s after setup, before the idle trim: PSS MB (RSS sum)`,
    value: `${fmt(mb(soon!.pssKb), 1)} (${fmt(mb(soon!.rssKb), 1)})`,
  },
  {
    figure: `tree after ${fmt(last.requests)} requests: PSS MB (RSS sum)`,
    value: `${fmt(last.pssMb, 1)} (${fmt(last.rssMb, 1)})`,
    baseline: `median ${fmt(half.pssMb, 1)} around ${fmt(half.requests)}; last three ${fmt(end, 1)}`,
    ratio: fmt(end / half.pssMb, 2),
    goal: "levels off (last 3 rounds < +10% over the 3 before)",
    verdict: levelled ? "ok" : "MISSED",
  },
  {
    figure: `idle tree after the ${fmt(last.requests)} requests: PSS MB (RSS sum)`,
    value: `${fmt(mb(idleAfterLoad!.pssKb), 1)} (${fmt(mb(idleAfterLoad!.rssKb), 1)})`,
    baseline: `${fmt(mb(idle!.pssKb), 1)} idle after setup`,
    ratio: fmt(idleAfterLoad!.pssKb / idle!.pssKb, 2),
  },
];
emit(`memory: whole tree, ${ROUNDS} rounds of ${fmt(TOTAL / ROUNDS)} requests`, rows, { memory: samples });
const roles = (x: Pick<(typeof samples)[number], "byRole">) =>
  Object.entries(x.byRole)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(", ");
console.log("\nrequests   PSS MB   RSS MB   PSS by process (MB)");
for (const x of samples) {
  console.log(
    `${String(x.requests).padStart(8)}  ${x.pssMb.toFixed(1).padStart(7)}  ${x.rssMb.toFixed(1).padStart(7)}   ${roles(x)}`,
  );
}
console.log(
  `${"idle".padStart(8)}  ${mb(idleAfterLoad!.pssKb).toFixed(1).padStart(7)}  ${mb(idleAfterLoad!.rssKb).toFixed(1).padStart(7)}   ${roles({ byRole: idleAfterLoadByRole })}`,
);
mkdirSync(join(import.meta.dir, "out"), { recursive: true });
writeFileSync(join(import.meta.dir, "out", "memory.json"), `${JSON.stringify({ samples }, null, 2)}\n`);
for (const m of missed) console.error(`memory: goal missed: ${m}`);
if (errors.length > 0) {
  for (const e of errors) console.error(`memory: ${e}`);
  process.exit(1);
}
