/**
 * `vault unpack-addon DIR` (hidden): writes the libsql addon this binary
 * carries to DIR/libsql.node and prints its size and SHA-256. `vault serve`
 * runs it as a short-lived process of its own before it starts the keeper and
 * the app (see src/db/addon.ts for why); scripts/compile.ts checks its output.
 */
import type { CommandContext } from "../cli-kit";
import { CliError } from "../cli-kit";
import { hasEmbeddedAddon, unpackAddon } from "../db";
import { EXIT } from "../exit-codes";

export async function unpackAddonCommand({ io, positionals }: CommandContext): Promise<number> {
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    throw new CliError("unpack-addon takes one directory", EXIT.usage, ["vault unpack-addon DIR"]);
  }
  if (!hasEmbeddedAddon()) {
    throw new CliError("this vault runs from source and carries no libsql addon", EXIT.failure, [
      "libsql loads its addon from node_modules; nothing to unpack",
    ]);
  }
  try {
    const out = await unpackAddon(dir);
    io.stdout.write(`unpacked ${out.path} (${out.bytes} bytes, sha256 ${out.sha256})\n`);
    return EXIT.ok;
  } catch (error) {
    throw new CliError(
      `cannot unpack the libsql addon into ${dir}: ${(error as Error).message}`,
      EXIT.failure,
      ["the directory must be writable by this user"],
    );
  }
}
