import type { CommandContext } from "../cli";
import { CliError } from "../cli-kit";
import { EXIT } from "../exit-codes";

const notYet = async (_ctx: CommandContext): Promise<number> => {
  throw new CliError("not built yet", EXIT.failure);
};
export const keeperStatus = notYet;
export const keeperRotate = notYet;
export const keeperRotateRoot = notYet;
