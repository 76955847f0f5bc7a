/**
 * The CLI's everyday cost, from the compiled binary run alone in a temporary
 * directory against `vault serve` on loopback, warm (a few runs first):
 *
 * - `vault run -- true` against running `true` directly: the overhead the
 *   CLI adds in front of every command it wraps (goal: under 100 ms);
 * - `vault --version`: the binary's own start, for reference;
 * - `vault pull` of a 1,000-key environment, and of a small one: wall time.
 *
 * Usage: bun bench/cli-run.ts [--runs N] [--keys N]
 * (uses dist/vault, compiled first when missing or stale; VAULT_E2E_BINARY picks another).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanEnv, installBinary } from "../test/helpers/binary";
import { startServe, stopAllServers } from "../test/helpers/serve";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: "string", default: "30" }, keys: { type: "string", default: "1000" } },
  strict: true,
});
const RUNS = Number(values.runs);
const KEYS = Number(values.keys);
const GOAL_MS = 100;

const vault = installBinary();
const data = join(vault.dir, "data");
const work = join(vault.dir, "work");
const config = join(vault.dir, "config");
mkdirSync(work);
const env = cleanEnv(work, { VAULT_CONFIG_DIR: config });

function must(args: string[], input = ""): string {
  const out = spawnSync(vault.bin, args, { cwd: work, env, input, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`vault ${args.join(" ")} exited ${out.status}: ${out.stderr}`);
  return out.stdout;
}

async function time(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { cwd: work, env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const code = await proc.exited;
  const ms = performance.now() - t0;
  if (code !== 0)
    throw new Error(`${argv.join(" ")} exited ${code}: ${await new Response(proc.stderr).text()}`);
  return ms;
}

async function sample(argv: string[]): Promise<{ median: number; p90: number }> {
  for (let i = 0; i < 3; i++) await time(argv);
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(await time(argv));
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)]!, p90: xs[Math.floor(xs.length * 0.9)]! };
}

const server = await startServe({ bin: vault.bin, cwd: vault.dir, data });
try {
  await server.waitReady();
  must(
    ["admin", "user", "add", "bench@example.com", "--role", "owner", "--password-stdin", "--data", data],
    "bench password 123\n",
  );
  must(["login", server.url, "--email", "bench@example.com", "--password-stdin"], "bench password 123\n");
  must(["new", "bench"]);
  writeFileSync(join(work, ".env"), "GREETING=hello\nPORT=8080\nDATABASE_URL=postgres://u:p@localhost/db\n");
  must(["push"]);
  const big = Array.from({ length: KEYS }, (_, i) => `KEY_${i}=value-${i}-${"x".repeat(40)}`).join("\n");
  writeFileSync(join(work, ".env.staging"), `${big}\n`);
  must(["push", "staging"]);

  const bin = vault.bin;
  const direct = await sample(["true"]);
  const version = await sample([bin, "--version"]);
  const run = await sample([bin, "run", "--", "true"]);
  const pullSmall = await sample([bin, "pull", "development", "small.env"]);
  const pullBig = await sample([bin, "pull", "staging", "big.env"]);

  const overhead = run.median - direct.median;
  const rows = [
    ["what", "median", "p90"],
    ["true (directly)", direct.median, direct.p90],
    ["vault --version", version.median, version.p90],
    ["vault run -- true", run.median, run.p90],
    ["vault pull (3 keys)", pullSmall.median, pullSmall.p90],
    [`vault pull (${KEYS} keys)`, pullBig.median, pullBig.p90],
  ].map((r) => r.map((c) => (typeof c === "number" ? `${c.toFixed(1)} ms` : c)));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   "));
  console.log(
    `\nvault run overhead: ${overhead.toFixed(1)} ms (median over ${RUNS} warm runs; goal < ${GOAL_MS} ms): ${overhead < GOAL_MS ? "ok" : "OVER GOAL"}`,
  );
  if (overhead >= GOAL_MS) process.exitCode = 1;
} finally {
  await stopAllServers();
  vault.remove();
}
