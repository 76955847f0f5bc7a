/**
 * The web app's frame: assets from the server's own origin under the strict
 * CSP, the layout (skip link, navigation, breadcrumbs, one heading), the
 * guard (sign-in, CSRF by form field and by header, JSON errors for the
 * script, the one-time password), the projects list and a project's page
 * (the same access decisions as the API), and dotenv-vault's /open.
 */
import { describe, expect, it } from "bun:test";
import { CSP } from "../../src/server/modules/web/layout";
import { startHarness } from "./harness";
import { HOSTILE, location, team, WebBrowser } from "./web-helpers";

describe("web assets and headers", () => {
  it("serves vault.css and vault.js from its own origin, cacheable, with their types and nosniff", async () => {
    const h = await startHarness();
    for (const [path, type] of [
      ["/assets/vault.css", "text/css"],
      ["/assets/vault.js", "text/javascript"],
    ] as const) {
      const res = await h.app.handle(new Request(`http://localhost${path}`));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith(type);
      expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
  });

  it("sends every page with the strict CSP (scripts from 'self' only), no framing, no referrer, no caching", async () => {
    const h = await startHarness();
    const { browsers, project } = await team(h);
    expect(CSP).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    for (const path of ["/signin", "/", `/p/${project.id}`, "/no-such-page"]) {
      const res = await browsers.owner.get(path);
      expect({ path, csp: res.headers.get("content-security-policy") }).toEqual({ path, csp: CSP });
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-store");
      // No inline script or style anywhere: the CSP would refuse them, so the pages never rely on them.
      expect(res.text).not.toMatch(/<script(?![^>]*\ssrc=)/);
      expect(res.text).not.toMatch(/\sstyle=|<style/);
      expect(res.text).not.toMatch(/\son[a-z]+=/);
    }
  });

  it("frames each page: skip link to main, navigation with sign-out, breadcrumbs, one h1, an empty live region", async () => {
    const h = await startHarness();
    const { browsers, project } = await team(h);
    const res = await browsers.owner.get(`/p/${project.id}`);
    const text = res.text;
    expect(text).toContain('<a class="skip" href="#main">Skip to content</a>');
    expect(text).toContain('<main id="main" tabindex="-1" class="wide">');
    expect(text).toContain('<nav aria-label="Main">');
    expect(text).toContain('<form class="signout" method="post" action="/signout">');
    expect(text).toContain(
      '<nav class="crumbs" aria-label="Breadcrumb"><ol><li><a href="/">Projects</a></li>',
    );
    expect(text).toContain('<li aria-current="page">shop</li>');
    expect(text.match(/<h1>/g)).toHaveLength(1);
    expect(text).toContain('<div class="notices" id="notices" role="status" aria-live="polite"></div>');
    expect(text).toMatch(/<script src="\/assets\/vault\.js\?v=[0-9a-f]{12}" defer><\/script>/);
    expect(text).toContain(`<meta name="csrf" content="${browsers.owner.token}">`);
  });
});

describe("the guard", () => {
  it("sends a visitor who is not signed in to sign in, and refuses a form or a script request with 401", async () => {
    const h = await startHarness();
    const { project } = await team(h);
    const b = new WebBrowser(h);
    expect(location(await b.get(`/p/${project.id}`))).toBe(
      `/signin?next=${encodeURIComponent(`/p/${project.id}`)}`,
    );
    const form = await b.go("POST", "/signout", { csrf: "x" });
    expect(form.status).toBe(401);
    expect(form.text).toContain("Your session ended.");
    const script = await b.script("/signout", {}, "x");
    expect(script.status).toBe(401);
    expect(script.json.error.code).toBe("UNAUTHENTICATED");
  });

  it("refuses a POST without the CSRF token, with a forged one, or with one in the header that is not this browser's", async () => {
    const h = await startHarness();
    const { browsers } = await team(h);
    const b = browsers.writer;
    const other = browsers.reader;
    for (const csrf of ["", "forged", other.token]) {
      const res = await b.go("POST", "/signout", { csrf });
      expect({ csrf, status: res.status }).toEqual({ csrf, status: 403 });
      expect(res.text).toContain("Request refused");
    }
    const script = await b.script("/signout", {}, other.token);
    expect(script.status).toBe(403);
    expect(script.json.error.code).toBe("FORBIDDEN");
    // Still signed in after every refusal; the right header token signs out.
    expect((await b.get("/")).status).toBe(200);
    const out = await b.script("/signout", {});
    expect(out.status).toBe(303);
    expect(location(await b.get("/"))).toStartWith("/signin");
  });

  it("answers a script's request for a missing page of a project it cannot see with the API's JSON error", async () => {
    const h = await startHarness();
    const { browsers, project } = await team(h);
    const res = await browsers.stranger.go("GET", `/p/${project.id}`, undefined, {
      headers: { accept: "application/json" },
    });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error.code).toBe("NOT_FOUND");
  });

  it("holds a browser session to the API's rate limit per credential (429 with Retry-After)", async () => {
    const h = await startHarness();
    const { browsers } = await team(h);
    // The harness's clock stands still: the burst (twice 100 a second) is all there is.
    let status = 200;
    let last: Awaited<ReturnType<WebBrowser["get"]>> | undefined;
    for (let i = 0; i < 250 && status === 200; i++) {
      last = await browsers.reader.get("/");
      status = last.status;
    }
    expect(status).toBe(429);
    expect(last!.headers.get("retry-after")).toBe("1");
    expect(last!.text).toContain("Too many requests from this session.");
    // Another session is not held back.
    expect((await browsers.writer.get("/")).status).toBe(200);
  });

  it("sends a user who still has a one-time password to change it on the account page, and lets them sign out", async () => {
    const h = await startHarness();
    const { project } = await team(h);
    const row = (await h.appdb.users.byEmail("writer@example.com"))!;
    await h.appdb.users.update(row.id, { mustChangePassword: true });
    const b = new WebBrowser(h);
    const form = await b.get("/signin");
    await b.go("POST", "/signin", {
      csrf: WebBrowser.csrf(form.text),
      email: "writer@example.com",
      password: "correct horse battery staple",
      next: "/",
    });
    // The account page (pages/account.ts) is where they change it: every other page leads there.
    expect(location(await b.get(`/p/${project.id}`))).toBe("/account");
    const refused = await b.post(`/p/${project.id}/keys/development/show`);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("Change your password first");
    expect(refused.text).not.toContain("DOTENV_KEY of");
    expect((await b.post("/signout")).status).toBe(303);
  });
});

describe("projects list and project page", () => {
  it("lists each visible project with the caller's access, and only those", async () => {
    const h = await startHarness();
    const { browsers } = await team(h);
    const owner = await browsers.owner.get("/");
    expect(owner.text).toContain(">shop</a>");
    expect(owner.text).toContain("manage, read and write every environment");
    expect(owner.text).not.toContain(">other</a>");
    const reader = await browsers.reader.get("/");
    expect(reader.text).toContain("read development, staging");
    const writer = await browsers.writer.get("/");
    expect(writer.text).toContain("write development, staging");
    const admin = await browsers.admin.get("/");
    expect(admin.text).toContain(">shop</a>");
    expect(admin.text).toContain(">other</a>");
    const stranger = await browsers.stranger.get("/");
    expect(stranger.text).not.toContain(">shop</a>");
  });

  it("shows a project's environments with version, last change, author and the caller's access; members; no value", async () => {
    const h = await startHarness();
    const { browsers, project, base, tokens } = await team(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: tokens.writer.token,
      body: { dotenv: "# comment-secret-1a2b\nTOKEN=value-secret-3c4d\n" },
    });
    await h.request("PUT", `${base}/staging/secrets`, {
      token: tokens.owner.token,
      body: { dotenv: "S=staging-secret-5e6f\n" },
    });
    const reader = await browsers.reader.get(`/p/${project.id}`);
    expect(reader.status).toBe(200);
    const rows = reader.text.match(/<tr data-name="[a-z]+">.*?<\/tr>/g)!;
    const dev = rows.find((r) => r.includes('data-name="development"'))!;
    expect(dev).toContain("v1");
    expect(dev).toContain("added TOKEN");
    expect(dev).toContain("writer@example.com");
    expect(dev).toContain("read only");
    const prod = rows.find((r) => r.includes('data-name="production"'))!;
    expect(prod).toContain("no access");
    expect(reader.text).toContain("owner@example.com");
    expect(reader.text).toContain("reader@example.com");
    for (const b of Object.values(browsers)) {
      const res = await b.get(`/p/${project.id}`);
      expect(res.text).not.toContain("secret-");
    }
  });

  it("refuses a project's page to those the API refuses (404 for a stranger and a bad id), and allows the others", async () => {
    const h = await startHarness();
    const { browsers, project, tokens } = await team(h);
    const expected = { owner: 200, writer: 200, reader: 200, none: 200, admin: 200, stranger: 404 } as const;
    for (const [role, b] of Object.entries(browsers)) {
      const page = await b.get(`/p/${project.id}`);
      const api = await h.request("GET", `/api/v1/projects/${project.id}`, {
        token: tokens[role as keyof typeof tokens].token,
      });
      expect({ role, page: page.status }).toEqual({ role, page: expected[role as keyof typeof expected] });
      expect({ role, api: api.status }).toEqual({ role, api: expected[role as keyof typeof expected] });
    }
    expect((await browsers.owner.get("/p/vlt_nothex")).status).toBe(404);
  });

  it("escapes a hostile project name in the list, the page, the title and the breadcrumbs", async () => {
    const h = await startHarness();
    const { browsers, project, tokens } = await team(h);
    const name = `<script>alert(1)</script>${HOSTILE.values[1]}`;
    expect(
      (
        await h.request("PATCH", `/api/v1/projects/${project.id}`, {
          token: tokens.owner.token,
          body: { name },
        })
      ).status,
    ).toBe(200);
    for (const path of ["/", `/p/${project.id}`]) {
      const res = await browsers.owner.get(path);
      expect(res.text).not.toContain("<script>alert");
      expect(res.text).not.toContain('"onmouseover="');
      expect(res.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=&quot;alert(1)");
    }
  });

  it("sends dotenv-vault's open to the editor of the environment named (else the main one) when readable, else the project's page", async () => {
    const h = await startHarness();
    const { browsers, project } = await team(h);
    const open = (b: WebBrowser, query: string) => b.get(`/open?DOTENV_VAULT=${project.id}${query}`);
    expect(location(await open(browsers.reader, "&environment=undefined"))).toBe(
      `/p/${project.id}/e/development`,
    );
    expect(location(await open(browsers.reader, "&environment=staging"))).toBe(`/p/${project.id}/e/staging`);
    // Not granted production, nor development: the project's page.
    expect(location(await open(browsers.none, "&environment=production"))).toBe(`/p/${project.id}`);
    expect(location(await open(browsers.none, "&environment=ci"))).toBe(`/p/${project.id}/e/ci`);
    expect((await open(browsers.stranger, "")).status).toBe(404);
  });
});
