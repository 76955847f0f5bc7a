import { run } from "./cli";
import { disableCoreDumps } from "./harden";

// A crash writes no core holding a value, a credential or a key file's bytes. serve does this in each
// of its processes itself (with --debuggable); `vault run`'s command would inherit a core limit.
const beforeCommand = (name: string) => {
  if (name !== "serve") disableCoreDumps({ coreLimit: name !== "run" });
};

process.exit(
  await run(process.argv.slice(2), {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    beforeCommand,
  }),
);
