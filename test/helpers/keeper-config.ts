/** The keeper settings of a data directory laid out as `vault serve` lays it out, for tests and benchmarks. */
import { join } from "node:path";
import type { OpenKeeperOptions } from "../../src/vault";

export type KeeperConfig = OpenKeeperOptions["config"];

export function keeperConfig(dir: string, overrides: Partial<KeeperConfig> = {}): KeeperConfig {
  return {
    rootKeyFile: join(dir, "keeper", "root.key"),
    vaultDb: join(dir, "keeper", "vault.db"),
    vaultDbAuthTokenFile: undefined,
    rotateMinMs: 7 * 86_400_000,
    rotateMaxMs: 30 * 86_400_000,
    rotateCap: 100_000_000,
    resealBatch: 500,
    ...overrides,
  };
}
