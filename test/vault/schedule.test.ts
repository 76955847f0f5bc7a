import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { openDatabase, readKeyFile } from "../../src/db";
import { createKeeperClient, type KeeperEvent, openKeeper, serveKeeper } from "../../src/vault";
import { atRestKeyFor } from "../../src/vault/keeper-types";
import { openKeyring, scheduleOf } from "../../src/vault/keyring";
import { createStore } from "../../src/vault/store";
import { freshKeeper, type KeeperConfig, keeperConfig, manualClock, tempDir, utf8 } from "./helpers";

const DAY = 86_400_000;

async function storedSchedule(config: KeeperConfig) {
  const root = readKeyFile(config.rootKeyFile, "root key");
  const db = await openDatabase({
    location: config.vaultDb,
    atRestKey: atRestKeyFor(root),
    label: "vault.db",
  });
  try {
    return scheduleOf(openKeyring(root, (await createStore(db).loadKeyring())!));
  } finally {
    db.close();
  }
}

/** The ways a time could be written down: milliseconds, seconds, ISO and UTC dates. */
function spellings(ms: number): string[] {
  const date = new Date(ms);
  return [
    String(ms),
    String(Math.floor(ms / 1000)),
    date.toISOString(),
    date.toISOString().slice(0, 16),
    date.toUTCString(),
  ];
}

describe("rotation schedule", () => {
  it("draws the next rotation inside the window after the last rotation", async () => {
    const clock = manualClock();
    const { keeper, config } = await freshKeeper(
      { rotateMinMs: 7 * DAY, rotateMaxMs: 30 * DAY },
      { now: clock.now },
    );
    const start = clock.now();
    clock.advance(DAY);
    await keeper.rotate();
    await keeper.close();
    const { lastRotationAt, nextRotationAt } = await storedSchedule(config);
    expect(lastRotationAt).toBe(start + DAY);
    expect(nextRotationAt).toBeGreaterThanOrEqual(start + DAY + 7 * DAY);
    expect(nextRotationAt).toBeLessThanOrEqual(start + DAY + 30 * DAY);
  });

  it("differs from one fresh keeper to the next", async () => {
    const clock = manualClock();
    const nexts = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const { keeper, config } = await freshKeeper({}, { now: clock.now });
      await keeper.close();
      const { lastRotationAt, nextRotationAt } = await storedSchedule(config);
      expect(lastRotationAt).toBe(clock.now());
      nexts.add(nextRotationAt);
    }
    expect(nexts.size).toBe(5);
  });

  it("is drawn again when the window no longer contains it", async () => {
    const dir = tempDir();
    const wide = keeperConfig(dir, { rotateMinMs: 7 * DAY, rotateMaxMs: 30 * DAY });
    await (await openKeeper({ config: wide })).close();
    const narrow = { ...wide, rotateMinMs: DAY, rotateMaxMs: 2 * DAY };
    const before = await storedSchedule(wide);
    await (await openKeeper({ config: narrow })).close();
    const after = await storedSchedule(narrow);
    expect(after.lastRotationAt).toBe(before.lastRotationAt);
    expect(after.nextRotationAt - after.lastRotationAt).toBeGreaterThanOrEqual(DAY);
    expect(after.nextRotationAt - after.lastRotationAt).toBeLessThanOrEqual(2 * DAY);
  });

  it("appears in no answer, over the socket or in process, and in no log event", async () => {
    const events: KeeperEvent[] = [];
    const printed: string[] = [];
    const original = { log: console.log, error: console.error, warn: console.warn, info: console.info };
    for (const name of ["log", "error", "warn", "info"] as const) {
      console[name] = (...args: unknown[]) => {
        printed.push(args.map(String).join(" "));
      };
    }
    try {
      const { keeper, config } = await freshKeeper({ resealBatch: 2 }, { log: (e) => events.push(e) });
      const token = randomBytes(32).toString("hex");
      const socket = `${tempDir()}/run/keeper.sock`;
      const service = await serveKeeper({ keeper, token, listen: { kind: "unix", path: socket } });
      const client = createKeeperClient({ address: { kind: "unix", path: socket }, token });
      const answers: unknown[] = [];
      await client.put([utf8("a"), utf8("b"), utf8("c")]);
      answers.push(await client.rotate());
      for (let i = 0; i < 3; i++) answers.push(await keeper.tick());
      answers.push(await client.stats(), await client.health(), await keeper.stats(), await keeper.health());
      for (const path of ["/v1/stats", "/v1/health"]) {
        const response = await fetch(`http://localhost${path}`, {
          headers: { authorization: `Bearer ${token}` },
          unix: socket,
        } as RequestInit);
        answers.push(await response.text());
      }
      await service.stop();
      await keeper.close();

      const { nextRotationAt } = await storedSchedule(config);
      const haystack = JSON.stringify({ answers, events, printed });
      expect(events.length).toBeGreaterThan(0);
      for (const spelling of spellings(nextRotationAt)) expect(haystack).not.toContain(spelling);
    } finally {
      Object.assign(console, original);
    }
  });
});
