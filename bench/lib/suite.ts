/**
 * What the suite's own benchmarks share: the machine's description, a
 * closed-loop load generator that tells answers apart by status, a `vault
 * serve` with an owner, projects and environments ready, and rows for the
 * one table `bun run bench` prints.
 *
 * A benchmark reports rows by calling `emit(rows)`: they are printed as a
 * table and, when `bun run bench` runs it (BENCH_ROWS_FILE set), appended to
 * that file as JSON lines for the summary table.
 */
import { appendFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { addUser, type Installed, installBinary } from "../../test/helpers/binary";
import { descendantPids, pssKb, rssKb } from "../../test/helpers/proc";
import { type ServeProcess, startServe } from "../../test/helpers/serve";
import { selfSignedCert } from "../../test/helpers/tls";

export const QUICK = process.env.BENCH_QUICK === "1";

export interface Row {
  /** What is measured, with its unit. */
  figure: string;
  value: string;
  /** The same-run baseline, when there is one. */
  baseline?: string;
  ratio?: string;
  goal?: string;
  /** "ok", "MISSED" or "" (no goal). */
  verdict?: string;
}

export function machine(): string {
  const cpu = cpus()[0]?.model?.trim() ?? "unknown CPU";
  return `${navigator.hardwareConcurrency} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${process.platform} ${process.arch}, Bun ${Bun.version}`;
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length * p) / 100) - 1)]!;
}

export function printRows(title: string, rows: readonly Row[]): void {
  const cells = rows.map((r) => [
    r.figure,
    r.value,
    r.baseline ?? "",
    r.ratio ?? "",
    r.goal ?? "",
    r.verdict ?? "",
  ]);
  const head = ["figure", "value", "baseline", "ratio", "goal", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  console.log(`\n${title}`);
  for (const line of [head, widths.map((w) => "-".repeat(w)), ...cells]) {
    console.log(
      line
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
  }
}

export function emit(title: string, rows: readonly Row[], extra: Record<string, unknown> = {}): void {
  printRows(title, rows);
  const file = process.env.BENCH_ROWS_FILE;
  if (file) appendFileSync(file, `${JSON.stringify({ title, rows, extra })}\n`);
}

// ---------------------------------------------------------------- load

export interface LoadResult {
  concurrency: number;
  seconds: number;
  requests: number;
  /** 2xx answers. */
  ok: number;
  tooMany: number;
  serverErrors: number;
  /** Other 4xx answers. */
  clientErrors: number;
  /** No answer at all (connection refused or reset, timeout). */
  failures: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
}

/** One request; its HTTP status, or 0 when nothing answered. */
export type Once = (worker: number, n: number) => Promise<number>;

/** `concurrency` clients, each sending its next request when the last is answered, for `seconds` or `maxRequests`. */
export async function closedLoop(
  concurrency: number,
  once: Once,
  limits: { seconds?: number; maxRequests?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const r = { ok: 0, tooMany: 0, serverErrors: 0, clientErrors: 0, failures: 0 };
  const deadline = performance.now() + (limits.seconds ?? 1e9) * 1000;
  const max = limits.maxRequests ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline && issued < max) {
        const n = issued++;
        const t0 = performance.now();
        const status = await once(worker, n).catch(() => 0);
        latencies.push(performance.now() - t0);
        if (status === 0) r.failures++;
        else if (status < 300) r.ok++;
        else if (status === 429) r.tooMany++;
        else if (status >= 500) r.serverErrors++;
        else r.clientErrors++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    seconds,
    requests: latencies.length,
    ...r,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
  };
}

// ---------------------------------------------------------------- a server with data

export const BENCH_PASSWORD = "bench password, long enough";

export interface BenchServer {
  installed: Installed;
  server: ServeProcess;
  base: string;
  token: string;
  /** `/api/v1/projects/<id>/environments/<env>` for each environment made. */
  envPaths: string[];
  /** CA to trust for TLS (the self-signed certificate itself). */
  ca?: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Resident and proportional memory of the supervisor and every descendant, in KiB. */
  treeMemory(): TreeMemory;
  /** The tree's memory once it had been idle for `idleAtStartMs`, before any user or project existed. */
  atStart?: TreeMemory;
  close(): Promise<void>;
}

export interface TreeMemory {
  rssKb: number;
  pssKb: number;
  processes: number;
}

function treeMemoryOf(root: number): TreeMemory {
  const pids = [root, ...descendantPids(root)];
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    rss += rssKb(pid) ?? 0;
    pss += pssKb(pid) ?? 0;
  }
  return { rssKb: rss, pssKb: pss, processes: pids.length };
}

export function fileOf(keys: number, salt: string): string {
  return `${Array.from({ length: keys }, (_, i) => `KEY_${i}="value-${salt}-${i}-${"x".repeat(24)}"`).join("\n")}\n`;
}

export async function startBenchServer(options: {
  tls: boolean;
  projects: number;
  envsPerProject: number;
  keys: number;
  args?: string[];
  /** Measure the tree's memory after this long idle, before anything is set up. */
  idleAtStartMs?: number;
}): Promise<BenchServer> {
  const installed = installBinary();
  const data = join(installed.dir, "data");
  const tls = options.tls ? selfSignedCert(installed.dir) : undefined;
  const server = await startServe({
    bin: installed.bin,
    cwd: installed.dir,
    data,
    args: [
      "--rate-limit-address",
      "0",
      "--rate-limit-credential",
      "0",
      "--log-level",
      "warn",
      ...(tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
      ...(options.args ?? []),
    ],
  });
  await server.waitReady(30_000);
  let atStart: TreeMemory | undefined;
  if (options.idleAtStartMs !== undefined) {
    await Bun.sleep(options.idleAtStartMs);
    atStart = treeMemoryOf(server.pid);
  }
  addUser(installed.bin, {
    cwd: installed.dir,
    data,
    email: "bench@example.com",
    password: BENCH_PASSWORD,
    role: "owner",
  });
  const ca = tls ? await Bun.file(tls.cert).text() : undefined;
  const base = server.url;
  const doFetch = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, ...(ca ? { tls: { ca } } : {}) } as RequestInit);
  const json = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await doFetch(path, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, string>;
  };
  const { token } = (await json("POST", "/api/v1/auth/login", {
    email: "bench@example.com",
    password: BENCH_PASSWORD,
  })) as { token: string };
  const envPaths: string[] = [];
  const defaults = ["development", "ci", "staging", "production"];
  for (let p = 0; p < options.projects; p++) {
    const project = await json("POST", "/api/v1/projects", { name: `bench${p}` }, token);
    for (let e = 0; e < options.envsPerProject; e++) {
      let env = defaults[e];
      if (!env) {
        env = `extra${e}`;
        await json("POST", `/api/v1/projects/${project.id}/environments`, { name: env }, token);
      }
      const path = `/api/v1/projects/${project.id}/environments/${env}`;
      await json("PUT", `${path}/secrets`, { dotenv: fileOf(options.keys, `${p}-${e}`) }, token);
      envPaths.push(path);
    }
  }
  return {
    installed,
    server,
    base,
    token,
    envPaths,
    ca,
    fetch: (path, init = {}) =>
      doFetch(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } }),
    treeMemory: () => treeMemoryOf(server.pid),
    atStart,
    async close() {
      await server.stop();
      installed.remove();
    },
  };
}

/** The mixed workload: 90% pulls of a random environment, 10% pushes of it with one value changed. */
export function mixedWorkload(s: BenchServer, keys: number): Once {
  const json = { "content-type": "application/json" };
  let seq = 0;
  return async (worker, n) => {
    const path = s.envPaths[(worker * 7919 + n * 104_729) % s.envPaths.length]!;
    if (n % 10 === 9) {
      const dotenv = `${fileOf(keys - 1, "mixed")}CHANGED="${worker}-${n}-${seq++}"\n`;
      const res = await s.fetch(`${path}/secrets`, {
        method: "PUT",
        headers: json,
        body: JSON.stringify({ dotenv }),
      });
      await res.arrayBuffer();
      return res.status;
    }
    const res = await s.fetch(`${path}/secrets`);
    await res.arrayBuffer();
    return res.status;
  };
}
