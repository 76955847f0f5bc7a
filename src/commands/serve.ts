import type { CommandContext } from "../cli";
import { CliError } from "../cli-kit";
import { EXIT } from "../exit-codes";

export async function serve(_ctx: CommandContext): Promise<number> {
  throw new CliError("serve is not built yet", EXIT.failure);
}
