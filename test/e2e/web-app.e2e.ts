/**
 * The web app's proof in a real browser (Debian's Chromium driven by
 * playwright-core) against `vault serve` from the compiled binary, with the
 * compiled CLI beside it:
 *
 * - with scripts: sign in, open an environment, add a key, edit one over two
 *   lines, delete one, review; the CLI saves in between (after the review,
 *   before the save), the save shows what moved and reapplies, then saves;
 *   `vault pull` gives exactly the file those changes make;
 * - a revealed value is an audit event, on the audit page and in the API;
 * - an invited member with read on one environment sees only it, every
 *   editing control is disabled, and a forged POST is refused;
 * - without scripts: add (over two lines), edit, review and save, checked
 *   with `vault pull`;
 * - the keyboard reaches the skip link and the editor's first action with a
 *   visible focus ring;
 * - axe-core on every page at 360 px and 1440 px, light and dark: no serious
 *   or critical violation, and no page scrolls sideways at 360 px.
 *
 * A screenshot of every page in every one of those four looks goes to
 * test/e2e/screenshots/ (ignored by git; $VAULT_E2E_SCREENSHOTS to put them
 * elsewhere). readme-editor.png and readme-history.png there are the
 * README's pictures: docs/screenshots/ holds them, made smaller with
 * `pngquant --quality=80-95` and `optipng -o5` (Debian packages; only to
 * refresh those pictures, never in CI). Every value in this file is an
 * obviously fake one, and no picture shows one.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { axeViolations, describeViolations } from "../helpers/axe";
import { cleanEnv, hasStackTrace, REPO_ROOT } from "../helpers/binary";
import { launchBrowser, newContext, signIn } from "../helpers/browser";
import { waitFor } from "../helpers/proc";
import { stopAllServers } from "../helpers/serve";
import { startVaultServer, type VaultServer } from "../helpers/vault-server";

const OWNER = "owner@example.com";
const COLLEAGUE = "ana@example.com";
const READER = "reader@example.com";
const PASSWORD = "correct horse battery staple";
const READER_PASSWORD = "reader's own passphrase, long enough";

/** development before the browser touches it (pushed with the CLI). */
const DEV_FILE = `# fake values for the web app's browser test
DATABASE_URL=postgres://fake_user:fake_password@db.example.test:5432/shop
API_TOKEN=fake-api-token-0001
FEATURE_FLAG=off
LEGACY_KEY=fake-legacy-0002
REDIS_URL=redis://cache.example.test:6379/0
`;
/** production, for the screenshots and the pages axe looks at. */
const PROD_FILE = `DATABASE_URL=postgres://demo:not-a-real-password@db.example.test:5432/shop
REDIS_URL=redis://cache.example.test:6379/0
STRIPE_SECRET_KEY=sk_test_not_a_real_key_0000
SENTRY_DSN=https://fake-dsn@sentry.example.test/1
SMTP_PASSWORD=not-a-real-smtp-password
JWT_SIGNING_KEY=not-a-real-signing-key
S3_BUCKET=shop-assets-demo
LOG_LEVEL=info
`;
/** Parts of values that no page may hold unless it was asked to reveal one. */
const VALUE_MARKERS = [
  "fake_password",
  "fake-api-token",
  "fake-legacy",
  "fake-new-value",
  "fake-line-",
  "fake-cli-",
  "cache.example.test",
  "not-a-real",
  "sk_test_",
  "fake-dsn",
];

/** What the page functions below use of an element and of the window (this file's types have no DOM). */
interface El {
  getAttribute(name: string): string | null;
  matches(selector: string): boolean;
  textContent: string | null;
  disabled?: boolean;
}
interface Win {
  getComputedStyle(e: unknown): { opacity: string };
}

const SHOTS = process.env.VAULT_E2E_SCREENSHOTS ?? join(REPO_ROOT, "test/e2e/screenshots");

let srv: VaultServer;
let browser: Browser;
let ownerToken: string;
let projectId: string;
/** The owner's CLI: its config directory and a checkout linked to the project. */
let cliConfig: string;
let checkout: string;
const contexts: BrowserContext[] = [];

/** Runs the compiled CLI as the owner in the linked checkout; its stdout (throws on failure or a stack trace). */
function vault(args: string[], input = ""): string {
  const out = spawnSync(srv.vault.bin, args, {
    cwd: checkout,
    env: cleanEnv(checkout, { VAULT_CONFIG_DIR: cliConfig }),
    input,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (out.error) throw out.error;
  if (hasStackTrace(out.stderr))
    throw new Error(`vault ${args.join(" ")} printed a stack trace:\n${out.stderr}`);
  if (out.status !== 0)
    throw new Error(`vault ${args.join(" ")} exited ${out.status}:\n${out.stdout}${out.stderr}`);
  return out.stdout;
}

async function signedIn(
  email: string,
  password: string,
  options: { javaScript?: boolean; bypassCSP?: boolean } = {},
): Promise<Page> {
  const context = await newContext(browser, {
    javaScriptEnabled: options.javaScript ?? true,
    bypassCSP: options.bypassCSP ?? false,
  });
  contexts.push(context);
  const page = await context.newPage();
  const result = await signIn(page, srv.url, email, password);
  if (result.status !== 303)
    throw new Error(`signing in as ${email} answered ${result.status}: ${result.error}`);
  return page;
}

const editorUrl = (env: string) => `${srv.url}/p/${projectId}/e/${env}`;
/** An element's text as shown (cells apart, as a person reads the row). */
const text = async (page: Page, selector: string) =>
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point (textContent runs cells together).
  (await page.locator(selector).first().innerText()).replace(/\s+/g, " ").trim();
const rowNames = (page: Page, table: string) =>
  page
    .locator(`${table} tbody tr[data-name]`)
    .evaluateAll((rows) => (rows as unknown as El[]).map((r) => r.getAttribute("data-name")));

/** The page's HTML holds none of the values (it did not ask to reveal one). */
async function expectNoValues(page: Page, except: string[] = []) {
  const content = await page.content();
  for (const marker of VALUE_MARKERS) {
    if (except.includes(marker)) continue;
    expect(content, `${page.url()} holds ${marker}`).not.toContain(marker);
  }
}

/** POSTs a form as the page's own forms do (its session, its CSRF token); the answer's status. */
async function postForm(page: Page, path: string, fields: Record<string, string>): Promise<number> {
  const csrf = await page.locator('meta[name="csrf"]').getAttribute("content");
  const res = await page.request.post(`${srv.url}${path}`, {
    form: { csrf: csrf ?? "", ...fields },
    maxRedirects: 0,
  });
  return res.status();
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await startVaultServer();
  srv.addUser(OWNER, PASSWORD, "owner");
  srv.addUser(COLLEAGUE, PASSWORD, "member");
  ownerToken = await srv.apiLogin(OWNER, PASSWORD);
  projectId = (await srv.api(ownerToken, "POST", "/api/v1/projects", { name: "webshop" })).id;
  await srv.api(ownerToken, "POST", `/api/v1/projects/${projectId}/members`, {
    email: COLLEAGUE,
    role: "member",
    permissions: { development: "write", staging: "write", production: "write", ci: "read" },
  });

  // The owner's CLI, linked in a checkout, pushes development's first version.
  checkout = join(srv.vault.dir, "checkout");
  cliConfig = join(srv.vault.dir, "cli-config");
  mkdirSync(checkout, { recursive: true });
  vault(["login", srv.url, "--email", OWNER, "--password-stdin"], `${PASSWORD}\n`);
  vault(["link", projectId]);
  writeFileSync(join(checkout, ".env"), DEV_FILE);
  expect(vault(["push"])).toContain("version 1");

  // production: a few versions by two people, for the history and the compare pages.
  const ana = await srv.apiLogin(COLLEAGUE, PASSWORD);
  const prod = `/api/v1/projects/${projectId}/environments/production`;
  await srv.api(ownerToken, "PUT", `${prod}/secrets`, { dotenv: PROD_FILE });
  await srv.api(ana, "PATCH", `${prod}/secrets`, { set: { LOG_LEVEL: "warn", FEATURE_CHECKOUT_V2: "true" } });
  await srv.api(ana, "PATCH", `${prod}/secrets`, {
    set: { STRIPE_SECRET_KEY: "sk_test_not_a_real_key_0001" },
  });
  await srv.api(ownerToken, "PATCH", `${prod}/secrets`, { unset: ["SENTRY_DSN"] });
  await srv.api(ownerToken, "POST", `${prod}/rollback`, { version: 3 });
  await srv.api(ana, "PUT", `/api/v1/projects/${projectId}/environments/staging/secrets`, {
    dotenv: "DATABASE_URL=postgres://demo:not-a-real-password@staging.example.test/shop\nLOG_LEVEL=debug\n",
  });
  await srv.api(ownerToken, "POST", `/api/v1/projects/${projectId}/tokens`, {
    name: "deploy-production",
    environments: ["production"],
  });
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await stopAllServers();
  srv?.vault.remove();
});

describe("the editor with scripts (Chromium)", () => {
  it("adds, edits over two lines and deletes, reviews, survives a CLI save in between by reapplying, saves: vault pull gives exactly that", async () => {
    const page = await signedIn(OWNER, PASSWORD);
    // Open the environment from the projects list, as a person would.
    await Promise.all([
      page.waitForURL(`**/p/${projectId}`),
      page.locator('tr[data-name="webshop"] a').click(),
    ]);
    await Promise.all([
      page.waitForURL(/\/e\/development$/),
      page.locator('[data-testid="env-development"]').click(),
    ]);
    expect(await rowNames(page, "#keys")).toEqual([
      "API_TOKEN",
      "DATABASE_URL",
      "FEATURE_FLAG",
      "LEGACY_KEY",
      "REDIS_URL",
    ]);
    await expectNoValues(page);

    // Add (a form post: the page comes back with a notice).
    await page.locator("#add > summary").click();
    await page.locator("#add-name").fill("NEW_KEY");
    await page.locator("#add-value").fill("fake-new-value");
    await Promise.all([page.waitForURL(/done=added/), page.locator('#add button[type="submit"]').click()]);
    await page.locator('#keys tr.pending[data-name="NEW_KEY"]').waitFor();

    // Edit in the row, over two lines (the script sends it and draws the table again).
    await page.locator('#keys tr[data-name="API_TOKEN"] a[data-action="edit"]').click();
    await page.locator("#inline-edit").fill("fake-line-one\nfake-line-two");
    await page.locator("#keys tr.inline button", { hasText: "Keep as a pending change" }).click();
    await page.locator('#keys tr.pending[data-name="API_TOKEN"]').waitFor();

    // Delete, confirmed in the dialog.
    await page.locator('#keys tr[data-name="LEGACY_KEY"] button[data-action="delete"]').click();
    await page.locator('dialog[open] [data-answer="yes"]').click();
    await page.locator('#keys tr.pending[data-name="LEGACY_KEY"] del').waitFor();
    expect(await text(page, "#pending")).toContain("3 pending changes: 1 added, 1 changed, 1 deleted");
    await expectNoValues(page);

    // Review: the three changes, names only.
    await Promise.all([page.waitForURL(/\/review$/), page.locator('[data-testid="review"]').click()]);
    expect(await rowNames(page, "#diff")).toEqual(["API_TOKEN", "LEGACY_KEY", "NEW_KEY"]);
    expect(await text(page, '#diff tr[data-name="API_TOKEN"]')).toContain("changed");
    expect(await text(page, '#diff tr[data-name="LEGACY_KEY"]')).toContain("deleted");
    expect(await text(page, '#diff tr[data-name="NEW_KEY"]')).toContain("added");
    expect(await text(page, '[data-testid="save"]')).toBe("Save as version 2");
    await expectNoValues(page);

    // The CLI saves in between: one key the browser changed too, one it did not.
    expect(vault(["set", "API_TOKEN=fake-cli-token", "FEATURE_FLAG=on", "--env", "development"])).toContain(
      "version 2",
    );

    // The save finds development moved on: nothing saved, what moved shown.
    const [conflict] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/save")),
      page.locator('[data-testid="save"]').click(),
    ]);
    expect(conflict.status()).toBe(409);
    await page.locator('[data-testid="conflict"]').waitFor();
    expect((await text(page, "h1")).trim()).toBe("Someone saved first");
    expect(await text(page, "#conflict")).toContain("based on version 1; it is now at version 2");
    expect(await text(page, "#moved")).toContain(`v2 ${OWNER}`);
    expect(await text(page, "#collisions")).toContain("Changed by both of you: API_TOKEN");
    await expectNoValues(page);

    // Reapply, review again, save.
    await Promise.all([
      page.waitForURL(/\/review\?done=reapplied/),
      page.locator('[data-testid="reapply"]').click(),
    ]);
    expect(await text(page, "h1")).toBe("Review your changes");
    expect(await rowNames(page, "#diff")).toEqual(["API_TOKEN", "LEGACY_KEY", "NEW_KEY"]);
    expect(await text(page, '[data-testid="save"]')).toBe("Save as version 3");
    await Promise.all([page.waitForURL(/done=saved&n=3/), page.locator('[data-testid="save"]').click()]);
    expect(await text(page, ".notice")).toBe("Saved as version 3.");
    expect(await page.locator("#pending").isHidden()).toBe(true);

    // What the CLI pulls: the CLI's change of FEATURE_FLAG kept, the browser's three applied on top.
    const pulled = vault(["pull", "development", "-"]);
    expect(pulled).toBe(`# fake values for the web app's browser test
DATABASE_URL=postgres://fake_user:fake_password@db.example.test:5432/shop
API_TOKEN='fake-line-one
fake-line-two'
FEATURE_FLAG=on
REDIS_URL=redis://cache.example.test:6379/0
NEW_KEY=fake-new-value
`);
    const values = JSON.parse(vault(["export", "--env", "development", "--format", "json"]));
    expect(values).toEqual({
      DATABASE_URL: "postgres://fake_user:fake_password@db.example.test:5432/shop",
      API_TOKEN: "fake-line-one\nfake-line-two",
      FEATURE_FLAG: "on",
      REDIS_URL: "redis://cache.example.test:6379/0",
      NEW_KEY: "fake-new-value",
    });
  }, 60_000);

  it("reveals one value in its row, on request; the read is an audit event on the audit page and in the API", async () => {
    const page = await signedIn(OWNER, PASSWORD);
    await page.goto(editorUrl("development"));
    await expectNoValues(page);
    const cell = page.locator('#keys tr[data-name="DATABASE_URL"] td.value');
    expect(await text(page, '#keys tr[data-name="DATABASE_URL"] td.value')).toBe("••••••••");
    await page.locator('#keys tr[data-name="DATABASE_URL"] button[data-action="reveal"]').click();
    await page.locator('#keys tr[data-name="DATABASE_URL"] td.value.revealed').waitFor();
    expect(await cell.locator("span").textContent()).toBe(
      "postgres://fake_user:fake_password@db.example.test:5432/shop",
    );
    // Hide masks it again.
    await page.locator('#keys tr[data-name="DATABASE_URL"] button[data-action="reveal"]').click();
    await waitFor(
      "the value to be masked again",
      async () => (await cell.textContent())?.trim() === "••••••••",
    );

    // The audit page: the newest secrets.read is this reveal, by the owner, in development, of one key.
    await page.goto(`${srv.url}/p/${projectId}/audit?action=secrets.read`);
    const first = page.locator("#events tbody tr").first();
    const line = ((await first.textContent()) ?? "").replace(/\s+/g, " ");
    expect(line).toContain("secrets.read");
    expect(line).toContain(OWNER);
    expect(line).toContain("development");
    expect(line).toContain("keys: 1");
    expect(line).toContain("reason: reveal");
    await expectNoValues(page);

    // The API's audit log has the same event.
    const { events } = await srv.api(
      ownerToken,
      "GET",
      `/api/v1/audit?project=${projectId}&action=secrets.read&limit=5`,
    );
    const reveal = (
      events as {
        action: string;
        detail: { reason?: string; keys?: number; version?: number; names?: string[] };
      }[]
    )[0]!;
    expect(reveal.action).toBe("secrets.read");
    expect(reveal.detail).toMatchObject({ reason: "reveal", keys: 1, version: 3, names: ["DATABASE_URL"] });
    expect(JSON.stringify(events)).not.toContain("fake_password");
  }, 30_000);
});

describe("an invited member with read on one environment (Chromium)", () => {
  it("is invited on the team page; signed in in another browser context, sees only development, every control disabled, a forged POST refused", async () => {
    const owner = await signedIn(OWNER, PASSWORD);
    await owner.goto(`${srv.url}/p/${projectId}/team`);
    const invite = owner.locator('[data-testid="invite"]');
    await invite.locator("#invite-email").fill(READER);
    await invite.locator("#invite-development").selectOption("read");
    await invite.locator('input[name="create"]').check();
    await Promise.all([owner.waitForURL(/\/team\/invite$/), invite.locator('button[type="submit"]').click()]);
    expect(await text(owner, "h1")).toBe("Member invited");
    const oneTime = ((await owner.locator("#one-time-password").textContent()) ?? "").trim();
    expect(oneTime.length).toBeGreaterThan(10);
    await owner.goto(`${srv.url}/p/${projectId}/team`);
    expect(await text(owner, `#members tr[data-name="${READER}"]`)).toContain("member");

    // The reader, in a second browser context: the one-time password first sends them to change it.
    const page = await signedIn(READER, oneTime);
    await page.waitForURL(/\/account$/);
    await page.locator("#current-password").fill(oneTime);
    await page.locator("#new-password").fill(READER_PASSWORD);
    await page.locator("#confirm-password").fill(READER_PASSWORD);
    await Promise.all([
      page.waitForURL(/done=password-changed/),
      page.locator('[data-testid="change-password"] button[type="submit"]').click(),
    ]);

    await page.goto(`${srv.url}/`);
    expect(await text(page, 'tr[data-name="webshop"]')).toContain("read development");
    await page.goto(`${srv.url}/p/${projectId}`);
    // Only development opens; the others show no change, no author and no access.
    expect(
      await page
        .locator('#environments [data-testid^="env-"]')
        .evaluateAll((a) => (a as unknown as El[]).map((x) => x.textContent)),
    ).toEqual(["development (main)"]);
    for (const env of ["ci", "staging", "production"]) {
      const row = await text(page, `#environments tr[data-name="${env}"]`);
      expect(row).toContain("no access");
      expect(row).not.toContain(OWNER);
      expect(row).not.toContain(COLLEAGUE);
    }
    for (const env of ["staging", "production"]) {
      const res = await page.goto(editorUrl(env));
      expect(res?.status(), env).toBe(403);
    }

    // development: the keys, every editing control disabled with the reason, Reveal allowed.
    await page.goto(editorUrl("development"));
    await expectNoValues(page);
    expect(await page.locator("#readonly").isVisible()).toBe(true);
    expect(await text(page, "#readonly")).toContain("You can read development but not change it");
    for (const id of ["#add-name", "#add-value", "#import-text"])
      expect(await page.locator(id).evaluate((e) => (e as unknown as El).matches(":disabled")), id).toBe(
        true,
      );
    expect(await page.locator("#keys a[data-action]").count()).toBe(0);
    const buttons = page.locator("#keys tbody button");
    const states = await buttons.evaluateAll((list) =>
      (list as unknown as El[]).map((b) => ({
        action: b.getAttribute("data-action") ?? b.textContent,
        disabled: b.disabled,
        described: b.getAttribute("aria-describedby"),
      })),
    );
    expect(states.length).toBe(5 * 4);
    for (const s of states) {
      if (s.action === "reveal") expect(s.disabled).toBe(false);
      else expect(s).toEqual({ action: s.action, disabled: true, described: "readonly" });
    }
    // Disabled visibly: dimmed.
    const opacity = await page
      .locator('#keys tbody button[data-action="delete"]')
      .first()
      .evaluate((b) => Number((globalThis as unknown as Win).getComputedStyle(b).opacity));
    expect(opacity).toBeLessThan(0.7);

    // A forged POST, with this session's own CSRF token: refused as the API refuses it, nothing pending.
    const forged = (await page.evaluate(`
      fetch(location.pathname + "/add", {
        method: "POST",
        headers: { "x-csrf-token": document.querySelector('meta[name="csrf"]').content, accept: "application/json" },
        body: new URLSearchParams({ name: "FORGED", value: "fake-forged" }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }))
    `)) as { status: number; body: { error: { code: string } } };
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe("FORBIDDEN");
    expect(await postForm(page, `/p/${projectId}/e/development/delete`, { name: "API_TOKEN" })).toBe(403);
    expect(await postForm(page, `/p/${projectId}/e/development/import`, { dotenv: "FORGED=1\n" })).toBe(403);
    expect((await page.goto(`${editorUrl("development")}/review`))?.status()).toBe(403);
    await page.goto(editorUrl("development"));
    expect(await page.locator("#pending").isHidden()).toBe(true);
    const dev = await srv.api(
      ownerToken,
      "GET",
      `/api/v1/projects/${projectId}/environments/development/secrets`,
    );
    expect(dev.version).toBe(3);
    expect(dev.dotenv).not.toContain("FORGED");
  }, 60_000);
});

describe("the editor without scripts (Chromium)", () => {
  it("adds over two lines, edits on the edit page, reviews and saves with plain forms: vault pull gives exactly that", async () => {
    const page = await signedIn(OWNER, PASSWORD, { javaScript: false });
    await page.goto(editorUrl("ci"));
    expect(await text(page, "#keys")).toBe("No keys yet. Add one below, or import a .env file.");
    // Empty: the add form is open.
    await page.locator("#add-name").fill("GREETING");
    await page.locator("#add-value").fill("fake hello\nfake world");
    await Promise.all([page.waitForURL(/done=added/), page.locator('#add button[type="submit"]').click()]);
    await page.locator("#add > summary").click();
    await page.locator("#add-name").fill("BUILD_MODE");
    await page.locator("#add-value").fill("fake-draft");
    await Promise.all([page.waitForURL(/done=added/), page.locator('#add button[type="submit"]').click()]);

    // Edit: without the script the link opens the edit page.
    await Promise.all([
      page.waitForURL(/\/edit\?name=BUILD_MODE/),
      page.locator('#keys tr[data-name="BUILD_MODE"] a[data-action="edit"]').click(),
    ]);
    await page.locator("#value").fill("fake-release");
    await Promise.all([
      page.waitForURL(/done=changed/),
      page.locator('form.card button[type="submit"]').click(),
    ]);
    expect(await text(page, "#pending")).toContain("2 pending changes: 2 added");
    expect(await page.content()).not.toContain("fake-release");

    await Promise.all([page.waitForURL(/\/review$/), page.locator('[data-testid="review"]').click()]);
    expect(await rowNames(page, "#diff")).toEqual(["GREETING", "BUILD_MODE"]);
    await Promise.all([page.waitForURL(/done=saved&n=1/), page.locator('[data-testid="save"]').click()]);
    expect(await text(page, ".notice")).toBe("Saved as version 1.");
    expect(vault(["pull", "ci", "-"])).toBe("GREETING='fake hello\nfake world'\nBUILD_MODE=fake-release\n");
  }, 45_000);

  it("reveals on a page of its own, filters with the search form, renames, deletes and undoes with form posts, rolls back after a confirmation page (what the README says works without JavaScript)", async () => {
    const page = await signedIn(OWNER, PASSWORD, { javaScript: false });
    await page.goto(editorUrl("ci"));
    // Reveal: a POST answered by a page with that one value (no copy button without the script).
    await Promise.all([
      page.waitForURL(/\/ci\/reveal$/),
      page.locator('#keys tr[data-name="GREETING"] button[data-action="reveal"]').click(),
    ]);
    expect(await page.locator("#revealed").textContent()).toBe("fake hello\nfake world");
    expect(await page.locator('button[data-copy="revealed"]').isVisible()).toBe(false);
    await Promise.all([
      page.waitForURL(/\/e\/ci$/),
      page.getByRole("link", { name: "Back to the editor" }).click(),
    ]);

    // The filter is a search form (the server filters).
    await page.locator("#q").fill("gree");
    await Promise.all([page.waitForURL(/\?q=gree$/), page.locator('form[role="search"] button').click()]);
    expect(await rowNames(page, "#keys")).toEqual(["GREETING"]);
    await page.goto(editorUrl("ci"));

    // Rename on its page; delete and undo are one form post each.
    await Promise.all([
      page.waitForURL(/\/rename\?name=BUILD_MODE/),
      page.locator('#keys tr[data-name="BUILD_MODE"] a[data-action="rename"]').click(),
    ]);
    await page.locator("#to").fill("MODE");
    await Promise.all([
      page.waitForURL(/done=renamed/),
      page.locator('form.card button[type="submit"]').click(),
    ]);
    await Promise.all([
      page.waitForURL(/done=removed/),
      page.locator('#keys tr[data-name="GREETING"] button[data-action="delete"]').click(),
    ]);
    expect(await text(page, "#pending")).toContain("2 pending changes: 1 renamed, 1 deleted");
    await Promise.all([
      page.waitForURL(/done=undone/),
      page.locator('#keys tr[data-name="GREETING"] button[data-action="undo"]').click(),
    ]);
    expect(await text(page, "#pending")).toContain("1 pending change: 1 renamed");
    await Promise.all([page.waitForURL(/\/review$/), page.locator('[data-testid="review"]').click()]);
    await Promise.all([page.waitForURL(/done=saved&n=2/), page.locator('[data-testid="save"]').click()]);
    expect(vault(["pull", "ci", "-"])).toBe("GREETING='fake hello\nfake world'\nMODE=fake-release\n");

    // Roll back: a confirmation page first, then its button.
    await page.goto(`${editorUrl("ci")}/history`);
    await Promise.all([
      page.waitForURL(/\/rollback\?to=1$/),
      page.getByRole("link", { name: "Roll back to version 1" }).click(),
    ]);
    expect(await text(page, "h1")).toBe("Roll ci back to version 1?");
    expect(vault(["pull", "ci", "-"])).toContain("MODE=fake-release");
    await Promise.all([
      page.waitForURL(/done=rolledback&n=3/),
      page.locator('[data-testid="rollback"]').click(),
    ]);
    expect(vault(["pull", "ci", "-"])).toBe("GREETING='fake hello\nfake world'\nBUILD_MODE=fake-release\n");
  }, 45_000);
});

describe("the keyboard (Chromium)", () => {
  it("reaches the skip link first and then the editor's first action, each stop with a visible focus ring", async () => {
    const page = await signedIn(OWNER, PASSWORD);
    await page.goto(editorUrl("development"));
    /** The focused element: what it is and how its focus looks. */
    const focused = () =>
      page.evaluate(`(() => {
        const e = document.activeElement;
        const s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        return {
          tag: e.tagName.toLowerCase(),
          cls: e.className,
          text: (e.textContent || "").trim().slice(0, 40),
          action: e.getAttribute("data-action"),
          row: e.closest("tr") ? e.closest("tr").getAttribute("data-name") : null,
          outline: s.outlineStyle + " " + s.outlineWidth,
          color: s.outlineColor,
          visible: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0,
        };
      })()`) as Promise<{
        tag: string;
        cls: string;
        text: string;
        action: string | null;
        row: string | null;
        outline: string;
        color: string;
        visible: boolean;
      }>;

    await page.keyboard.press("Tab");
    const skip = await focused();
    expect(skip).toMatchObject({ tag: "a", cls: "skip", text: "Skip to content", visible: true });
    expect(skip.outline).toBe("solid 3px");
    await page.keyboard.press("Enter");
    await waitFor("the skip link to move focus to main", async () => (await focused()).tag === "main");

    // From main, Tab walks the page's controls in order to the first row's first action.
    const stops: string[] = [];
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press("Tab");
      const f = await focused();
      stops.push(`${f.tag} ${f.text}`);
      expect(f.visible, `${f.tag} "${f.text}" is on screen`).toBe(true);
      expect(f.outline, `${f.tag} "${f.text}" shows its focus`).toBe("solid 3px");
      if (f.row === "API_TOKEN" && f.action === "reveal") break;
    }
    const last = await focused();
    expect({ row: last.row, action: last.action }, stops.join(" | ")).toEqual({
      row: "API_TOKEN",
      action: "reveal",
    });
    // The ring's colour is not the page's background.
    expect(last.color).not.toBe(await page.evaluate("getComputedStyle(document.body).backgroundColor"));
  }, 30_000);
});

describe("a table wider than its card (Chromium)", () => {
  it("with scripts becomes a named region the keyboard reaches and scrolls, and stops being one once it fits", async () => {
    const page = await signedIn(OWNER, PASSWORD);
    await page.setViewportSize({ width: 800, height: 700 });
    await page.goto(`${srv.url}/audit`);
    const wrap = page.locator(".table-wrap").first();
    const state = () =>
      wrap.evaluate((w) => {
        const e = w as unknown as El & { scrollLeft: number; scrollWidth: number; clientWidth: number };
        return {
          scrolls: e.scrollWidth > e.clientWidth,
          tabindex: e.getAttribute("tabindex"),
          role: e.getAttribute("role"),
          label: e.getAttribute("aria-label"),
          left: e.scrollLeft,
        };
      });
    expect(await state()).toEqual({
      scrolls: true,
      tabindex: "0",
      role: "region",
      label: "Audit log (scrolls sideways)",
      left: 0,
    });
    // Tab from the filter form reaches it.
    await page.locator("#f-actor").focus();
    const onWrap = () =>
      wrap.evaluate(
        (w) =>
          (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement === w,
      );
    for (let i = 0; i < 12 && !(await onWrap()); i++) await page.keyboard.press("Tab");
    expect(await onWrap()).toBe(true);
    await page.keyboard.press("ArrowRight");
    await waitFor("the arrow key to scroll the table", async () => (await state()).left > 0);

    await page.setViewportSize({ width: 1440, height: 900 });
    await waitFor("the card to stop being a region", async () => (await state()).role === null);
    expect(await state()).toMatchObject({ scrolls: false, tabindex: null, label: null });
  }, 30_000);
});

describe("axe-core on every page (Chromium)", () => {
  it("finds no serious or critical violation at 360 px and 1440 px, light and dark, and no page scrolls sideways", async () => {
    // axe's source is put into the page as a script: only a context that bypasses the CSP allows that.
    const page = await signedIn(OWNER, PASSWORD, { bypassCSP: true });
    const signedOut = await (async () => {
      const context = await newContext(browser, { bypassCSP: true });
      contexts.push(context);
      return context.newPage();
    })();
    await page.goto(editorUrl("production"));

    // A pending change set on production (the editor and its review), and one on ci overtaken by a
    // save through the API (the conflict page).
    const prod = `/p/${projectId}/e/production`;
    expect(
      await postForm(page, `${prod}/add`, { name: "NEW_RELIC_LICENSE_KEY", value: "fake-license" }),
    ).toBe(303);
    expect(await postForm(page, `${prod}/edit`, { name: "LOG_LEVEL", value: "error" })).toBe(303);
    expect(await postForm(page, `${prod}/rename`, { from: "S3_BUCKET", to: "ASSETS_BUCKET" })).toBe(303);
    expect(await postForm(page, `${prod}/delete`, { name: "SMTP_PASSWORD" })).toBe(303);
    expect(await postForm(page, `/p/${projectId}/e/ci/add`, { name: "CI_CACHE", value: "fake-cache" })).toBe(
      303,
    );
    await srv.api(ownerToken, "PATCH", `/api/v1/projects/${projectId}/environments/ci/secrets`, {
      set: { BUILD_MODE: "fake-nightly", CI_CACHE: "fake-other-cache" },
    });

    // A change request on staging, protected, made by the colleague: the owner may approve it.
    const staging = `/api/v1/projects/${projectId}/environments/staging`;
    await srv.api(ownerToken, "PUT", `${staging}/protection`, {});
    const held = await srv.api(await srv.apiLogin(COLLEAGUE, PASSWORD), "PATCH", `${staging}/secrets`, {
      set: { LOG_LEVEL: "fake-new-value-held", FEATURE_X: "fake-new-value-x" },
      unset: ["DATABASE_URL"],
    });
    expect(held.request.number).toBe(1);

    const pages: { name: string; path: string; status?: number; signedOut?: boolean }[] = [
      { name: "signin", path: "/signin", signedOut: true },
      { name: "projects", path: "/" },
      { name: "project", path: `/p/${projectId}` },
      { name: "editor", path: prod },
      { name: "review", path: `${prod}/review` },
      { name: "conflict", path: `/p/${projectId}/e/ci/review`, status: 409 },
      { name: "history", path: `${prod}/history` },
      { name: "diff", path: `${prod}/diff?from=1&to=5` },
      { name: "compare", path: `${prod}/compare?with=staging` },
      { name: "requests", path: `/p/${projectId}/requests` },
      { name: "request", path: `/p/${projectId}/requests/1` },
      { name: "team", path: `/p/${projectId}/team` },
      { name: "tokens", path: `/p/${projectId}/tokens` },
      { name: "keys", path: `/p/${projectId}/keys` },
      { name: "audit", path: "/audit" },
      { name: "account", path: "/account" },
      { name: "users", path: "/admin/users" },
    ];
    const looks = [
      { width: 360, height: 740, scheme: "light" },
      { width: 360, height: 740, scheme: "dark" },
      { width: 1440, height: 900, scheme: "light" },
      { width: 1440, height: 900, scheme: "dark" },
    ] as const;

    const problems: string[] = [];
    for (const look of looks) {
      for (const p of [page, signedOut]) {
        await p.setViewportSize({ width: look.width, height: look.height });
        await p.emulateMedia({ colorScheme: look.scheme });
      }
      for (const entry of pages) {
        const tab = entry.signedOut ? signedOut : page;
        const res = await tab.goto(`${srv.url}${entry.path}`);
        expect(res?.status(), entry.name).toBe(entry.status ?? 200);
        await tab.locator("h1").waitFor();
        const where = `${entry.name} at ${look.width} px, ${look.scheme}`;
        await tab.screenshot({
          path: join(SHOTS, `${entry.name}-${look.width}-${look.scheme}.png`),
          fullPage: true,
        });
        const wide = (await tab.evaluate(
          "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
        )) as [number, number];
        // On a phone a table is one block per row: every shown cell as wide as its row.
        if (look.width === 360) {
          const narrow = (await tab.evaluate(
            "[...document.querySelectorAll('table.stack td')].filter((td) => td.getClientRects().length && Math.abs(td.getBoundingClientRect().width - td.parentElement.getBoundingClientRect().width) > 1).map((td) => (td.closest('table').id || 'a table') + ' ' + td.dataset.label)",
          )) as string[];
          if (narrow.length) problems.push(`${where}: cells narrower than their row: ${narrow.join(", ")}`);
        }
        // Tables scroll inside their card only when they must: none on these pages needs to.
        const scrolling = (await tab.evaluate(
          "[...document.querySelectorAll('.table-wrap')].filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => w.querySelector('table').id || 'a table')",
        )) as string[];
        if (scrolling.length)
          problems.push(`${where}: ${scrolling.join(", ")} scroll(s) sideways in its card`);
        if (wide[0] > wide[1])
          problems.push(`${where}: the page is ${wide[0]} px wide in a ${wide[1]} px window`);
        const violations = await axeViolations(tab);
        if (violations.length) problems.push(`${where}:\n${describeViolations(violations)}`);
        await expectNoValues(tab);
      }
    }
    expect(problems, problems.join("\n\n")).toEqual([]);

    // The README's pictures: the editor with pending changes and the history, 1440 px wide, cut to the content.
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.emulateMedia({ colorScheme: "light" });
    for (const [name, path] of [
      ["editor", prod],
      ["history", `${prod}/history`],
    ] as const) {
      await page.goto(`${srv.url}${path}`);
      await expectNoValues(page);
      const bottom = (await page.evaluate(
        "Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)",
      )) as number;
      await page.screenshot({
        path: join(SHOTS, `readme-${name}.png`),
        clip: { x: 0, y: 0, width: 1440, height: Math.min(bottom + 24, 1400) },
        fullPage: true,
      });
    }
  }, 120_000);
});
