/**
 * The web pages in process (the real browser drives them in test/e2e):
 * sign-in with CSRF, the hand-off approvals and what the CLI then collects,
 * single-use request ids, and an overview without values.
 */
import { describe, expect, it } from "bun:test";
import { projectWith } from "./fixtures";
import { type Harness, PASSWORD, startHarness } from "./harness";

class Browser {
  jar = new Map<string, string>();
  constructor(private h: Harness) {}
  async go(method: string, path: string, form?: Record<string, string>) {
    const headers: Record<string, string> = { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ") };
    let body: string | undefined;
    if (form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(form).toString();
    }
    const res = await this.h.app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const [k, v] = pair!.split("=");
      if (v) this.jar.set(k!, v);
      else this.jar.delete(k!);
    }
    return { status: res.status, text: await res.text(), headers: res.headers };
  }
  static csrf(text: string): string {
    return /name="csrf" value="([^"]+)"/.exec(text)?.[1] ?? "";
  }
  async signIn(email: string, password = PASSWORD) {
    const form = await this.go("GET", "/signin");
    return this.go("POST", "/signin", { csrf: Browser.csrf(form.text), email, password, next: "/" });
  }
}

const REQ = (c: string) => `req_${c.repeat(64)}`;
const CODE = "WDJBMJHT";

/** A poll of dotenv-vault's `login` or `logout` (404 while pending). */
const check = (h: Harness, projectId: string, id: string, userAgent = "axios/0.27.2") =>
  h.request("POST", `/check?DOTENV_VAULT=${projectId}&requestUid=${id}`, {
    body: { vaultUid: projectId, requestUid: id },
    headers: { "user-agent": userAgent },
  });

/** The vault CLI's first poll: claims the request with its secret and registers its code. */
const claim = (h: Harness, id: string, secret: string, code?: string) =>
  h.request("POST", "/api/v1/auth/cli-handoff", {
    body: { request: id, secret, ...(code ? { code } : {}) },
    headers: { "user-agent": "Bun/1.4.5" },
  });

describe("web pages", () => {
  it("signs in with a CSRF-protected form and sets a strict, HttpOnly session cookie", async () => {
    const h = await startHarness();
    await h.user("alice@example.com");
    const b = new Browser(h);
    const form = await b.go("GET", "/signin");
    expect(form.status).toBe(200);
    expect(form.headers.get("content-security-policy")).toContain("default-src 'none'");
    const res = await b.go("POST", "/signin", {
      csrf: Browser.csrf(form.text),
      email: "alice@example.com",
      password: PASSWORD,
      next: "/",
    });
    expect(res.status).toBe(303);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("vault_session="))!;
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect((await b.go("GET", "/")).text).toContain("alice@example.com");
  });

  it("refuses a sign-in whose CSRF token is missing or wrong", async () => {
    const h = await startHarness();
    await h.user("alice@example.com");
    const b = new Browser(h);
    await b.go("GET", "/signin");
    for (const csrf of ["", "forged"]) {
      const res = await b.go("POST", "/signin", { csrf, email: "alice@example.com", password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.headers.getSetCookie().some((c) => c.startsWith("vault_session="))).toBe(false);
    }
  });

  it("approves a dotenv-vault login: the CLI collects a me_ credential once, and the request id cannot be reused", async () => {
    const h = await startHarness();
    const { project } = await projectWith(h);
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("a");
    const pending = await h.request("POST", `/check?DOTENV_VAULT=${project.id}&requestUid=${id}`, {
      body: { vaultUid: project.id, requestUid: id },
    });
    expect(pending.status).toBe(404);
    const approve = await b.go("GET", `/login?DOTENV_VAULT=${project.id}&requestUid=${id}`);
    expect(approve.text).toContain("shop");
    const ok = await b.go("POST", "/login", {
      csrf: Browser.csrf(approve.text),
      DOTENV_VAULT: project.id,
      requestUid: id,
      confirm: "yes",
    });
    expect(ok.status).toBe(200);
    const check = await h.request("POST", `/check?DOTENV_VAULT=${project.id}&requestUid=${id}`, {
      body: { vaultUid: project.id, requestUid: id },
    });
    expect(check.body.data.meUid).toMatch(/^me_[0-9a-f]{64}$/);
    const who = await h.request("POST", "/whoami", {
      body: { DOTENV_VAULT: project.id, DOTENV_ME: check.body.data.meUid },
    });
    expect(who.body.data.email).toBe("owner@example.com");
    expect(
      (await h.request("POST", `/check`, { body: { vaultUid: project.id, requestUid: id } })).status,
    ).toBe(404);
    const again = await b.go("POST", "/login", {
      csrf: Browser.csrf(approve.text),
      DOTENV_VAULT: project.id,
      requestUid: id,
      confirm: "yes",
    });
    expect(again.status).toBe(400);
    expect(again.text).toContain("already used");
  });

  it("refuses a request id after it expired", async () => {
    const h = await startHarness();
    const { project } = await projectWith(h);
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("b");
    await check(h, project.id, id);
    const approve = await b.go("GET", `/login?DOTENV_VAULT=${project.id}&requestUid=${id}`);
    h.clock.advance(11 * 60_000);
    await b.signIn("owner@example.com");
    const late = await b.go("POST", "/login", {
      csrf: Browser.csrf(approve.text),
      DOTENV_VAULT: project.id,
      requestUid: id,
      confirm: "yes",
    });
    expect(late.status).toBe(400);
    expect(late.text).toContain("expired");
  });

  it("creates a project for dotenv-vault new, and revokes credentials for logout", async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("c");
    expect((await h.request("POST", "/vault", { body: { requestUid: id } })).status).toBe(404);
    const form = await b.go("GET", `/new?project_name=my-app&request_uid=${id}`);
    expect(form.text).toContain('value="my-app"');
    await b.go("POST", "/new", {
      csrf: Browser.csrf(form.text),
      request_uid: id,
      project_name: "my-app",
      confirm: "yes",
    });
    const vault = await h.request("POST", "/vault", { body: { requestUid: id } });
    expect(vault.body.data.vaultUid).toMatch(/^vlt_[0-9a-f]{64}$/);
    const projectId = vault.body.data.vaultUid;

    const loginId = REQ("d");
    await check(h, projectId, loginId);
    const approve = await b.go("GET", `/login?DOTENV_VAULT=${projectId}&requestUid=${loginId}`);
    await b.go("POST", "/login", {
      csrf: Browser.csrf(approve.text),
      DOTENV_VAULT: projectId,
      requestUid: loginId,
      confirm: "yes",
    });
    const me = (await h.request("POST", "/check", { body: { vaultUid: projectId, requestUid: loginId } }))
      .body.data.meUid;

    const outId = REQ("e");
    await check(h, projectId, outId);
    const out = await b.go("GET", `/logout?DOTENV_VAULT=${projectId}&requestUid=${outId}`);
    await b.go("POST", "/logout", {
      csrf: Browser.csrf(out.text),
      DOTENV_VAULT: projectId,
      requestUid: outId,
      confirm: "yes",
    });
    const revoked = await h.request("POST", "/check", { body: { vaultUid: projectId, requestUid: outId } });
    expect(revoked.body.data.meUid).toBe(me.slice(0, 9));
    expect(
      (await h.request("POST", "/whoami", { body: { DOTENV_VAULT: projectId, DOTENV_ME: me } })).status,
    ).toBe(401);
  });

  it("shows an overview of a project with no value anywhere in the page", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "# comment-secret-xyz\nTOKEN=value-secret-xyz\n" },
    });
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const open = await b.go("GET", `/open?DOTENV_VAULT=${project.id}&environment=undefined`);
    expect(open.status).toBe(200);
    expect(open.text).toContain("development");
    expect(open.text).toContain("v1");
    expect(open.text).toContain("owner@example.com");
    expect(open.text).not.toContain("secret-xyz");
  });

  it("sends visitors who are not signed in to the sign-in page, and back", async () => {
    const h = await startHarness();
    const b = new Browser(h);
    const res = await b.go("GET", `/cli/approve?request=${REQ("f")}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("location")).toBe(
      `/signin?next=${encodeURIComponent(`/cli/approve?request=${REQ("f")}`)}`,
    );
    const evil = await b.go("GET", "/signin?next=//evil.example/x");
    expect(evil.text).toContain('name="next" value="/"');
  });

  it("approves a vault CLI sign-in, collected once, and only with the secret the CLI registered first", async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("9");
    const secret = "5".repeat(64);
    const poll = (s: string) =>
      h.request("POST", "/api/v1/auth/cli-handoff", { body: { request: id, secret: s } });
    expect((await claim(h, id, secret, CODE)).status).toBe(202);
    const page = await b.go("GET", `/cli/approve?request=${id}`);
    await b.go("POST", "/cli/approve", { csrf: Browser.csrf(page.text), request: id, code: "wdjb-mjht" });
    // Someone who saw the URL (the request id) but not the secret gets nothing.
    const thief = await poll("6".repeat(64));
    expect(thief.status).toBe(404);
    expect(JSON.stringify(thief.body)).not.toContain("vss_");
    const got = await poll(secret);
    expect(got.status).toBe(200);
    expect((await h.request("GET", "/api/v1/me", { token: got.body.token })).body.user.email).toBe(
      "owner@example.com",
    );
    expect((await poll(secret)).status).toBe(404);
  });
});
