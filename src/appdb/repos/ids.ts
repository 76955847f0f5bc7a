import { randomBytes } from "node:crypto";

export type Random = (n: number) => Uint8Array;

export const hex = (random: Random, bytes: number) => Buffer.from(random(bytes)).toString("hex");

/** Ids say what they name: `usr_`, `vlt_` (projects, as the dotenv-vault tools expect), `env_`, `tok_`. */
export const newId = {
  user: (random: Random) => `usr_${hex(random, 12)}`,
  project: (random: Random) => `vlt_${hex(random, 32)}`,
  environment: (random: Random) => `env_${hex(random, 12)}`,
  token: (random: Random) => `tok_${hex(random, 12)}`,
  webhook: (random: Random) => `whk_${hex(random, 12)}`,
  delivery: (random: Random) => `dlv_${hex(random, 12)}`,
};

export const defaultRandom: Random = (n) => new Uint8Array(randomBytes(n));
