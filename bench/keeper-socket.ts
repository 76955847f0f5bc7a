/**
 * `get` of 100 refs (1 KB values) through the keeper's unix socket against
 * the same call on the keeper in process, in one run, on a real vault.db in a
 * temporary directory.
 *
 *   bun bench/keeper-socket.ts
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKeeperClient, type KeeperApi, openKeeper, serveKeeper } from "../src/vault";
import { keeperConfig } from "../test/helpers/keeper-config";

const REFS = 100;
const ROUNDS = 7;
const CALLS_PER_ROUND = 200;

const dir = mkdtempSync(join(tmpdir(), "vault-bench-"));
try {
  const keeper = await openKeeper({
    config: keeperConfig(dir),
  });
  const token = randomBytes(32).toString("hex");
  const socket = join(dir, "keeper", "keeper.sock");
  const service = await serveKeeper({ keeper, token, listen: { kind: "unix", path: socket } });
  const client = createKeeperClient({ address: { kind: "unix", path: socket }, token });
  const refs = await keeper.put(Array.from({ length: REFS }, () => randomBytes(1024)));

  async function callsPerSecond(api: KeeperApi): Promise<number> {
    const start = performance.now();
    for (let i = 0; i < CALLS_PER_ROUND; i++) {
      const values = await api.get(refs);
      if (values.length !== REFS || values[0] === null) throw new Error("bad get");
    }
    return CALLS_PER_ROUND / ((performance.now() - start) / 1000);
  }

  for (let i = 0; i < 3; i++) {
    await callsPerSecond(keeper);
    await callsPerSecond(client);
  }
  const inProcess: number[] = [];
  const overSocket: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    inProcess.push(await callsPerSecond(keeper));
    overSocket.push(await callsPerSecond(client));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p = median(inProcess);
  const s = median(overSocket);
  const row = (name: string, perSecond: number) =>
    `${name.padEnd(12)} ${perSecond.toFixed(0).padStart(10)} ${(1000 / perSecond).toFixed(3).padStart(12)}`;
  console.log(`get of ${REFS} refs (1 KB values), median of ${ROUNDS} rounds of ${CALLS_PER_ROUND} calls`);
  console.log(`${"path".padEnd(12)} ${"calls/s".padStart(10)} ${"ms per call".padStart(12)}`);
  console.log(row("in process", p));
  console.log(row("socket", s));
  console.log(`ratio (socket / in process throughput): ${(s / p).toFixed(2)}`);

  await service.stop();
  await keeper.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
