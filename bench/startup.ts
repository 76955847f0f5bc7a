/**
 * Start-up cost of the compiled binary, run alone from a temporary directory:
 *
 * - `vault --version` and `vault --help`: wall time (median of N runs) and peak RSS;
 * - `vault serve`: time until `/readyz` answers 200, on a new data directory
 *   (keys and databases created) and on an existing one;
 * - the idle memory of the whole process tree (supervisor, keeper, app) after
 *   15 quiet seconds (each process gives back what start-up left behind at its
 *   first quiet 5-second interval), as RSS summed per process and as PSS (what the tree
 *   really holds: the binary's pages, mapped by all three, counted once).
 *   Goal: under 100 MB, judged on PSS as bench/memory.ts does.
 *
 * Usage: bun bench/startup.ts [--runs N] [--serve-runs N] [--idle-seconds S]
 * (uses dist/vault, compiled first when missing or stale; VAULT_E2E_BINARY picks another).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanEnv, installBinary } from "../test/helpers/binary";
import { pssKb, rssKb } from "../test/helpers/proc";
import { type ServeProcess, startServe, stopAllServers } from "../test/helpers/serve";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runs: { type: "string", default: "20" },
    "serve-runs": { type: "string", default: "3" },
    "idle-seconds": { type: "string", default: "15" },
  },
  strict: true,
});
const RUNS = Number(values.runs);
const SERVE_RUNS = Number(values["serve-runs"]);
const IDLE_MS = Number(values["idle-seconds"]) * 1000;
const IDLE_GOAL_MB = 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface Row {
  what: string;
  value: string;
  detail: string;
}
const rows: Row[] = [];

async function command(bin: string, dir: string, args: string[]): Promise<void> {
  const times: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const proc = Bun.spawn([bin, ...args], { cwd: dir, env: cleanEnv(dir), stdout: "pipe", stderr: "pipe" });
    await new Response(proc.stdout).arrayBuffer();
    const code = await proc.exited;
    times.push(performance.now() - t0);
    if (code !== 0) throw new Error(`vault ${args.join(" ")} exited with ${code}`);
    const peak = proc.resourceUsage()?.maxRSS;
    if (peak) peaks.push(peak);
  }
  rows.push({
    what: `vault ${args.join(" ")}`,
    value: ms(median(times)),
    detail: `median of ${RUNS}, min ${ms(Math.min(...times))}; peak RSS ${mb(median(peaks))}`,
  });
}

/** Polls /readyz tightly; the time from spawn to the first 200. */
async function timeToReady(server: ServeProcess, t0: number): Promise<number> {
  for (;;) {
    if (server.proc.exitCode !== null) throw new Error(`vault serve exited\n${server.output()}`);
    if ((await server.status("/readyz")) === 200) return performance.now() - t0;
    if (performance.now() - t0 > 30_000)
      throw new Error(`vault serve not ready after 30 s\n${server.output()}`);
    await Bun.sleep(5);
  }
}

async function serve(bin: string, dir: string): Promise<void> {
  const fresh: number[] = [];
  const again: number[] = [];
  let idle: { total: number; pss: number; parts: string } | undefined;
  for (let i = 0; i < SERVE_RUNS; i++) {
    const data = join(dir, `data-${i}`);
    for (const [list, last] of [
      [fresh, false],
      [again, i === SERVE_RUNS - 1],
    ] as const) {
      const t0 = performance.now();
      const server = await startServe({ bin, cwd: dir, data });
      list.push(await timeToReady(server, t0));
      if (last) {
        await Bun.sleep(IDLE_MS);
        const children = server.children();
        const parts = [
          ["supervisor", server.pid],
          ["keeper", children.keeper],
          ["app", children.app],
        ] as const;
        const kb = parts.map(([name, pid]) => [name, pid ? (rssKb(pid) ?? 0) : 0] as const);
        const pss = parts.reduce((sum, [, pid]) => sum + (pid ? (pssKb(pid) ?? 0) : 0), 0);
        idle = {
          total: kb.reduce((sum, [, k]) => sum + k, 0) * 1024,
          pss: pss * 1024,
          parts: kb.map(([name, k]) => `${name} ${mb(k * 1024)}`).join(", "),
        };
      }
      const code = await server.stop();
      if (code !== 0) throw new Error(`vault serve exited with ${code} on SIGTERM\n${server.output()}`);
    }
  }
  rows.push({
    what: "vault serve, new data dir",
    value: ms(median(fresh)),
    detail: `until /readyz 200, median of ${SERVE_RUNS}`,
  });
  rows.push({
    what: "vault serve, existing data dir",
    value: ms(median(again)),
    detail: `until /readyz 200, median of ${SERVE_RUNS}`,
  });
  if (idle) {
    const verdict = idle.pss < IDLE_GOAL_MB * 1024 * 1024 ? "under" : "OVER";
    rows.push({
      what: `idle RSS after ${IDLE_MS / 1000} s`,
      value: mb(idle.total),
      detail: `${idle.parts}; the binary's shared pages counted once per process`,
    });
    rows.push({
      what: `idle PSS after ${IDLE_MS / 1000} s`,
      value: mb(idle.pss),
      detail: `the same tree, shared pages counted once (${verdict} the ${IDLE_GOAL_MB} MB goal)`,
    });
  }
}

function printTable(): void {
  const header: Row = { what: "measure", value: "value", detail: "detail" };
  const all = [header, ...rows];
  const w1 = Math.max(...all.map((r) => r.what.length));
  const w2 = Math.max(...all.map((r) => r.value.length));
  const line = (r: Row) => `${r.what.padEnd(w1)}  ${r.value.padStart(w2)}  ${r.detail}`;
  console.log(line(header));
  console.log(`${"-".repeat(w1)}  ${"-".repeat(w2)}  ${"-".repeat(6)}`);
  for (const r of rows) console.log(line(r));
}

const vault = installBinary();
try {
  await command(vault.bin, vault.dir, ["--version"]);
  await command(vault.bin, vault.dir, ["--help"]);
  let serveError: unknown;
  try {
    await serve(vault.bin, vault.dir);
  } catch (error) {
    serveError = error;
  }
  console.log(`startup (${vault.bin} copied alone into a temporary directory)\n`);
  printTable();
  if (serveError) {
    console.error(`\nvault serve could not be measured: ${(serveError as Error).message}`);
    process.exitCode = 1;
  }
} finally {
  await stopAllServers();
  vault.remove();
}
