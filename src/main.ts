import { run } from "./cli";

process.exit(
  await run(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }),
);
