/**
 * `vault tui`: the terminal UI, with the CLI's own server, credential and
 * project resolution (VAULT_TOKEN, DOTENV_ME / .env.me, or the session of
 * `vault login`). It needs a terminal on both ends: without one it says so
 * and exits, before touching the network.
 */
import type { CommandContext } from "../cli-kit";
import { CliError } from "../cli-kit";
import { runClient } from "../client";
import { EXIT } from "../exit-codes";
import { version } from "../version";

export async function tui(ctx: CommandContext): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new CliError("vault tui needs a terminal (standard input and output are not one)", EXIT.usage, [
      "run it in a terminal; in scripts use vault pull, vault set and vault diff",
    ]);
  }
  return runClient(ctx, async (client) => {
    const api = client.api();
    client.credential();
    const flag = typeof ctx.flags.project === "string" ? ctx.flags.project : undefined;
    const projectId = flag ?? client.link.projectId;
    const { runTui } = await import("../tui");
    await runTui({ api, version, projectId });
    return EXIT.ok;
  });
}
