/**
 * The dotenv module's speed, run with `bun bench/dotenv-parse.ts`:
 *
 * - our `parse` against npm dotenv 17.4.2 `parse` on the same files (a small
 *   one, then 100, 1,000 and 10,000 keys of mixed styles: unquoted, quoted
 *   three ways, `export`, comments, multi-line values, CRLF), in ops/s and
 *   their ratio (goal: ours at least as fast);
 * - `parseDocument` + `render` (the push and pull paths) on the same files;
 * - `buildEnvVault` for 4 environments of 100, 1,000 and 10,000 keys (goal:
 *   linear growth).
 *
 * BENCH_SECONDS sets the time spent on each measurement (default 0.5).
 */
import dotenv from "dotenv";
import { buildEnvVault, parse, parseDocument, render } from "../src/dotenv";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.5);

function line(i: number): string {
  switch (i % 10) {
    case 0:
      return `# section ${i}\nKEY_${i}=plain-value-${i}`;
    case 1:
      return `export KEY_${i}='single quoted ${i} # not a comment'`;
    case 2:
      return `KEY_${i}="double\\nquoted ${i}"`;
    case 3:
      return `KEY_${i}=\`backtick ${i}\``;
    case 4:
      return `KEY_${i} = spaced value ${i} # trailing comment`;
    case 5:
      return `KEY_${i}="-----BEGIN KEY-----\nMIIB${i}abcdef\n-----END KEY-----"`;
    case 6:
      return `KEY_${i}=postgres://user:pass@db-${i}:5432/app?sslmode=require`;
    case 7:
      return `\nKEY_${i}=`;
    case 8:
      return `KEY_${i}="it's \\"quoted\\" ${i}"`;
    default:
      return `KEY_${i}=${"x".repeat(40)}${i}`;
  }
}

function file(keys: number, eol = "\n"): string {
  return `${Array.from({ length: keys }, (_, i) => line(i)).join("\n")}\n`.replaceAll("\n", eol);
}

/** Operations per second of `fn`, after a warm-up, over about SECONDS. */
function opsPerSecond(fn: () => unknown): number {
  for (let i = 0; i < 5; i++) fn();
  let runs = 0;
  const start = Bun.nanoseconds();
  const budget = SECONDS * 1e9;
  let elapsed = 0;
  while (elapsed < budget) {
    fn();
    runs++;
    elapsed = Bun.nanoseconds() - start;
  }
  return runs / (elapsed / 1e9);
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));

const FILES: [string, string][] = [
  ["small (10 keys)", file(10)],
  ["100 keys", file(100)],
  ["1,000 keys", file(1_000)],
  ["10,000 keys", file(10_000)],
  ["1,000 keys, CRLF", file(1_000, "\r\n")],
];

console.log(`parse: ours vs npm dotenv 17.4.2 (ops/s, ${SECONDS}s each)`);
console.log("file                  bytes      ours        dotenv      ratio   parseDocument+render");
for (const [label, text] of FILES) {
  if (JSON.stringify(parse(text)) !== JSON.stringify(dotenv.parse(text)))
    throw new Error(`${label}: results differ`);
  const ours = opsPerSecond(() => parse(text));
  const theirs = opsPerSecond(() => dotenv.parse(text));
  const values = parse(text);
  const doc = opsPerSecond(() => render(parseDocument(text), values));
  console.log(
    `${label.padEnd(20)} ${String(text.length).padStart(8)} ${fmt(ours).padStart(11)} ${fmt(theirs).padStart(11)}  ${(ours / theirs).toFixed(2).padStart(5)}x ${fmt(doc).padStart(12)}`,
  );
}

console.log("\nbuildEnvVault, 4 environments (ms per build)");
const key32 = new Uint8Array(32).fill(7);
let previous = 0;
for (const keys of [100, 1_000, 10_000]) {
  const plaintext = file(keys);
  const environments = ["development", "ci", "staging", "production"].map((name, i) => ({
    name,
    version: i + 1,
    plaintext,
    key32,
  }));
  const build = () =>
    buildEnvVault({ projectId: `vlt_${"a".repeat(64)}`, apiUrl: "https://vault.example", environments });
  const ms = 1000 / opsPerSecond(build);
  const growth = previous === 0 ? "" : `  (x${(ms / previous).toFixed(1)} for x10 keys)`;
  console.log(
    `${String(keys).padStart(6)} keys each: ${ms.toFixed(3).padStart(9)} ms, ${build().length} bytes${growth}`,
  );
  previous = ms;
}
