/**
 * The web pages in a real browser: Debian's Chromium, driven by
 * playwright-core, against `vault serve` from the compiled binary. Signing
 * in, wrong passwords and the lockout, CSRF (token removed, changed, cookie
 * missing, a form posted from another site), single-use and expiring request
 * ids, the project page without values, the Content-Security-Policy and
 * that no page loads anything from another origin.
 *
 * Screenshots of the sign-in page and of the project page go to
 * $VAULT_E2E_SCREENSHOTS when set (kept), otherwise to a temporary directory
 * (removed).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CODE_ALPHABET, CODE_LENGTH, formatVerificationCode } from "../../src/verification-code";
import { makeTempDir } from "../helpers/binary";
import {
  approve,
  fillApproval,
  heading,
  launchBrowser,
  newContext,
  recordRequests,
  signIn,
  submitForm,
} from "../helpers/browser";
import { shiftedClock } from "../helpers/clock";
import { freePort, stopAllServers } from "../helpers/serve";
import { startVaultServer, type VaultServer } from "../helpers/vault-server";

const OWNER = "owner@example.com";
const TEAMMATE = "teammate@example.com";
const LOCKED = "locked@example.com";
const PASSWORD = "correct horse battery staple";

/** Pushed through the API first; none of this may ever appear in a page. */
const PUSHED = {
  development: [
    "# dev-comment-c0ffee-never-shown\nDATABASE_URL=postgres://app:pw-9f1e7a-dev@db/app\nAPI_TOKEN=tok-3b8d2c-dev-v1\n",
    "DATABASE_URL=postgres://app:pw-9f1e7a-dev@db/app\nAPI_TOKEN=tok-51aa0e-dev-v2\nFEATURE_FLAG=flag-77d0c4-on\n",
  ],
  production: ['STRIPE_KEY=sk_live_e2e-4c9b1d-prod\nMULTI="line-one-a1b2c3\nline-two-d4e5f6"\n'],
} as const;
const SECRET_MARKERS = [
  "c0ffee",
  "9f1e7a",
  "3b8d2c",
  "51aa0e",
  "77d0c4",
  "4c9b1d",
  "a1b2c3",
  "d4e5f6",
  "never-shown",
  "postgres://",
  "sk_live",
];

const requestId = () => `req_${randomBytes(32).toString("hex")}`;

let srv: VaultServer;
let browser: Browser;
let projectId: string;
let shots: { dir: string; keep: boolean };
const contexts: BrowserContext[] = [];

async function freshPage(
  options: { javaScript?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, { javaScriptEnabled: options.javaScript ?? true });
  contexts.push(context);
  return { context, page: await context.newPage() };
}

async function signedInPage(email = OWNER): Promise<{ context: BrowserContext; page: Page }> {
  const { context, page } = await freshPage();
  const result = await signIn(page, srv.url, email, PASSWORD);
  if (result.status !== 303)
    throw new Error(`signing in as ${email} answered ${result.status}: ${result.error}`);
  return { context, page };
}

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((c) => c.name === "vault_session");
}

/** The verification code the vault CLI would show for a request (derived from the id here, as is its secret). */
function codeFor(id: string): string {
  const bytes = new Bun.CryptoHasher("sha256").update(`code ${id}`).digest();
  return Array.from(bytes.subarray(0, CODE_LENGTH), (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join("");
}

/**
 * What the vault CLI would collect for a `/cli/approve` request: 202 while pending, 200 once approved.
 * The CLI's secret and code are derived from the id here, so every poll of one id presents the same
 * ones; the first poll registers them (as the CLI does before it prints the link).
 */
async function cliHandoffStatus(id: string): Promise<number> {
  const secret = new Bun.CryptoHasher("sha256").update(id).digest("hex");
  const res = await fetch(`${srv.url}/api/v1/auth/cli-handoff`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ request: id, secret, code: codeFor(id) }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** A `vault login --browser` request as the CLI makes it: registered (secret and code) before anyone sees its link. */
async function cliRequest(): Promise<{ id: string; url: string; code: string }> {
  const id = requestId();
  expect(await cliHandoffStatus(id)).toBe(202);
  return { id, url: `${srv.url}/cli/approve?request=${id}`, code: formatVerificationCode(codeFor(id)) };
}

/** What dotenv-vault's `login` polls: 404 while pending, 200 with a `me_` once approved. */
async function checkLogin(url: string, project: string, id: string): Promise<number> {
  const res = await fetch(`${url}/check?DOTENV_VAULT=${project}&requestUid=${id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ vaultUid: project, requestUid: id }),
  });
  await res.arrayBuffer();
  return res.status;
}

function expectNoSecret(text: string): void {
  for (const marker of SECRET_MARKERS)
    expect({ marker, found: text.includes(marker) }).toEqual({ marker, found: false });
}

function expectPng(path: string): void {
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  expect(bytes.length).toBeGreaterThan(5_000);
}

beforeAll(async () => {
  const wanted = process.env.VAULT_E2E_SCREENSHOTS;
  shots = wanted ? { dir: wanted, keep: true } : { dir: makeTempDir("vault-e2e-shots-"), keep: false };
  mkdirSync(shots.dir, { recursive: true });

  srv = await startVaultServer();
  srv.addUser(OWNER, PASSWORD, "owner");
  srv.addUser(TEAMMATE, PASSWORD, "member");
  srv.addUser(LOCKED, PASSWORD, "member");

  const token = await srv.apiLogin(OWNER, PASSWORD);
  projectId = (await srv.api(token, "POST", "/api/v1/projects", { name: "webshop" })).id;
  for (const [env, files] of Object.entries(PUSHED)) {
    for (const dotenv of files) {
      await srv.api(token, "PUT", `/api/v1/projects/${projectId}/environments/${env}/secrets`, { dotenv });
    }
  }
  await srv.api(token, "POST", `/api/v1/projects/${projectId}/members`, {
    email: TEAMMATE,
    permissions: { development: "read" },
  });

  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await stopAllServers();
  srv?.vault.remove();
  if (shots && !shots.keep) rmSync(shots.dir, { recursive: true, force: true });
});

describe("signing in (Chromium)", () => {
  it("signs in through the form, lands on the projects page, and holds an HttpOnly, SameSite=Strict session cookie", async () => {
    const { context, page } = await freshPage();
    const shown = await page.goto(`${srv.url}/signin`);
    expect(shown?.status()).toBe(200);
    expect(await heading(page)).toBe("Sign in");
    const shot = join(shots.dir, "signin.png");
    await page.screenshot({ path: shot, fullPage: true });
    expectPng(shot);

    const result = await signIn(page, srv.url, OWNER, PASSWORD);
    expect(result).toMatchObject({ status: 303, heading: "Projects", error: null });
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await page.locator("table").textContent()).toContain("webshop");
    const cookie = await sessionCookie(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
  });

  it("works without JavaScript: signs in and approves a request with scripts turned off", async () => {
    const { page } = await freshPage({ javaScript: false });
    expect((await signIn(page, srv.url, OWNER, PASSWORD)).status).toBe(303);
    const { id, url, code } = await cliRequest();
    const done = await approve(page, url, { code });
    expect(done).toMatchObject({ status: 200, heading: "Sign-in approved" });
    expect(await cliHandoffStatus(id)).toBe(200);
  });

  it("sends a visitor who is not signed in to the sign-in page, and back to the page asked for", async () => {
    const { page } = await freshPage();
    const id = requestId();
    expect(await checkLogin(srv.url, projectId, id)).toBe(404);
    await page.goto(`${srv.url}/login?DOTENV_VAULT=${projectId}&requestUid=${id}`);
    expect(new URL(page.url()).pathname).toBe("/signin");
    const result = await signIn(page, srv.url, OWNER, PASSWORD);
    expect(result).toMatchObject({ status: 303, heading: "Approve a CLI login" });
    expect(new URL(page.url()).searchParams.get("requestUid")).toBe(id);
  });

  it("shows an error for a wrong password, and does not sign in", async () => {
    const { context, page } = await freshPage();
    const result = await signIn(page, srv.url, TEAMMATE, "not the right password");
    expect(result).toMatchObject({ status: 401, heading: "Sign in", error: "wrong email or password" });
    expect(await sessionCookie(context)).toBeUndefined();
    await page.goto(`${srv.url}/`);
    expect(new URL(page.url()).pathname).toBe("/signin");
  });

  it("announces the lockout at the fifth failure in a row, and refuses the right password while locked", async () => {
    const { context, page } = await freshPage();
    for (let attempt = 1; attempt <= 4; attempt++) {
      const result = await signIn(page, srv.url, LOCKED, `wrong password number ${attempt}`);
      expect({ attempt, ...result }).toMatchObject({
        attempt,
        status: 401,
        error: "wrong email or password",
      });
    }
    const fifth = await signIn(page, srv.url, LOCKED, "wrong password number 5");
    expect(fifth.status).toBe(423);
    expect(fifth.error).toBe("too many failed sign-ins: this account is locked for 15 more minutes");
    const right = await signIn(page, srv.url, LOCKED, PASSWORD);
    expect(right.status).toBe(423);
    expect(right.error).toMatch(/^too many failed sign-ins: this account is locked for 1[45] more minutes$/);
    expect(await sessionCookie(context)).toBeUndefined();
  });
});

describe("CSRF (Chromium)", () => {
  it("refuses a sign-in whose form lost its CSRF token, and sets no session", async () => {
    const { context, page } = await freshPage();
    await page.goto(`${srv.url}/signin`);
    await page.evaluate(`document.querySelector('form[action="/signin"] input[name="csrf"]').remove()`);
    const result = await signIn(page, srv.url, OWNER, PASSWORD);
    expect(result).toMatchObject({ status: 403, heading: "Sign in", error: "This form expired. Try again." });
    expect(await sessionCookie(context)).toBeUndefined();
  });

  it("refuses a sign-in whose CSRF token was changed, or taken from another browser", async () => {
    const other = await freshPage();
    await other.page.goto(`${srv.url}/signin`);
    const foreign = await other.page.locator('input[name="csrf"]').getAttribute("value");
    expect(foreign).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const { context, page } = await freshPage();
    for (const token of ["forged-token", foreign!]) {
      await page.goto(`${srv.url}/signin`);
      const own = await page.locator('input[name="csrf"]').getAttribute("value");
      expect(own).not.toBe(token);
      await page.evaluate(`document.querySelector('input[name="csrf"]').value = ${JSON.stringify(token)}`);
      const result = await signIn(page, srv.url, OWNER, PASSWORD);
      expect(result).toMatchObject({ status: 403, error: "This form expired. Try again." });
      expect(await sessionCookie(context)).toBeUndefined();
    }
  });

  it("refuses an approval with a wrong token or without the CSRF cookie, and the request stays pending", async () => {
    const { context, page } = await signedInPage();
    const { id, url, code } = await cliRequest();
    await page.goto(url);
    await page.evaluate(`document.querySelector('form.card input[name="csrf"]').value = "forged-token"`);
    await fillApproval(page, { code });
    const forged = await submitForm(page, "form.card");
    expect(forged).toMatchObject({ status: 403, heading: "Request refused" });
    expect(await cliHandoffStatus(id)).toBe(202);

    // The right token for this browser, but without the cookie it is bound to.
    await page.goto(url);
    await context.clearCookies({ name: "vault_csrf" });
    await fillApproval(page, { code });
    const cookieless = await submitForm(page, "form.card");
    expect(cookieless).toMatchObject({ status: 403, heading: "Request refused" });
    expect(await cliHandoffStatus(id)).toBe(202);

    // The same page, reloaded with a cookie again, still works: the refusals changed nothing.
    expect(await approve(page, url, { code })).toMatchObject({
      status: 200,
      heading: "Sign-in approved",
    });
    expect(await cliHandoffStatus(id)).toBe(200);
  });

  it("refuses a form that another site posts to it, even one carrying a valid token (the cookies stay home)", async () => {
    const { page } = await signedInPage();
    const id = requestId();
    expect(await checkLogin(srv.url, projectId, id)).toBe(404);
    await page.goto(`${srv.url}/login?DOTENV_VAULT=${projectId}&requestUid=${id}`);
    const token = await page.locator('form.card input[name="csrf"]').getAttribute("value");

    // Another site (localhost is not the same site as 127.0.0.1) with a copy of the approval form.
    const port = await freePort();
    const evil = Bun.serve({
      hostname: "127.0.0.1",
      port,
      fetch: () =>
        new Response(
          `<!doctype html><title>Free prizes</title><form method="post" action="${srv.url}/login">
<input type="hidden" name="csrf" value="${token}"><input type="hidden" name="DOTENV_VAULT" value="${projectId}">
<input type="hidden" name="requestUid" value="${id}"><input type="hidden" name="confirm" value="yes"><button type="submit">Claim</button></form>`,
          { headers: { "content-type": "text/html" } },
        ),
    });
    try {
      await page.goto(`http://localhost:${port}/`);
      const [post] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === "POST" && r.url() === `${srv.url}/login`),
        page.locator("button").click(),
      ]);
      expect(post.status()).toBe(401);
      await page.waitForLoadState("load");
      expect(await heading(page)).toBe("Signed out");
    } finally {
      evil.stop(true);
    }
    expect(await checkLogin(srv.url, projectId, id)).toBe(404);
  });
});

describe("request ids (Chromium)", () => {
  it("refuses a request id that was already used, from a second tab and on a fresh page", async () => {
    const { context, page } = await signedInPage();
    const id = requestId();
    expect(await checkLogin(srv.url, projectId, id)).toBe(404);
    const url = `${srv.url}/login?DOTENV_VAULT=${projectId}&requestUid=${id}`;
    const second = await context.newPage();
    await second.goto(url);
    expect(await heading(second)).toBe("Approve a CLI login");

    expect(await approve(page, url)).toMatchObject({ status: 200, heading: "Login approved" });
    expect(await checkLogin(srv.url, projectId, id)).toBe(200);

    await fillApproval(second);
    const again = await submitForm(second, "form.card");
    expect(again.status).toBe(400);
    expect(again.text).toContain("this request was already used");

    const reopened = await page.goto(url);
    expect(reopened?.status()).toBe(400);
    expect(await page.locator(".error").textContent()).toBe("this request was already used");
    expect(await checkLogin(srv.url, projectId, id)).toBe(404);
  });

  it("refuses a request id ten minutes after its page first showed it, and accepts it before", async () => {
    // A server of its own whose wall clock the test moves forward (libfaketime; see helpers/clock.ts).
    const dir = makeTempDir("vault-e2e-clock-");
    const started = await (async () => {
      try {
        const clock = shiftedClock(dir);
        return { clock, shifted: await startVaultServer({ env: clock.env }) };
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    })();
    const { clock, shifted } = started;
    try {
      shifted.addUser(OWNER, PASSWORD, "owner");
      const token = await shifted.apiLogin(OWNER, PASSWORD);
      const project = (await shifted.api(token, "POST", "/api/v1/projects", { name: "clocked" })).id;

      const context = await newContext(browser);
      contexts.push(context);
      const page = await context.newPage();
      expect((await signIn(page, shifted.url, OWNER, PASSWORD)).status).toBe(303);
      const early = requestId();
      const late = requestId();
      const pages: Record<string, Page> = {};
      for (const id of [early, late]) {
        expect(await checkLogin(shifted.url, project, id)).toBe(404);
        pages[id] = await context.newPage();
        await pages[id].goto(`${shifted.url}/login?DOTENV_VAULT=${project}&requestUid=${id}`);
        expect(await heading(pages[id])).toBe("Approve a CLI login");
        await fillApproval(pages[id]);
      }

      clock.set(9 * 60);
      expect(await submitForm(pages[early]!, "form.card")).toMatchObject({
        status: 200,
        heading: "Login approved",
      });
      expect(await checkLogin(shifted.url, project, early)).toBe(200);

      clock.set(10 * 60 + 1);
      const expired = await submitForm(pages[late]!, "form.card");
      expect(expired.status).toBe(400);
      expect(expired.text).toContain("this request expired");
      expect(await checkLogin(shifted.url, project, late)).toBe(404);
    } finally {
      await shifted.server.stop();
      shifted.vault.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** dotenv-vault's poll, made from another loopback address (as a CLI on another machine would be). */
function checkLoginFrom(address: string, project: string, id: string): number {
  const out = Bun.spawnSync([
    "curl",
    "--silent",
    "--output",
    "/dev/null",
    "--write-out",
    "%{http_code}",
    "--interface",
    address,
    "--user-agent",
    "axios/0.27.2",
    "--header",
    "content-type: application/json",
    "--data",
    JSON.stringify({ vaultUid: project, requestUid: id }),
    `${srv.url}/check?DOTENV_VAULT=${project}&requestUid=${id}`,
  ]);
  if (out.exitCode !== 0) throw new Error(`curl --interface ${address} failed: ${out.stderr.toString()}`);
  return Number(out.stdout.toString());
}

describe("consent phishing (Chromium)", () => {
  it("warns prominently on a login request made from another address than this browser's, and still needs the confirmation", async () => {
    const { page } = await signedInPage();
    const id = requestId();
    // The request's maker polls from 127.0.0.2; the victim's browser comes from 127.0.0.1.
    expect(checkLoginFrom("127.0.0.2", projectId, id)).toBe(404);
    await page.goto(`${srv.url}/login?DOTENV_VAULT=${projectId}&requestUid=${id}`);
    const warning = page.locator('.warning[role="alert"]');
    expect(await warning.count()).toBe(1);
    const text = ((await warning.textContent()) ?? "").replace(/\s+/g, " ");
    expect(text).toContain("This request did not come from this browser's address.");
    expect(text).toContain("It was made from 127.0.0.2, and this browser is at 127.0.0.1.");
    const facts = ((await page.locator("dl.facts").textContent()) ?? "").replace(/\s+/g, " ");
    expect(facts).toContain("Made from127.0.0.2");
    expect(facts).toContain("less than a minute ago");
    expect(facts).toContain("Programaxios/0.27.2");
    expect(facts).toContain("This browser127.0.0.1");
    const shot = join(shots.dir, "approve-warning.png");
    await page.screenshot({ path: shot, fullPage: true });
    expectPng(shot);

    // Without the box ticked, the browser itself does not send the form (the box is required)...
    const box = `document.querySelector('form.card input[name="confirm"]')`;
    expect(await page.evaluate(`${box}.required`)).toBe(true);
    expect(await page.evaluate(`document.querySelector("form.card").checkValidity()`)).toBe(false);
    // ...and a form sent without it anyway is refused by the server.
    await page.evaluate(`${box}.required = false`);
    const unconfirmed = await submitForm(page, "form.card");
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain("confirm that you started this request yourself");
    expect(checkLoginFrom("127.0.0.2", projectId, id)).toBe(404);
  });

  it("does not warn when the request came from this browser's own address", async () => {
    const { page } = await signedInPage();
    const id = requestId();
    expect(await checkLogin(srv.url, projectId, id)).toBe(404);
    await page.goto(`${srv.url}/login?DOTENV_VAULT=${projectId}&requestUid=${id}`);
    expect(await page.locator(".warning").count()).toBe(0);
    expect(await page.locator(".origin").textContent()).toContain("Same address as this browser.");
    expect(await approve(page, page.url())).toMatchObject({ status: 200, heading: "Login approved" });
    expect(await checkLogin(srv.url, projectId, id)).toBe(200);
  });

  it("a page opened before the CLI's first poll waits, reloads itself and shows the form once the poll came", async () => {
    const { page } = await signedInPage();
    const id = requestId();
    const url = `${srv.url}/login?DOTENV_VAULT=${projectId}&requestUid=${id}`;
    await page.goto(url);
    expect(await page.locator("main").textContent()).toContain("Waiting for the CLI.");
    expect(await page.locator("form.card").count()).toBe(0);
    expect(await checkLogin(srv.url, projectId, id)).toBe(404);
    // No reload by the test: the page's own refresh brings the form.
    await page.locator("form.card").waitFor({ state: "attached" });
    expect(await page.locator(".origin").textContent()).toContain("Same address as this browser.");
  });

  it("a vault CLI sign-in asks for the code from the terminal: a wrong one is refused with the attempts left, the right one approves", async () => {
    const { page } = await signedInPage();
    const { id, url, code } = await cliRequest();
    await page.goto(url);
    expect(await page.content()).not.toContain(code);
    expect(await page.locator(".origin").textContent()).toContain("Same address as this browser.");
    await fillApproval(page, { code: "BBBB-BBBB" });
    const wrong = await submitForm(page, "form.card");
    expect(wrong.status).toBe(400);
    expect(await page.locator('.error[role="alert"]').textContent()).toBe(
      "wrong code: 4 attempts left, then this request is refused",
    );
    expect(await cliHandoffStatus(id)).toBe(202);
    await fillApproval(page, { code: code.toLowerCase() });
    expect(await submitForm(page, "form.card")).toMatchObject({ status: 200, heading: "Sign-in approved" });
    expect(await cliHandoffStatus(id)).toBe(200);
  });

  it("a link that no vault CLI registered (someone sent it) shows no form to approve", async () => {
    const { page } = await signedInPage();
    await page.goto(`${srv.url}/cli/approve?request=${requestId()}`);
    expect(await page.locator(".error").textContent()).toBe(
      "No vault CLI has registered this request, so it cannot be approved.",
    );
    expect(await page.locator("form.card").count()).toBe(0);
  });
});

describe("project page (Chromium)", () => {
  it("shows the project's environments, versions and members, and no pushed value anywhere in the page source; dotenv-vault's /open lands on the editor", async () => {
    const { page } = await signedInPage();
    const opened = await page.goto(`${srv.url}/open?DOTENV_VAULT=${projectId}&environment=undefined`);
    expect(opened?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe(`/p/${projectId}/e/development`);
    expectNoSecret(await opened!.text());
    const res = await page.goto(`${srv.url}/p/${projectId}`);
    expect(res?.status()).toBe(200);
    const source = await res!.text();
    expect(await heading(page)).toBe("webshop");

    const envs = ((await page.locator("#environments").textContent()) ?? "").replace(/\s+/g, " ");
    for (const env of ["development", "ci", "staging", "production"]) expect(envs).toContain(env);
    expect(envs).toContain("development (main)v2");
    expect(envs).toContain("productionv1");
    expect(envs).toContain(OWNER);
    // The management pages (team, tokens, keys, audit) are linked under Manage once they exist.
    expect(await page.locator("h2").allTextContents()).toEqual(["Environments", "Manage", "Members"]);
    const members = ((await page.locator("#members").textContent()) ?? "").replace(/\s+/g, " ");
    expect(members).toContain(OWNER);
    expect(members).toContain(TEAMMATE);

    expectNoSecret(source);
    expectNoSecret(await page.content());
    const shot = join(shots.dir, "project.png");
    await page.screenshot({ path: shot, fullPage: true });
    expectPng(shot);
  });

  it("shows a member their access per environment, and nothing of those they were not granted", async () => {
    const { page } = await signedInPage(TEAMMATE);
    await page.goto(`${srv.url}/p/${projectId}`);
    const rows = page.locator("#environments tbody tr");
    expect(
      ((await rows.filter({ hasText: "development" }).textContent()) ?? "").replace(/\s+/g, " "),
    ).toContain("read only");
    const production = ((await rows.filter({ hasText: "production" }).textContent()) ?? "").replace(
      /\s+/g,
      " ",
    );
    expect(production).toContain("no access");
    expect(production).not.toContain(OWNER);
    expectNoSecret(await page.content());
  });
});

describe("headers and assets (Chromium)", () => {
  it("sends every page with a strict Content-Security-Policy and framing, sniffing and referrer protection", async () => {
    const { page } = await freshPage();
    const seen: Array<{ url: string; headers: Record<string, string> }> = [];
    // Every HTML page (the 303 redirects between them have no body to protect).
    page.on("response", (r) => {
      const headers = r.headers();
      if (headers["content-type"]?.startsWith("text/html")) seen.push({ url: r.url(), headers });
    });
    await page.goto(`${srv.url}/signin`);
    await signIn(page, srv.url, OWNER, PASSWORD);
    await page.goto(`${srv.url}/open?DOTENV_VAULT=${projectId}`);
    await page.goto(`${srv.url}/login?DOTENV_VAULT=${projectId}&requestUid=req_not-a-request`);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (const { url, headers } of seen) {
      const csp = headers["content-security-policy"] ?? "";
      const directives = Object.fromEntries(
        csp.split(";").map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name, values.join(" ")];
        }),
      );
      expect({ url, directives }).toEqual({
        url,
        directives: {
          "default-src": "'none'",
          "script-src": "'self'",
          "style-src": "'self'",
          "img-src": "'self'",
          "connect-src": "'self'",
          "form-action": "'self'",
          "frame-ancestors": "'none'",
          "base-uri": "'none'",
        },
      });
      expect({ url, frame: headers["x-frame-options"], sniff: headers["x-content-type-options"] }).toEqual({
        url,
        frame: "DENY",
        sniff: "nosniff",
      });
      expect(headers["referrer-policy"]).toBe("no-referrer");
    }
  });

  it("enforces the policy: an injected inline script does not run and a third-party image is blocked before it is fetched", async () => {
    const { page } = await freshPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (m.text().includes("Content Security Policy")) violations.push(m.text());
    });
    const thirdParty: string[] = [];
    page.on("requestfailed", (r) => {
      thirdParty.push(`${r.url()} failed: ${r.failure()?.errorText}`);
    });
    page.on("response", (r) => {
      if (!r.url().startsWith(srv.url)) thirdParty.push(`${r.url()} answered ${r.status()}`);
    });
    await page.goto(`${srv.url}/signin`);
    const ran = await page.evaluate(`new Promise((resolve) => {
      const script = document.createElement("script");
      script.textContent = "window.__injected = true";
      document.body.append(script);
      const img = document.createElement("img");
      img.src = "http://third-party.example/pixel.png";
      document.body.append(img);
      setTimeout(() => resolve(window.__injected === true), 300);
    })`);
    expect(ran).toBe(false);
    // Chromium announces the image request, then blocks it before it leaves: no response, ever.
    expect(thirdParty).toEqual(["http://third-party.example/pixel.png failed: csp"]);
    expect(violations.length).toBeGreaterThanOrEqual(2);
  });

  it("loads nothing from anywhere but the server's own origin, on any page", async () => {
    const { context, page } = await freshPage();
    const urls = recordRequests(context);
    await page.goto(`${srv.url}/signin`);
    await signIn(page, srv.url, OWNER, "a wrong password, for the error page");
    await signIn(page, srv.url, OWNER, PASSWORD);
    await page.goto(`${srv.url}/open?DOTENV_VAULT=${projectId}`);
    const cli = await cliRequest();
    await approve(page, cli.url, { code: cli.code });
    await page.goto(`${srv.url}/new?project_name=assets&request_uid=${requestId()}`);
    await page.goto(`${srv.url}/logout?DOTENV_VAULT=${projectId}&requestUid=req_bad`);
    await page.goto(`${srv.url}/`);
    await submitForm(page, 'form[action="/signout"]');
    expect(new URL(page.url()).pathname).toBe("/signin");
    expect(urls.length).toBeGreaterThan(10);
    expect(urls.some((u) => u.startsWith(`${srv.url}/assets/vault.css?v=`))).toBe(true);
    expect(urls.some((u) => u.startsWith(`${srv.url}/assets/vault.js?v=`))).toBe(true);
    const origin = new URL(srv.url).origin;
    expect(urls.filter((u) => new URL(u).origin !== origin)).toEqual([]);
  });
});
