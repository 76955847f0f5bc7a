/**
 * Where a pull's time goes: the compiled binary under `BUN_OPTIONS=--cpu-prof`
 * (every process of the tree writes a CPU profile when it exits), a 100-key
 * pull at 32 clients for BENCH_SECONDS (default 10), then each busy process's
 * profile as a table of where its CPU went (each sample counted for the
 * nearest frame that names what it was doing: the audit's SQLite commits, the
 * request wrapper, Elysia, authentication, the pull itself...; bench/NOTES.md
 * has the answer), and its top functions by self time. Not part of `bun run bench`
 * (run.ts skips it): it is a tool for finding the cost, and a profiled server
 * is slower than a plain one.
 *
 *   bun bench/profile-pull.ts --source   # prints the tables; the profiles stay in the printed directory
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addUser, installBinary } from "../test/helpers/binary";
import { freePort, ServeProcess } from "../test/helpers/serve";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PASSWORD = "bench password, long enough";
const profiles = mkdtempSync(join(tmpdir(), "vault-profile-"));

const installed = installBinary();
// `--source`: run src/main.ts under bun instead of the compiled binary, so the profile names our functions.
if (process.argv.includes("--source")) {
  const wrapper = join(installed.dir, "vault-source");
  await Bun.write(
    wrapper,
    `#!/bin/sh\nexec ${process.execPath} ${join(import.meta.dir, "..", "src", "main.ts")} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  installed.bin = wrapper;
}
const port = await freePort();
const server = new ServeProcess({
  bin: installed.bin,
  cwd: installed.dir,
  data: `${installed.dir}/data`,
  listen: `127.0.0.1:${port}`,
  args: ["--rate-limit-address", "0", "--rate-limit-credential", "0", "--log-level", "warn"],
  env: { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${profiles} --cpu-prof-interval=200` },
});

const file = (keys: number) =>
  `${Array.from({ length: keys }, (_, i) => `KEY_${i}="value-${i}-${"x".repeat(24)}"`).join("\n")}\n`;

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
  const url = `${base}/projects/${project.id}/environments/development/secrets`;
  await json("PUT", `/projects/${project.id}/environments/development/secrets`, { dotenv: file(100) }, token);
  const headers = { authorization: `Bearer ${token}` };
  let requests = 0;
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < deadline) {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        requests++;
      }
    }),
  );
  console.log(`${requests} pulls in ${SECONDS} s (${Math.round(requests / SECONDS)}/s, profiled)`);
} finally {
  await server.stop();
  installed.remove();
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * What a sample was doing: the bucket of the nearest frame (from the leaf up) that matches one,
 * so that a native call (an HMAC, a SQLite step) counts for the code of ours that made it.
 */
const BUCKETS: [string, RegExp][] = [
  [
    "start-up inside the profile (schema compile, migrations, sign-in)",
    /^(compile|Compile|composeHandler|getSchemaValidator|migrate|login|recordSuccess|runApp|openAppDb|createAppContext) |guard\/type\.mjs|compiler\/compiler\.mjs|type-system/,
  ],
  [
    "WAL sync bookkeeping (async open/fsync/close on the thread pool)",
    /^(syncFile|walSyncer) |node:fs\/promises/,
  ],
  [
    "SQLite: the audit commits (statements prepared each time, inserts, encryption, WAL writes)",
    /libsql|lib-esm\/sqlite3|durableCommit/,
  ],
  [
    "audit events: HMAC chain, JSON, well-formed text, group commit",
    /repos\/audit\.ts|audit-log\.ts|group-commit\.ts/,
  ],
  ["authentication (token HMAC, credential and access caches)", /auth\/|credentials|access/],
  ["the pull itself: snapshot cache, render, answer", /secrets\/|snapshot-cache|layers/],
  [
    "our request wrapper: request id, access log, metrics, host check, client address",
    /request-log|listener\.ts|metrics\.ts|host\.ts|server\/http\.ts|server\/app\.ts|server\/run\.ts|log\.ts/,
  ],
  ["Elysia: routing, hooks, response mapping", /elysia|dist\/(compose|index|handler)|adapter\/|bun\/handler/],
  ["garbage collector", /^\(garbage collector\)/],
  ["idle (waiting for the event loop)", /^\(idle\)/],
];
const OTHER = "Bun's runtime outside these (Response, Headers, JSON, sockets)";

for (const name of readdirSync(profiles).filter((f) => f.endsWith(".cpuprofile"))) {
  const profile = JSON.parse(readFileSync(join(profiles, name), "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const frame = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || "(anonymous)"} ${f.url}:${f.lineNumber + 1}`;
  };
  const byBucket = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    let bucket = OTHER;
    search: for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      for (const [label, re] of BUCKETS) {
        if (re.test(frame(cur))) {
          bucket = label;
          break search;
        }
      }
    }
    byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + us);
    const f = byId.get(id)!.callFrame;
    const label = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    byFunction.set(label, (byFunction.get(label) ?? 0) + us);
  }
  // The busiest process is the app; the supervisor and the keeper idle through a pull.
  console.log(`\n${name}: ${(total / 1e6).toFixed(1)} s sampled`);
  if (total < 1e6) continue;
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
  console.log("\n| where | share of the process's CPU |\n|---|---|");
  for (const [where, us] of [...byBucket].sort((a, b) => b[1] - a[1]))
    console.log(`| ${where} | ${pct(us)} |`);
  console.log("\ntop functions by self time:");
  for (const [label, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`  ${pct(us).padStart(6)}  ${label}`);
}
console.log(`\nprofiles in ${profiles}`);
