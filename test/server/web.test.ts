/**
 * The web pages in process (the real browser drives them in test/e2e):
 * sign-in with CSRF, the hand-off approvals and what the CLI then collects,
 * single-use request ids, and an overview without values.
 */
import { describe, expect, it } from "bun:test";
import { CODE_ATTEMPTS } from "../../src/server/modules/handoff/service";
import { ago, originCard, sameAddress } from "../../src/server/modules/web/pages/handoff";
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

  it("sends dotenv-vault's open to the main environment's editor, and neither it nor the project's page shows a value", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "# comment-secret-xyz\nTOKEN=value-secret-xyz\n" },
    });
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const redirected = await b.go("GET", `/open?DOTENV_VAULT=${project.id}&environment=undefined`);
    expect(redirected.status).toBe(303);
    expect(redirected.headers.get("location")).toBe(`/p/${project.id}/e/development`);
    const editor = await b.go("GET", `/p/${project.id}/e/development`);
    expect(editor.status).toBe(200);
    expect(editor.text).toContain("TOKEN");
    expect(editor.text).not.toContain("secret-xyz");
    const open = await b.go("GET", `/p/${project.id}`);
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

/** The audit events of one action, details parsed. */
async function events(h: Harness, action: string) {
  await h.ctx.audit.flush();
  const rows = await h.appdb.audit.list({ limit: 1000 });
  return rows.filter((r) => r.action === action).map((r) => ({ ...r, detail: JSON.parse(r.detail ?? "{}") }));
}

describe("consent phishing: dotenv-vault's pages (the stock CLI shows no code)", () => {
  it("cannot approve a login that no CLI has polled yet: the page waits, reloads itself, and shows no form", async () => {
    const h = await startHarness();
    const { project } = await projectWith(h);
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("1");
    const waiting = await b.go("GET", `/login?DOTENV_VAULT=${project.id}&requestUid=${id}`);
    expect(waiting.status).toBe(200);
    expect(waiting.text).toContain("Waiting for the CLI");
    expect(waiting.text).toContain('<meta http-equiv="refresh" content="2">');
    expect(waiting.text).not.toContain('<form method="post" action="/login"');
    // A forged POST (the maker would poll only after the approval, so the page had nothing to show).
    const csrf = Browser.csrf((await b.go("GET", "/")).text);
    const forged = await b.go("POST", "/login", {
      csrf,
      DOTENV_VAULT: project.id,
      requestUid: id,
      confirm: "yes",
    });
    expect(forged.status).toBe(400);
    expect(forged.text).toContain("no CLI has asked for this request yet");
    expect((await check(h, project.id, id)).status).toBe(404);
    // Once polled, the same page has its form.
    const ready = await b.go("GET", `/login?DOTENV_VAULT=${project.id}&requestUid=${id}`);
    expect(ready.text).not.toContain("http-equiv");
    expect(ready.text).toContain('name="confirm"');
  });

  it("shows where and when the request came from (its first poll, never a later one), and the approval's audit event records it", async () => {
    const h = await startHarness();
    const { project } = await projectWith(h);
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("2");
    await check(h, project.id, id, "axios/0.27.2 <script>\u001b[31m");
    h.clock.advance(3 * 60_000);
    await check(h, project.id, id, "someone-else/1.0");
    const page = await b.go("GET", `/login?DOTENV_VAULT=${project.id}&requestUid=${id}`);
    expect(page.text).toContain("Where this request came from");
    expect(page.text).toContain("3 minutes ago (2030-01-01 00:00 UTC)");
    // The first poll's User-Agent, escaped and without control characters; never the later one's.
    expect(page.text).toContain("axios/0.27.2 &lt;script&gt;[31m");
    expect(page.text).not.toContain("someone-else");
    expect(page.text).not.toContain("\u001b");
    // In process there is no socket: the page says it cannot tell, rather than claiming a match.
    expect(page.text).toContain("The server cannot tell where the request came from");
    const ok = await b.go("POST", "/login", {
      csrf: Browser.csrf(page.text),
      DOTENV_VAULT: project.id,
      requestUid: id,
      confirm: "yes",
    });
    expect(ok.status).toBe(200);
    const [approved] = await events(h, "handoff.login");
    expect(approved!.detail).toEqual({
      kind: "me",
      request: { ip: null, at: Date.UTC(2030, 0, 1), userAgent: "axios/0.27.2 <script>[31m" },
    });
  });

  it("refuses to approve a login, a new project or a logout without the explicit confirmation", async () => {
    const h = await startHarness();
    const { project } = await projectWith(h);
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const [login, fresh, out] = [REQ("3"), REQ("4"), REQ("5")];
    await check(h, project.id, login);
    await h.request("POST", "/vault", { body: { requestUid: fresh } });
    await check(h, project.id, out);
    const pages = {
      login: await b.go("GET", `/login?DOTENV_VAULT=${project.id}&requestUid=${login}`),
      new: await b.go("GET", `/new?project_name=x&request_uid=${fresh}`),
      logout: await b.go("GET", `/logout?DOTENV_VAULT=${project.id}&requestUid=${out}`),
    };
    for (const [name, page] of Object.entries(pages)) {
      expect({
        name,
        box: page.text.includes('<input type="checkbox" name="confirm" value="yes" required>'),
      }).toEqual({
        name,
        box: true,
      });
      expect(page.text).toContain("Where this request came from");
    }
    const posts = [
      b.go("POST", "/login", {
        csrf: Browser.csrf(pages.login.text),
        DOTENV_VAULT: project.id,
        requestUid: login,
      }),
      b.go("POST", "/new", { csrf: Browser.csrf(pages.new.text), request_uid: fresh, project_name: "x" }),
      b.go("POST", "/logout", {
        csrf: Browser.csrf(pages.logout.text),
        DOTENV_VAULT: project.id,
        requestUid: out,
        confirm: "no",
      }),
    ];
    for (const res of await Promise.all(posts)) {
      expect(res.status).toBe(400);
      expect(res.text).toContain("confirm that you started this request yourself");
    }
    expect((await check(h, project.id, login)).status).toBe(404);
    expect((await h.request("POST", "/vault", { body: { requestUid: fresh } })).status).toBe(404);
    expect((await check(h, project.id, out)).status).toBe(404);
    expect(
      (await h.request("GET", "/api/v1/projects", { token: (await h.user("x@example.com")).token })).status,
    ).toBe(200);
  });

  it("refuses a request whose first poll is more than ten minutes old, even if its page was shown only now", async () => {
    const h = await startHarness();
    const { project } = await projectWith(h);
    const b = new Browser(h);
    const id = REQ("6");
    await check(h, project.id, id);
    h.clock.advance(10 * 60_000 + 1);
    await b.signIn("owner@example.com");
    const page = await b.go("GET", `/login?DOTENV_VAULT=${project.id}&requestUid=${id}`);
    expect(page.status).toBe(400);
    expect(page.text).toContain("this request expired");
  });
});

describe("consent phishing: vault login --browser (a code from the terminal)", () => {
  const SECRET = "5".repeat(64);
  const approveWith = async (b: Browser, id: string, code: string) => {
    const page = await b.go("GET", `/cli/approve?request=${id}`);
    return b.go("POST", "/cli/approve", { csrf: Browser.csrf(page.text), request: id, code });
  };

  it("shows no form for a link that no vault CLI registered, nor for one from a CLI that sent no code", async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const unclaimed = await b.go("GET", `/cli/approve?request=${REQ("a")}`);
    expect(unclaimed.text).toContain("No vault CLI has registered this request");
    expect(unclaimed.text).not.toContain('name="code"');
    const forged = await b.go("POST", "/cli/approve", {
      csrf: Browser.csrf((await b.go("GET", "/")).text),
      request: REQ("a"),
      code: CODE,
    });
    expect(forged.status).toBe(400);
    expect(forged.text).toContain("no vault CLI has registered this request");

    expect((await claim(h, REQ("b"), SECRET)).status).toBe(202);
    const old = await b.go("GET", `/cli/approve?request=${REQ("b")}`);
    expect(old.text).toContain("too old to show a verification code");
    expect(old.text).not.toContain('name="code"');
    // No approval form (the token comes from the header's sign-out form): the approval is refused.
    expect((await approveWith(b, REQ("b"), CODE)).status).toBe(400);
    expect((await claim(h, REQ("b"), SECRET)).status).toBe(202);
  });

  it("asks for the code, which is in neither the URL nor the page, shows where the request came from, and refuses a wrong code", async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("c");
    await claim(h, id, SECRET, CODE);
    const page = await b.go("GET", `/cli/approve?request=${id}`);
    expect(page.text).toContain('name="code"');
    expect(page.text).toContain("Where this request came from");
    expect(page.text).toContain("<code>Bun/1.4.5</code>");
    expect(page.text).toContain(`${CODE_ATTEMPTS} attempts left`);
    for (const shown of [CODE, "WDJB-MJHT"]) expect(page.text).not.toContain(shown);
    const wrong = await b.go("POST", "/cli/approve", {
      csrf: Browser.csrf(page.text),
      request: id,
      code: "BBBB-BBBB",
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain(
      `wrong code: ${CODE_ATTEMPTS - 1} attempts left, then this request is refused`,
    );
    expect(wrong.text).toContain('name="code"');
    // Not a code at all (a typo): no attempt is taken.
    const typo = await b.go("POST", "/cli/approve", {
      csrf: Browser.csrf(page.text),
      request: id,
      code: "WDJB-MJH",
    });
    expect(typo.text).toContain(
      `that is not a code: a code is eight letters, like WDJB-MJHT: ${CODE_ATTEMPTS - 1} attempts left`,
    );
    expect((await claim(h, id, SECRET)).status).toBe(202);
    // Case, spaces and the dash do not matter.
    expect((await approveWith(b, id, " wdjb mjht ")).status).toBe(200);
    const got = await claim(h, id, SECRET);
    expect(got.status).toBe(200);
    expect(got.body.user.email).toBe("owner@example.com");
    const [wrongEvent] = await events(h, "handoff.cli_code_wrong");
    expect(wrongEvent!.detail).toMatchObject({
      attempt: 1,
      left: CODE_ATTEMPTS - 1,
      request: { userAgent: "Bun/1.4.5" },
    });
    const [approved] = await events(h, "handoff.cli");
    expect(approved!.detail).toEqual({
      kind: "session",
      request: { ip: null, at: Date.UTC(2030, 0, 1), userAgent: "Bun/1.4.5" },
    });
    expect(JSON.stringify(await h.appdb.audit.list({ limit: 100 }))).not.toContain(CODE);
  });

  it(`refuses the request for good after ${CODE_ATTEMPTS} wrong codes, even the right one after, and the CLI's next poll says so`, async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("d");
    await claim(h, id, SECRET, CODE);
    for (let attempt = 1; attempt < CODE_ATTEMPTS; attempt++) {
      expect((await approveWith(b, id, "BBBBBBBB")).status).toBe(400);
    }
    const last = await approveWith(b, id, "BBBBBBBB");
    expect(last.status).toBe(400);
    expect(last.text).toContain("wrong code: this request is now refused");
    const after = await b.go("GET", `/cli/approve?request=${id}`);
    expect(after.status).toBe(400);
    expect(after.text).toContain("this request was refused: its code was typed wrong too many times");
    const right = await b.go("POST", "/cli/approve", {
      csrf: Browser.csrf((await b.go("GET", "/")).text),
      request: id,
      code: CODE,
    });
    expect(right.status).toBe(400);
    const cli = await claim(h, id, SECRET);
    expect(cli.status).toBe(404);
    expect(cli.body.error.message).toBe(
      "the sign-in was refused: its code was typed wrong too many times on the page",
    );
    expect(await events(h, "handoff.cli")).toEqual([]);
    const wrong = (await events(h, "handoff.cli_code_wrong")).map((e) => [e.detail.attempt, e.detail.left]);
    expect(wrong.sort()).toEqual([
      [1, 4],
      [2, 3],
      [3, 2],
      [4, 1],
      [5, 0],
    ]);
  });

  it(`lets parallel guesses take no more than ${CODE_ATTEMPTS} attempts between them (the count is atomic)`, async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("e");
    await claim(h, id, SECRET, CODE);
    const page = await b.go("GET", `/cli/approve?request=${id}`);
    const csrf = Browser.csrf(page.text);
    // 40 wrong guesses at once: exactly five are compared, the rest find no attempt left.
    const guesses = Array.from({ length: 40 }, (_, i) => `${"BCDFGHJKLMNPQRSTVWXZ"[i % 20]!.repeat(7)}Z`);
    expect(guesses).not.toContain(CODE);
    const answers = await Promise.all(
      guesses.map((code) => b.go("POST", "/cli/approve", { csrf, request: id, code })),
    );
    expect(answers.every((a) => a.status === 400)).toBe(true);
    expect((await events(h, "handoff.cli_code_wrong")).length).toBe(CODE_ATTEMPTS);
    const row = await h.appdb.handoffs.get(id);
    expect(row!.codeAttempts).toBe(CODE_ATTEMPTS);
    expect(row!.refusedAt).not.toBeNull();
    // And the right code, after them, is refused too.
    expect((await b.go("POST", "/cli/approve", { csrf, request: id, code: CODE })).status).toBe(400);
    expect((await claim(h, id, SECRET)).status).toBe(404);
  });

  it("keeps the first claimer's secret and code: a later claim (someone who saw the link) neither collects nor changes the code", async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("f");
    await claim(h, id, SECRET, CODE);
    const thief = await claim(h, id, "6".repeat(64), "BBBBBBBB");
    expect(thief.status).toBe(404);
    expect((await approveWith(b, id, "BBBBBBBB")).status).toBe(400);
    expect((await approveWith(b, id, CODE)).status).toBe(200);
    expect((await claim(h, id, "6".repeat(64))).status).toBe(404);
    expect((await claim(h, id, SECRET)).status).toBe(200);
  });
  it("lets no other secret collect an approved request whose poll hash was cleared in app.db", async () => {
    const h = await startHarness();
    await h.user("owner@example.com");
    const b = new Browser(h);
    await b.signIn("owner@example.com");
    const id = REQ("e");
    await claim(h, id, SECRET, CODE);
    expect((await approveWith(b, id, CODE)).status).toBe(200);
    // An app.db writer wipes the claim, hoping to claim the approved session with a secret of theirs.
    await h.appdb.database.client.execute({
      sql: "UPDATE handoffs SET poll_hash = NULL WHERE id = ?",
      args: [id],
    });
    expect((await claim(h, id, "7".repeat(64))).status).toBe(404);
  });
});

describe("where a request came from, beside the browser's address", () => {
  const view = (ip: string | null, userAgent: string | null = null) => ({
    origin: { requestId: REQ("0"), seenAt: 1_000_000, ip, userAgent },
    waiting: undefined,
    attemptsLeft: 5,
  });

  it("warns prominently when the request came from another address than the browser's", () => {
    const card = originCard(
      view("203.0.113.9"),
      "198.51.100.7",
      "login",
      "dotenv-vault login",
      1_120_000,
    ).text;
    expect(card).toContain('class="warning" role="alert"');
    expect(card).toContain("This request did not come from this browser's address.");
    expect(card).toContain("<code>203.0.113.9</code>");
    expect(card).toContain("<code>198.51.100.7</code>");
    expect(card).toContain("they would get a credential for this project in your name");
    expect(card).toContain("2 minutes ago");
  });

  it("does not warn when both are one address (an IPv4-mapped IPv6 address is its IPv4 one), and says it cannot tell when one is unknown", () => {
    const same = originCard(
      view("::ffff:127.0.0.1"),
      "127.0.0.1",
      "cli",
      "vault login --browser",
      1_000_000,
    ).text;
    expect(same).not.toContain("warning");
    expect(same).toContain("Same address as this browser.");
    expect(same).toContain("<code>127.0.0.1</code>");
    const unknown = originCard(view("127.0.0.1"), null, "cli", "vault login --browser", 1_000_000).text;
    expect(unknown).not.toContain("warning");
    expect(unknown).toContain("cannot tell this browser&#39;s address");
    expect(sameAddress("::1", "::1")).toBe(true);
    expect(sameAddress("::1", "127.0.0.1")).toBe(false);
    expect(sameAddress(null, "127.0.0.1")).toBeUndefined();
    expect([ago(0), ago(59_999), ago(60_000), ago(5 * 60_000), ago(3 * 3_600_000)]).toEqual([
      "less than a minute ago",
      "less than a minute ago",
      "1 minute ago",
      "5 minutes ago",
      "3 hours ago",
    ]);
  });
});
