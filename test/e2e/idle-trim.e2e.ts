/**
 * The idle trim (src/supervisor/idle-trim.ts) against the compiled binary:
 * after a burst of work and a quiet spell, the app and the keeper each give
 * memory back (their debug log says so), and the tree then serves the next
 * burst as before: every pull equal to what was pushed, never a 5xx. Two
 * rounds, so that a trim also runs on code warmed up again after the first
 * one dropped it. How much memory comes back is bench/memory.ts's to measure.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { IDLE_TRIM_INTERVAL_MS } from "../../src/supervisor/idle-trim";
import { waitFor } from "../helpers/proc";
import { stopAllServers } from "../helpers/serve";
import { startVaultServer, type VaultServer } from "../helpers/vault-server";

const PASSWORD = "idle trim, long password";
const ENVS = ["development", "ci", "staging", "production"];
/** The burst's own interval, one quiet interval, and the shrink at the next idle moment. */
const QUIET_MS = 2 * IDLE_TRIM_INTERVAL_MS + 3_000;
let vs: VaultServer;
let token: string;
let project: string;

beforeAll(async () => {
  // Bursts well over the default rate limits: a 429 would make them lighter, not wrong.
  vs = await startVaultServer({
    env: { VAULT_RATE_LIMIT_ADDRESS: "0", VAULT_RATE_LIMIT_CREDENTIAL: "0", VAULT_LOG_LEVEL: "debug" },
  });
  vs.addUser("idle@example.com", PASSWORD, "owner");
  token = await vs.apiLogin("idle@example.com", PASSWORD);
  project = (await vs.api(token, "POST", "/api/v1/projects", { name: "idle" })).id;
});

afterAll(async () => {
  await stopAllServers();
  vs?.vault.remove();
});

/** How many times each role has logged a trim so far. */
function trims(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of vs.server.stderr.split("\n")) {
    if (!line.includes('"idle: giving memory back"')) continue;
    const role = (JSON.parse(line) as { role: string }).role;
    out[role] = (out[role] ?? 0) + 1;
  }
  return out;
}

const file = (salt: string) =>
  `${Array.from({ length: 50 }, (_, i) => `KEY_${i}="value-${salt}-${i}-${"x".repeat(24)}"`).join("\n")}\n`;

/** Each worker pushes to its own environment and pulls it back; returns what went wrong. */
async function burst(round: number, perWorker: number): Promise<string[]> {
  const wrong: string[] = [];
  await Promise.all(
    ENVS.map(async (env) => {
      const url = `${vs.url}/api/v1/projects/${project}/environments/${env}/secrets`;
      const auth = { authorization: `Bearer ${token}` };
      let pushed = "";
      for (let n = 0; n < perWorker; n++) {
        if (n % 10 === 0) {
          pushed = file(`${round}-${env}-${n}`);
          const res = await fetch(url, {
            method: "PUT",
            headers: { ...auth, "content-type": "application/json" },
            body: JSON.stringify({ dotenv: pushed }),
          });
          await res.arrayBuffer();
          if (!res.ok) wrong.push(`push to ${env}: ${res.status}`);
          continue;
        }
        const res = await fetch(url, { headers: auth });
        const body = (await res.json()) as { dotenv?: string };
        if (!res.ok) wrong.push(`pull of ${env}: ${res.status}`);
        else if (body.dotenv !== pushed) wrong.push(`pull of ${env} differs from what was pushed`);
      }
    }),
  );
  return wrong;
}

describe("the idle trim", () => {
  for (const round of [1, 2]) {
    it(`trims the app and the keeper after a quiet spell, then serves the next burst right (round ${round})`, async () => {
      expect(await burst(round, 400)).toEqual([]);
      const before = trims();
      // A quiet spell is QUIET_MS on a quiet machine; on a loaded one the burst's tail (JIT and GC
      // threads) can keep a process busy for longer, so wait for the trims rather than for a time.
      // At least one each: under load a process can go busy, quiet, busy and quiet again, so the
      // exact count (one shrink per burst) is test/supervisor/idle-trim.test.ts's to check.
      const trimmedOnce = () =>
        ["app", "keeper"].every((role) => (trims()[role] ?? 0) >= (before[role] ?? 0) + 1);
      await waitFor("a trim of the app and the keeper", trimmedOnce, {
        timeoutMs: 4 * QUIET_MS,
        intervalMs: 250,
      });
      expect(await burst(round + 10, 40)).toEqual([]);
      expect(await vs.server.status("/readyz")).toBe(200);
    });
  }
});
