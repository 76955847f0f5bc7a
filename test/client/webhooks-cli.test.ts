/**
 * `vault webhooks ...` in process against the real application over HTTP, with a real receiver
 * on loopback (allowed here: --webhooks-allow-http, 127.0.0.1/32).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseIpRange } from "../../src/ip-range";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver";
import { type CliHarness, startCliHarness } from "./cli-harness";

let c: CliHarness;
let config: string;
let checkout: string;
let receiver: Receiver;

beforeAll(async () => {
  c = await startCliHarness({
    config: { webhooksAllowHttp: true, webhooksAllowPrivate: [parseIpRange("127.0.0.1/32")] },
  });
  receiver = startReceiver((n) => (n === 2 ? 500 : 200));
  const owner = await c.h.user("owner@example.com", "owner");
  config = c.signedIn(owner);
  checkout = c.dir("app");
  await c.ok(["new", "shop"], { config, cwd: checkout });
  expect(readFileSync(join(checkout, ".env.vault"), "utf8")).toContain("DOTENV_VAULT");
});
afterAll(() => receiver.stop());

describe("vault webhooks", () => {
  it("adds a webhook printing its secret once, lists, pings, shows deliveries, redelivers, rotates and removes it", async () => {
    const opts = { config, cwd: checkout };
    const added = await c.cli(
      ["webhooks", "add", receiver.url, "--env", "production", "--events", "version.created"],
      opts,
    );
    expect(added.code).toBe(0);
    const secret = added.stdout.trim();
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const id = /webhook (whk_[0-9a-f]{24})/.exec(added.stderr)![1]!;
    expect(added.stderr).toContain("shown once");

    const list = await c.ok(["webhooks", "list"], opts);
    expect(list).toContain(id);
    expect(list).toContain("production");
    expect(list).not.toContain(secret);
    const show = await c.ok(["webhooks", "show", id], opts);
    expect(show).toContain(receiver.url);
    expect(show).not.toContain(secret.slice(6));

    const ping = await c.cli(["webhooks", "ping", id], opts);
    expect(ping.code).toBe(0);
    expect(ping.stdout).toMatch(/ping: delivered, 1 attempt, last 200 in \d+ ms/);
    // The second request the receiver gets is answered 500: ping exits non-zero and says so.
    const failed = await c.cli(["webhooks", "ping", id], opts);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("pending, 1 attempt, last 500");
    const delivery = /^(dlv_[0-9a-f]{24})/.exec(failed.stdout)![1]!;

    const log = await c.ok(["webhooks", "deliveries", id], opts);
    expect(log).toContain(delivery);
    expect(log).toContain("NEXT TRY");
    const again = await c.cli(["webhooks", "redeliver", id, delivery], opts);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${delivery} ping: delivered, 2 attempts, last 200`);
    const one = await c.ok(["webhooks", "deliveries", id, delivery], opts);
    expect(one).toContain("500");
    expect(one).toContain("HTTP_STATUS");

    const rotated = await c.cli(["webhooks", "rotate-secret", id], opts);
    expect(rotated.stdout.trim()).toMatch(/^whsec_/);
    expect(rotated.stdout.trim()).not.toBe(secret);
    expect(rotated.stderr).toContain("the old one no longer verifies");
    const kept = await c.cli(["webhooks", "rotate-secret", id, "--keep-old", "24"], opts);
    expect(kept.code).toBe(0);
    expect(kept.stderr).toContain("the old one also signs until");
    expect((await c.cli(["webhooks", "rotate-secret", id, "--keep-old", "100"], opts)).code).toBe(2);
    expect((await c.ok(["webhooks", "disable", id], opts)).trim()).toBe(`${id} disabled`);
    expect((await c.ok(["webhooks", "enable", id], opts)).trim()).toBe(`${id} enabled`);
    expect((await c.ok(["webhooks", "rm", id], opts)).trim()).toBe(`removed ${id}`);
    expect(await c.ok(["webhooks", "list"], opts)).toContain("no webhooks");
  });

  it("refuses a link-local URL (the cloud metadata address) with vault: error and a hint, and no stack trace", async () => {
    const r = await c.cli(["webhooks", "add", "http://169.254.169.254/latest/meta-data/"], {
      config,
      cwd: checkout,
    });
    // The client's mistake: the usage exit code.
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("vault: error: the webhook URL's host is a link-local address");
    expect(r.stderr).toContain("vault: hint: ");
    expect(r.stderr).not.toContain("    at ");
    const usage = await c.cli(["webhooks", "show", "nope"], { config, cwd: checkout });
    expect(usage.code).toBe(2);
  });
});
