/**
 * `bun run bench`: runs every bench/*.ts except this file, one after another,
 * and passes their output through. Exits non-zero if any of them failed.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const here = import.meta.dir;
const benches = readdirSync(here)
  .filter((name) => name.endsWith(".ts") && name !== "run.ts")
  .sort();

let failed = 0;
for (const name of benches) {
  console.log(`\n== bench/${name}\n`);
  const proc = Bun.spawn([process.execPath, join(here, name)], {
    stdin: "ignore",
    stdout: "inherit",
    stderr: "inherit",
  });
  const code = await proc.exited;
  if (code !== 0) {
    console.error(`bench/${name} exited with code ${code}`);
    failed += 1;
  }
}
console.log(`\n${benches.length - failed} of ${benches.length} benchmarks ran`);
process.exit(failed === 0 ? 0 : 1);
