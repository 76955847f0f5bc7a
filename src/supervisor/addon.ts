/**
 * Before the first child starts, `vault serve` unpacks libsql's addon into
 * `<data>/lib` with a short-lived process of its own (see src/db/addon.ts for
 * why), and hands the path to the keeper and the app in their environment.
 * A failure costs memory, not service: the children then unpack their own.
 */
import { join } from "node:path";
import { ADDON_ENV, addonDir, hasEmbeddedAddon } from "../db";
import type { Logger } from "../log";
import { selfCommand } from "./supervisor";

const UNPACK_TIMEOUT_MS = 30_000;

/** The environment to add to the children's: the unpacked addon, or nothing. */
export async function unpackAddonForChildren(dataDir: string, log: Logger): Promise<Record<string, string>> {
  if (!hasEmbeddedAddon()) return {};
  const dir = addonDir(dataDir);
  const proc = Bun.spawn([...selfCommand(), "unpack-addon", dir], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    timeout: UNPACK_TIMEOUT_MS,
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) {
    log.warn(
      "could not unpack the libsql addon; the keeper and the app each unpack their own (9 MB more memory)",
      {
        code,
        error: stderr.split("\n")[0]?.replace(/^vault: error: /, "") ?? "",
      },
    );
    return {};
  }
  return { [ADDON_ENV]: join(dir, "libsql.node") };
}
