/**
 * Durability of the compiled server (issue 17): the supervisor hands
 * `--durability` to both children, so the keeper's vault.db and the app's
 * app.db sync every commit by default and keep NORMAL with `--durability
 * fast` (read back from /metrics, which reports each process's own
 * connection).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { type Installed, installBinary } from "../helpers/binary";
import { startServe, stopAllServers } from "../helpers/serve";
import { parsePrometheus } from "../ops/prometheus";

let vault: Installed;

beforeAll(() => {
  vault = installBinary();
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

afterEach(stopAllServers);

async function synchronousOf(args: string[], env: Record<string, string> = {}) {
  const server = await startServe({
    bin: vault.bin,
    cwd: vault.dir,
    data: join(vault.dir, `data-${args.join("-") || "default"}-${Object.keys(env).join("-")}`),
    args,
    env,
  });
  await server.waitReady();
  const text = await (await fetch(`${server.url}/metrics`)).text();
  await server.stop();
  const samples = parsePrometheus(text).filter((s) => s.name === "vault_db_synchronous");
  return Object.fromEntries(samples.map((s) => [s.labels.db, s.value]));
}

describe("durability of the compiled server", () => {
  it("syncs every commit in both processes' databases by default (synchronous 2 = FULL)", async () => {
    expect(await synchronousOf([])).toEqual({ app: 2, vault: 2 });
  });

  it("keeps synchronous NORMAL (1) in the app's and the keeper's database with --durability fast", async () => {
    expect(await synchronousOf(["--durability", "fast"])).toEqual({ app: 1, vault: 1 });
  });

  it("takes VAULT_DURABILITY=fast in both processes", async () => {
    expect(await synchronousOf([], { VAULT_DURABILITY: "fast" })).toEqual({ app: 1, vault: 1 });
  });
});
