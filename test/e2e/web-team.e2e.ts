/**
 * The team's pages in a real browser (Debian's Chromium, playwright-core,
 * against `vault serve` from the compiled binary), where what a route test
 * cannot see matters: a revocation or rotation is asked once, in the
 * script's dialog when scripts run (the form's <noscript> field is not
 * sent) and on a page of its own when they do not; a shown DOTENV_KEY is
 * copied by the copy button; the keys page itself holds no key.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, newContext, signIn } from "../helpers/browser";
import { stopAllServers } from "../helpers/serve";
import { startVaultServer, type VaultServer } from "../helpers/vault-server";

const OWNER = "owner@example.com";
const PASSWORD = "correct horse battery staple";

let srv: VaultServer;
let browser: Browser;
let token: string;
let projectId: string;
const contexts: BrowserContext[] = [];

async function ownerPage(javaScript = true, permissions: string[] = []): Promise<Page> {
  const context = await newContext(browser, { javaScriptEnabled: javaScript, permissions });
  contexts.push(context);
  const page = await context.newPage();
  const result = await signIn(page, srv.url, OWNER, PASSWORD);
  if (result.status !== 303) throw new Error(`signing in answered ${result.status}: ${result.error}`);
  return page;
}

const tokenStatus = async (id: string) =>
  (
    (await srv.api(token, "GET", `/api/v1/projects/${projectId}/tokens`)).tokens as {
      id: string;
      status: string;
    }[]
  ).find((t) => t.id === id)?.status;

/** Every POST the page makes from now on, by path. */
function posts(page: Page): string[] {
  const seen: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST") seen.push(`${new URL(r.url()).pathname} ${r.postData() ?? ""}`);
  });
  return seen;
}

beforeAll(async () => {
  srv = await startVaultServer();
  srv.addUser(OWNER, PASSWORD, "owner");
  token = await srv.apiLogin(OWNER, PASSWORD);
  projectId = (await srv.api(token, "POST", "/api/v1/projects", { name: "webshop" })).id;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await stopAllServers();
  srv?.vault.remove();
});

describe("confirmations (Chromium)", () => {
  it("with scripts, a revocation is asked once in the dialog: cancel changes nothing, confirm revokes with one POST", async () => {
    const made = await srv.api(token, "POST", `/api/v1/projects/${projectId}/tokens`, {
      name: "ci-dialog",
      environments: ["ci"],
    });
    const page = await ownerPage();
    await page.goto(`${srv.url}/p/${projectId}/tokens`);
    const sent = posts(page);
    const row = page.locator('tr[data-name="ci-dialog"]');
    await row.locator('[data-testid="revoke-token"]').click();
    const dialog = page.locator("dialog[open]");
    await expect(dialog.textContent()).resolves.toContain("Revoke the token ci-dialog?");
    await dialog.locator('[data-answer="no"]').click();
    expect(await page.locator("dialog[open]").count()).toBe(0);
    expect(sent).toEqual([]);
    expect(await tokenStatus(made.id)).toBe("active");

    await row.locator('[data-testid="revoke-token"]').click();
    await Promise.all([
      page.waitForURL(/done=token-revoked/),
      page.locator('dialog[open] [data-answer="yes"]').click(),
    ]);
    expect(sent.length).toBe(1);
    expect(sent[0]).not.toContain("ask=");
    expect(await tokenStatus(made.id)).toBe("revoked");
    expect(await page.locator(".notice").textContent()).toContain("Token revoked");
  });

  it("without scripts, a revocation is asked on a page of its own, and only its button revokes", async () => {
    const made = await srv.api(token, "POST", `/api/v1/projects/${projectId}/tokens`, {
      name: "ci-noscript",
      environments: ["ci"],
    });
    const page = await ownerPage(false);
    await page.goto(`${srv.url}/p/${projectId}/tokens`);
    await Promise.all([
      page.waitForURL(/\/revoke$/),
      page.locator('tr[data-name="ci-noscript"] [data-testid="revoke-token"]').click(),
    ]);
    expect((await page.locator("h1").textContent())?.trim()).toBe("Revoke a token");
    expect(await tokenStatus(made.id)).toBe("active");
    await Promise.all([
      page.waitForURL(/done=token-revoked/),
      page.locator('[data-testid="confirm"]').click(),
    ]);
    expect(await tokenStatus(made.id)).toBe("revoked");
  });
});

describe("keys (Chromium)", () => {
  it("holds no key until one is shown; a shown key is copied by its copy button", async () => {
    const { keys } = await srv.api(token, "GET", `/api/v1/projects/${projectId}/keys`);
    const page = await ownerPage(true, ["clipboard-read", "clipboard-write"]);
    await page.goto(`${srv.url}/p/${projectId}/keys`);
    const listed = (await page.content()) as string;
    for (const k of keys as { key: string }[]) expect(listed).not.toContain(k.key.slice(-64));
    await Promise.all([
      page.waitForURL(/\/keys\/staging\/show$/),
      page.locator('tr[data-name="staging"] [data-testid="show-key"]').click(),
    ]);
    const staging = (keys as { environment: string; key: string }[]).find(
      (k) => k.environment === "staging",
    )!;
    expect((await page.locator("#dotenv-key").textContent())?.trim()).toBe(staging.key);
    const copy = page.locator('button[data-copy="dotenv-key"]');
    expect(await copy.isVisible()).toBe(true);
    await copy.click();
    await page.locator(".notice").waitFor();
    // In the page (a browser's navigator, which this file's types do not describe).
    const clipboard = () =>
      (
        globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
      ).navigator.clipboard.readText();
    expect(await page.evaluate(clipboard)).toBe(staging.key);
  });

  it("without scripts, the copy button stays hidden and the key is there to select", async () => {
    const page = await ownerPage(false);
    await page.goto(`${srv.url}/p/${projectId}/keys`);
    await Promise.all([
      page.waitForURL(/\/keys\/ci\/show$/),
      page.locator('tr[data-name="ci"] [data-testid="show-key"]').click(),
    ]);
    expect(await page.locator('button[data-copy="dotenv-key"]').isVisible()).toBe(false);
    expect((await page.locator("#dotenv-key").textContent())?.trim()).toStartWith("dotenv://:key_");
  });
});
