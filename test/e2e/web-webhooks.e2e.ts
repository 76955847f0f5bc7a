/**
 * The webhooks pages in a real browser (Debian's Chromium, playwright-core, against `vault serve`
 * from the compiled binary, with a receiver on loopback allowed by --webhooks-allow-http and
 * --webhooks-allow-private 127.0.0.1/32 through their environment variables): add a webhook by
 * the form (its secret shown once), ping it, see the delivery log, rotate the secret through the
 * script's dialog; axe finds no serious violation at 360 and 1440 px, light and dark, and no page
 * is wider than a phone's window.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { axeViolations, describeViolations } from "../helpers/axe";
import { launchBrowser, newContext, signIn } from "../helpers/browser";
import { stopAllServers } from "../helpers/serve";
import { startVaultServer, type VaultServer } from "../helpers/vault-server";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver";

const OWNER = "owner@example.com";
const PASSWORD = "correct horse battery staple";

let srv: VaultServer;
let browser: Browser;
let receiver: Receiver;
let projectId: string;
const contexts: BrowserContext[] = [];

/** `bypassCSP` only for axe, whose source is put into the page (see helpers/axe.ts). */
async function ownerPage(bypassCSP = false): Promise<Page> {
  const context = await newContext(browser, { bypassCSP });
  contexts.push(context);
  const page = await context.newPage();
  const result = await signIn(page, srv.url, OWNER, PASSWORD);
  if (result.status !== 303) throw new Error(`signing in answered ${result.status}: ${result.error}`);
  return page;
}

beforeAll(async () => {
  srv = await startVaultServer({
    env: { VAULT_WEBHOOKS_ALLOW_HTTP: "1", VAULT_WEBHOOKS_ALLOW_PRIVATE: "127.0.0.1/32" },
  });
  srv.addUser(OWNER, PASSWORD, "owner");
  const token = await srv.apiLogin(OWNER, PASSWORD);
  projectId = (await srv.api(token, "POST", "/api/v1/projects", { name: "webshop" })).id;
  receiver = startReceiver();
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await receiver?.stop();
  await stopAllServers();
  srv?.vault.remove();
});

describe("webhooks pages (Chromium)", () => {
  it("adds a webhook by the form, shows its secret once, pings it and rotates the secret through the dialog", async () => {
    const page = await ownerPage();
    await page.goto(`${srv.url}/p/${projectId}`);
    await Promise.all([page.waitForURL(/\/webhooks$/), page.getByRole("link", { name: "Webhooks" }).click()]);
    await page.locator("#webhook-url").fill(receiver.url);
    await page.getByLabel("production").check();
    await page.getByLabel("version.created").check();
    await page.getByRole("button", { name: "Add webhook" }).click();
    const secret = ((await page.locator("#webhook-secret").textContent()) ?? "").trim();
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    await Promise.all([
      page.waitForURL(/\/webhooks\/whk_[0-9a-f]{24}$/),
      page.getByRole("link", { name: "To the webhook" }).click(),
    ]);
    expect(await page.content()).not.toContain(secret.slice(6));
    await Promise.all([page.waitForURL(/done=webhook-pinged/), page.locator('[data-testid="ping"]').click()]);
    expect(await page.locator(".notice").textContent()).toContain("Ping sent");
    expect(receiver.received).toHaveLength(1);
    const log = (await page.locator("#deliveries").textContent()) ?? "";
    expect(log).toContain("ping");
    expect(log).toContain("delivered");

    await page.locator('[data-testid="rotate"]').click();
    const dialog = page.locator("dialog[open]");
    await expect(dialog.textContent()).resolves.toContain("new signing secret");
    await Promise.all([
      page.waitForURL(/\/rotate-secret$/),
      page.locator('dialog[open] [data-answer="yes"]').click(),
    ]);
    const rotated = ((await page.locator("#webhook-secret").textContent()) ?? "").trim();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
  });

  it("has no serious accessibility violation and fits a phone, light and dark", async () => {
    const page = await ownerPage(true);
    await page.goto(`${srv.url}/p/${projectId}/webhooks`);
    const hook = await page.locator("#webhooks a").first().getAttribute("href");
    expect(hook).toMatch(/\/webhooks\/whk_/);
    const problems: string[] = [];
    for (const look of [
      { width: 360, height: 740, scheme: "light" },
      { width: 360, height: 740, scheme: "dark" },
      { width: 1440, height: 900, scheme: "light" },
      { width: 1440, height: 900, scheme: "dark" },
    ] as const) {
      await page.setViewportSize({ width: look.width, height: look.height });
      await page.emulateMedia({ colorScheme: look.scheme });
      for (const path of [`/p/${projectId}/webhooks`, hook!]) {
        const res = await page.goto(`${srv.url}${path}`);
        expect(res?.status()).toBe(200);
        const where = `${path} at ${look.width} px, ${look.scheme}`;
        const wide = (await page.evaluate(
          "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
        )) as [number, number];
        if (wide[0] > wide[1])
          problems.push(`${where}: the page is ${wide[0]} px wide in a ${wide[1]} px window`);
        const violations = await axeViolations(page);
        if (violations.length) problems.push(`${where}:\n${describeViolations(violations)}`);
      }
    }
    expect(problems, problems.join("\n\n")).toEqual([]);
  });
});
