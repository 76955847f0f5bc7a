/**
 * Single sign-on end to end: `vault serve` from the compiled binary, configured with
 * `--oidc-*` and `--password-login off`, against a real OpenID provider (oidc-provider, started
 * by this test on another loopback address, so that it is another site to the browser, as a real
 * provider is), driven by Debian's Chromium:
 *
 * - signing in through the provider's own login page lands on the projects page (the Strict
 *   session cookie survives the provider's cross-site redirect back);
 * - `vault login --browser` completed through SSO gives the CLI a working session;
 * - the provider rotates its signing key (at once, dropping the old one) and sign-in still works;
 * - with password sign-in off, the API refuses a password, and the operator's break-glass
 *   (`vault admin session` on the host) still gives a working session;
 * - a server whose provider is down still starts and serves, and its sign-in page says so.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { addUser, cleanEnv, type Installed, installBinary, runVault } from "../helpers/binary";
import { heading, launchBrowser, newContext } from "../helpers/browser";
import { startProvider, type TestProvider } from "../helpers/oidc-provider";
import { waitFor } from "../helpers/proc";
import { freePort, type ServeProcess, startServe, stopAllServers } from "../helpers/serve";

const CLIENT_ID = "vault-e2e";
const CLIENT_SECRET = "e2e-client-secret-7c1f0a9d3b";
const IDP_PASSWORD = "password at the provider";
const OWNER = "owner@example.com";
const DEV = "dev@example.com";

let vault: Installed;
let srv: ServeProcess;
let url: string;
let data: string;
let idp: TestProvider;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser);
  contexts.push(context);
  return { context, page: await context.newPage() };
}

/** On the provider's login page: types the login and password and submits, as a person would. */
async function loginAtProvider(page: Page, login: string): Promise<void> {
  await page.waitForURL((u) => u.origin === idp.issuer);
  await page.locator("#login").fill(login);
  await page.locator("#idp-password").fill(IDP_PASSWORD);
  await page.locator("#idp-submit").click();
}

/** From our sign-in page: "Sign in with TestIdP", the provider's form, and back here signed in. */
async function signInWithSso(page: Page, login: string): Promise<void> {
  await page.getByRole("link", { name: "Sign in with TestIdP" }).click();
  await loginAtProvider(page, login);
  await page.waitForURL((u) => u.origin === url && u.pathname !== "/signin/oidc/callback");
  await page.waitForLoadState("load");
}

beforeAll(async () => {
  vault = installBinary();
  data = join(vault.dir, "data");
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  idp = await startProvider({
    host: "127.0.0.2",
    client: {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${url}/signin/oidc/callback`],
    },
    users: [
      { sub: "idp-owner", email: OWNER, password: IDP_PASSWORD, groups: [] },
      { sub: "idp-dev", email: DEV, password: IDP_PASSWORD, groups: ["vault-admins"] },
    ],
  });
  const secretFile = join(vault.dir, "oidc-secret");
  writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
  srv = await startServe({
    bin: vault.bin,
    cwd: vault.dir,
    data,
    listen: `127.0.0.1:${port}`,
    args: [
      "--oidc-issuer",
      idp.issuer,
      "--oidc-client-id",
      CLIENT_ID,
      "--oidc-client-secret-file",
      secretFile,
      "--oidc-name",
      "TestIdP",
      "--oidc-allowed-domains",
      "example.com",
      "--oidc-scopes",
      "openid email profile groups",
      "--oidc-role-claim",
      "groups",
      "--oidc-admin-values",
      "vault-admins",
      "--password-login",
      "off",
    ],
  });
  await srv.waitReady();
  addUser(vault.bin, {
    cwd: vault.dir,
    data,
    email: OWNER,
    password: "an owner password nobody uses",
    role: "owner",
  });
  addUser(vault.bin, {
    cwd: vault.dir,
    data,
    email: DEV,
    password: "a dev password nobody uses",
    role: "member",
  });
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await stopAllServers();
  await idp?.stop();
  vault?.remove();
});

describe("single sign-on (Chromium, the compiled binary, a real provider)", () => {
  it("signs in through the provider's own login page and lands on the projects page", async () => {
    const { context, page } = await freshPage();
    await page.goto(`${url}/`);
    expect(new URL(page.url()).pathname).toBe("/signin");
    expect(await page.locator('input[name="password"]').count()).toBe(0);
    await signInWithSso(page, OWNER);
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await heading(page)).toBe("Projects");
    expect(await page.locator("header").textContent()).toContain(OWNER);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "vault_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
    expect(cookies.some((c) => c.name.startsWith("vault_oidc_"))).toBe(false);
  });

  it("applies the role mapping at sign-in: a member in vault-admins becomes an instance admin", async () => {
    const { page } = await freshPage();
    await page.goto(`${url}/signin`);
    await signInWithSso(page, DEV);
    expect(await heading(page)).toBe("Projects");
    const list = runVault(vault.bin, ["admin", "user", "list", "--json", "--data", data], { cwd: vault.dir });
    expect(JSON.parse(list.stdout).find((u: { email: string }) => u.email === DEV).role).toBe("admin");
  });

  it("`vault login --browser` completed through SSO gives the CLI a working session", async () => {
    const config = join(vault.dir, "cli-config");
    const proc = Bun.spawn([vault.bin, "login", url, "--browser", "--no-open"], {
      cwd: vault.dir,
      env: cleanEnv(vault.dir, { VAULT_CONFIG_DIR: config }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    let err = "";
    const reading = (async () => {
      for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
    })();
    const approveUrl = await waitFor(
      "the approval URL",
      () => /(http:\S+\/cli\/approve\?request=req_[0-9a-f]{64})/.exec(err)?.[1],
      { timeoutMs: 15_000 },
    );
    const code = await waitFor("the verification code", () => /\n {2}([A-Z]{4}-[A-Z]{4})\n/.exec(err)?.[1], {
      timeoutMs: 15_000,
    });
    // The browser is signed out: the approval page sends it to sign in, and SSO brings it back there.
    const { page } = await freshPage();
    await page.goto(approveUrl);
    expect(new URL(page.url()).pathname).toBe("/signin");
    await signInWithSso(page, OWNER);
    expect(new URL(page.url()).pathname).toBe("/cli/approve");
    expect(await heading(page)).toBe("Approve a vault CLI sign-in");
    await page.locator('form.card input[name="code"]').fill(code);
    await page.locator('form.card button[type="submit"]').click();
    await page.waitForLoadState("load");
    expect(await heading(page)).toBe("Sign-in approved");
    expect(await proc.exited).toBe(0);
    await reading;
    const out = await new Response(proc.stdout).text();
    expect(out).toContain(`signed in to ${url} as ${OWNER} (owner)`);
    const who = runVault(vault.bin, ["whoami"], {
      cwd: vault.dir,
      env: { VAULT_CONFIG_DIR: config, VAULT_SERVER: url },
    });
    expect(who.stdout).toBe(`${OWNER} (owner) on ${url} (from session)\n`);
    const project = join(vault.dir, "project");
    mkdirSync(project);
    const made = runVault(vault.bin, ["new", "made-after-sso"], {
      cwd: project,
      env: { VAULT_CONFIG_DIR: config, VAULT_SERVER: url },
    });
    expect({ code: made.code, err: made.stderr }).toEqual({ code: 0, err: made.stderr });
  }, 60_000);

  it("still signs in after the provider rotates its signing key at once and drops the old one", async () => {
    const oldKid = idp.kids()[0];
    const newKid = await idp.rotate({ drop: true });
    expect(idp.kids()).toEqual([newKid]);
    expect(newKid).not.toBe(oldKid);
    const { page } = await freshPage();
    await page.goto(`${url}/signin`);
    await signInWithSso(page, OWNER);
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await heading(page)).toBe("Projects");
  });

  it("with password sign-in off, refuses a password, and the operator's break-glass session works", async () => {
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: OWNER, password: "an owner password nobody uses" }),
    });
    expect(login.status).toBe(403);
    expect(((await login.json()) as { error: { message: string } }).error.message).toContain(
      "password sign-in is turned off",
    );
    const cli = spawnSync(vault.bin, ["login", url, "--email", OWNER, "--password-stdin"], {
      cwd: vault.dir,
      env: cleanEnv(vault.dir, { VAULT_CONFIG_DIR: join(vault.dir, "cli-password") }),
      input: "an owner password nobody uses\n",
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(cli.status).not.toBe(0);
    expect(cli.stderr).toContain("vault: error: password sign-in is turned off on this server");

    const glass = runVault(vault.bin, ["admin", "session", OWNER, "--ttl", "30m", "--data", data], {
      cwd: vault.dir,
    });
    expect(glass.code).toBe(0);
    const token = glass.stdout.trim();
    expect(token).toMatch(/^vss_[0-9a-f]{64}$/);
    expect(glass.stderr).toContain(`a session for ${OWNER} (owner)`);
    const projects = runVault(vault.bin, ["projects", "--json"], {
      cwd: vault.dir,
      env: { VAULT_TOKEN: token, VAULT_SERVER: url, VAULT_CONFIG_DIR: join(vault.dir, "cli-glass") },
    });
    expect(projects.code).toBe(0);
    expect(projects.stdout).toContain("made-after-sso");
    const member = runVault(vault.bin, ["admin", "session", "nobody@example.com", "--data", data], {
      cwd: vault.dir,
    });
    expect(member.code).not.toBe(0);
    expect(member.stderr).toContain("vault: error: no user nobody@example.com");
  });

  it("a server whose provider is down starts and serves, and its sign-in page says SSO is unavailable", async () => {
    const other = installBinary();
    try {
      const down = await freePort();
      const secretFile = join(other.dir, "secret");
      writeFileSync(secretFile, "whatever\n", { mode: 0o600 });
      const lonely = await startServe({
        bin: other.bin,
        cwd: other.dir,
        data: join(other.dir, "data"),
        args: [
          "--oidc-issuer",
          `http://127.0.0.2:${down}`,
          "--oidc-client-id",
          "x",
          "--oidc-client-secret-file",
          secretFile,
          "--oidc-name",
          "DownIdP",
        ],
      });
      await lonely.waitReady();
      const { page } = await freshPage();
      await page.goto(`${lonely.url}/signin`);
      expect(await heading(page)).toBe("Sign in");
      expect(await page.getByTestId("sso-unavailable").textContent()).toContain(
        "Sign-in with DownIdP is unavailable right now",
      );
      // Password sign-in still works there (it was left on).
      expect(await page.locator('input[name="password"]').count()).toBe(1);
      await page.getByRole("link", { name: "Sign in with DownIdP" }).click();
      await page.waitForLoadState("load");
      expect(await heading(page)).toBe("Single sign-on unavailable");
      expect(lonely.stderr + lonely.stdout).toContain("oidc: discovery failed");
      await lonely.stop();
    } finally {
      other.remove();
    }
  }, 60_000);
});
