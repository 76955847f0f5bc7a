/**
 * A real browser for the end-to-end tests: Debian's Chromium driven by
 * playwright-core (TOOLCHAIN-NOTES.md; `npx playwright install` cannot
 * download browsers here). A missing Chromium is a failure, never a skip:
 * CI installs it (.ci/run), and a browser test that silently does not run
 * proves nothing.
 *
 * Every launch gets a fresh profile: playwright-core makes a new temporary
 * `--user-data-dir` for each `launch()` and removes it on `close()`, and each
 * browser context is a separate cookie jar on top of it.
 */
import { existsSync } from "node:fs";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
  type Response,
} from "playwright-core";

export const CHROMIUM = process.env.VAULT_E2E_CHROMIUM ?? "/usr/bin/chromium";

/** Headless, no sandbox (CI runs as root), and no traffic of its own: every request in a test is one the page made. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
] as const;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} does not exist: the browser tests need Debian's Chromium (apt-get install -y chromium; .ci/run installs it), or VAULT_E2E_CHROMIUM=/path/to/chromium`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
  });
}

/** A fresh cookie jar with short timeouts, so a broken page fails the test quickly and says where. */
export async function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 }, ...options });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  return context;
}

/** The page's first heading, trimmed. */
export async function heading(page: Page): Promise<string> {
  return ((await page.locator("h1").first().textContent()) ?? "").trim();
}

/**
 * Signs in through the form at `/signin` as a person would: types the email
 * and password and presses the button. The response of the form's POST (a
 * 303 to `next` on success, the form again with an error otherwise) and the
 * page's heading once it has loaded.
 */
export async function signIn(
  page: Page,
  baseUrl: string,
  email: string,
  password: string,
): Promise<{ status: number; heading: string; error: string | null }> {
  // Already on the form (after a redirect to /signin?next=...): sign in there, keeping `next`.
  if (new URL(page.url()).pathname !== "/signin") await page.goto(`${baseUrl}/signin`);
  await page.locator("#email").fill(email);
  await page.locator("#password").fill(password);
  const [post] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/signin"),
    page.locator('form[action="/signin"] button[type="submit"]').click(),
  ]);
  await page.waitForLoadState("load");
  const alert = page.locator('[role="alert"], .error');
  return {
    status: post.status(),
    heading: await heading(page),
    error: (await alert.count()) > 0 ? ((await alert.first().textContent()) ?? "").trim() : null,
  };
}

/**
 * Opens an approval page (`/login`, `/new`, `/logout`, `/cli/approve`) and
 * approves as a person would: waits while the page waits for its CLI's first
 * poll (it reloads itself), ticks the confirmation of the dotenv-vault pages,
 * types the verification code of `/cli/approve` when given, and presses the
 * button. The POST's response and the heading of the page it leads to
 * ("Login approved", "That did not work", ...).
 */
export async function approve(
  page: Page,
  url: string,
  options: { code?: string } = {},
): Promise<{ status: number; heading: string; text: string }> {
  const shown = await page.goto(url);
  if (shown?.status() !== 200) {
    throw new Error(
      `GET ${url} answered ${shown?.status()}: ${(await page.locator("main, body").first().textContent())?.trim()}`,
    );
  }
  await page.locator("form.card").waitFor({ state: "attached" });
  await fillApproval(page, options);
  return submitForm(page, "form.card");
}

/** Ticks the confirmation box of an approval form, if it has one, and types the code, if given. */
export async function fillApproval(page: Page, options: { code?: string } = {}): Promise<void> {
  const confirm = page.locator('form.card input[name="confirm"]');
  if ((await confirm.count()) > 0) await confirm.check();
  if (options.code !== undefined) await page.locator('form.card input[name="code"]').fill(options.code);
}

/** Presses the submit button of the form matching `selector` and waits for the page that answers it. */
export async function submitForm(
  page: Page,
  selector: string,
): Promise<{ status: number; heading: string; text: string }> {
  const form = page.locator(selector).first();
  const action = (await form.getAttribute("action")) ?? "";
  const [post] = await Promise.all([
    page.waitForResponse(
      (r: Response) => r.request().method() === "POST" && new URL(r.url()).pathname === action,
    ),
    form.locator('button[type="submit"]').click(),
  ]);
  await page.waitForLoadState("load");
  return {
    status: post.status(),
    heading: await heading(page),
    text: ((await page.locator("body").textContent()) ?? "").replace(/\s+/g, " ").trim(),
  };
}

/** Every URL the context's pages request from now on (documents, styles, images, favicons, ...). */
export function recordRequests(context: BrowserContext): string[] {
  const urls: string[] = [];
  context.on("request", (request) => {
    urls.push(request.url());
  });
  return urls;
}
