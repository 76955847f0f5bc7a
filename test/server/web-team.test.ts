/**
 * The team's pages: members and grants (team), service tokens, DOTENV_KEYs
 * (keys), the audit viewer, the account page and the instance's users. For
 * each page and form: every role refused exactly as the API refuses it,
 * CSRF refused, hostile input escaped, no token or key in a page except the
 * one-time display and an explicit show, one-time passwords shown once.
 */
import { describe, expect, it } from "bun:test";
import { KEY_MASK } from "../../src/server/modules/web/pages/keys";
import { type Harness, PASSWORD, startHarness } from "./harness";
import { HOSTILE, location, team, WebBrowser } from "./web-helpers";

type Team = Awaited<ReturnType<typeof team>>;
type Role = keyof Team["browsers"];
const ROLES: Role[] = ["owner", "writer", "reader", "none", "admin", "stranger"];

/** Every role's status for a page or form beside the API's for the same operation: they must be equal. */
async function sameRefusals(
  t: Team,
  expected: Record<Role, number>,
  web: (b: WebBrowser, role: Role) => Promise<{ status: number }>,
  api: (token: string, role: Role) => Promise<{ status: number }>,
) {
  for (const role of ROLES) {
    const page = await web(t.browsers[role], role);
    const answer = await api(t.tokens[role].token, role);
    // A page's success may be a redirect (303) where the API answers 200 or 201.
    const ok = (s: number) => (s === 303 || s === 201 ? 200 : s);
    expect({ role, page: ok(page.status), api: ok(answer.status) }).toEqual({
      role,
      page: expected[role],
      api: expected[role],
    });
  }
}

const MANAGE = { owner: 200, admin: 200, writer: 403, reader: 403, none: 403, stranger: 404 } as const;
const SEE = { owner: 200, admin: 200, writer: 200, reader: 200, none: 200, stranger: 404 } as const;

const membersOf = async (h: Harness, t: Team) =>
  (await h.request("GET", `/api/v1/projects/${t.project.id}/members`, { token: t.tokens.owner.token })).body
    .members as { email: string; userId: string; role: string; permissions: Record<string, string> }[];

describe("team page", () => {
  it("shows the team to everyone who sees the project, as the API lists it; a stranger gets the API's 404", async () => {
    const h = await startHarness();
    const t = await team(h);
    await sameRefusals(
      t,
      SEE,
      (b) => b.get(`/p/${t.project.id}/team`),
      (token) => h.request("GET", `/api/v1/projects/${t.project.id}/members`, { token }),
    );
    const reader = await t.browsers.reader.get(`/p/${t.project.id}/team`);
    expect(reader.text).toContain("writer@example.com");
    expect(reader.text).toContain("Only project owners and instance admins change the team.");
    expect(reader.text).not.toContain("<select");
    expect(reader.text).not.toContain('data-testid="invite"');
    const owner = await t.browsers.owner.get(`/p/${t.project.id}/team`);
    expect(owner.text).toContain('data-testid="invite"');
    expect(owner.text).toContain('aria-label="Access of reader@example.com to development"');
    // Only an instance admin is offered to create an account.
    expect(owner.text).not.toContain('name="create"');
    expect((await t.browsers.admin.get(`/p/${t.project.id}/team`)).text).toContain('name="create"');
    const out = await new WebBrowser(h).get(`/p/${t.project.id}/team`);
    expect(location(out)).toStartWith("/signin");
  });

  it("invites an existing user with the grid's grants; every other role is refused as the API refuses it, changing nothing", async () => {
    const h = await startHarness();
    const t = await team(h);
    await h.user("carol@example.com");
    const before = JSON.stringify(await membersOf(h, t));
    for (const role of ["writer", "reader", "none", "stranger"] as const) {
      const page = await t.browsers[role].post(`/p/${t.project.id}/team/invite`, {
        email: "carol@example.com",
        role: "member",
        perm_production: "write",
      });
      const api = await h.request("POST", `/api/v1/projects/${t.project.id}/members`, {
        token: t.tokens[role].token,
        body: { email: "carol@example.com", permissions: { production: "write" } },
      });
      expect({ role, page: page.status }).toEqual({ role, page: MANAGE[role] });
      expect({ role, api: api.status }).toEqual({ role, api: MANAGE[role] });
    }
    expect(JSON.stringify(await membersOf(h, t))).toBe(before);
    const res = await t.browsers.owner.post(`/p/${t.project.id}/team/invite`, {
      email: "Carol@Example.com",
      role: "member",
      perm_development: "read",
      perm_ci: "write",
      perm_staging: "none",
    });
    expect(location(res)).toBe(`/p/${t.project.id}/team?done=member-added`);
    const carol = (await membersOf(h, t)).find((m) => m.email === "carol@example.com")!;
    expect(carol.permissions).toEqual({
      development: "read",
      ci: "write",
      staging: "none",
      production: "none",
    });
    expect((await t.browsers.owner.get(location(res))).text).toContain("Member added.");
    // Inviting a member again is refused: their access is changed in the table.
    const again = await t.browsers.owner.post(`/p/${t.project.id}/team/invite`, {
      email: "carol@example.com",
    });
    expect(again.status).toBe(409);
    // Nobody without an account is invited by a project owner.
    const ghost = await t.browsers.owner.post(`/p/${t.project.id}/team/invite`, {
      email: "ghost@example.com",
    });
    expect(ghost.status).toBe(404);
    const created = await t.browsers.owner.post(`/p/${t.project.id}/team/invite`, {
      email: "ghost@example.com",
      create: "yes",
    });
    expect(created.status).toBe(403);
    expect(await h.appdb.users.byEmail("ghost@example.com")).toBeUndefined();
  });

  it("an instance admin invites someone without an account: the one-time password is on that answer only, never on a page after", async () => {
    const h = await startHarness();
    const t = await team(h);
    const res = await t.browsers.admin.post(`/p/${t.project.id}/team/invite`, {
      email: "newbie@example.com",
      create: "yes",
      perm_staging: "read",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const password = /<pre class="value" id="one-time-password">([A-Za-z0-9]{20})<\/pre>/.exec(res.text)![1]!;
    expect(res.text).toContain('data-copy="one-time-password"');
    for (const path of [`/p/${t.project.id}/team`, `/p/${t.project.id}`, "/admin/users", "/audit", "/"]) {
      expect((await t.browsers.admin.get(path)).text).not.toContain(password);
    }
    const newbie = (await membersOf(h, t)).find((m) => m.email === "newbie@example.com")!;
    expect(newbie.permissions.staging).toBe("read");
    const login = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "newbie@example.com", password },
    });
    expect(login.body.user.mustChangePassword).toBe(true);
  });

  it("changes and removes grants (removing asks first without the script); the removed member loses the project at once", async () => {
    const h = await startHarness();
    const t = await team(h);
    const reader = (await membersOf(h, t)).find((m) => m.email === "reader@example.com")!;
    const grants = `/p/${t.project.id}/team/${reader.userId}/grants`;
    await sameRefusals(
      t,
      MANAGE,
      (b) => b.post(grants, { perm_development: "read", perm_staging: "read" }),
      (token) =>
        h.request("PUT", `/api/v1/projects/${t.project.id}/members/${reader.userId}/permissions`, {
          token,
          body: { permissions: { development: "read", staging: "read" } },
        }),
    );
    const saved = await t.browsers.owner.post(grants, {
      perm_development: "write",
      perm_staging: "none",
      perm_production: "read",
    });
    expect(location(saved)).toBe(`/p/${t.project.id}/team?done=grants-saved`);
    const now = (await membersOf(h, t)).find((m) => m.email === "reader@example.com")!;
    expect(now.permissions).toEqual({
      development: "write",
      ci: "none",
      staging: "none",
      production: "read",
    });
    expect((await t.browsers.owner.post(grants, { perm_development: "admin" })).status).toBe(400);

    const remove = `/p/${t.project.id}/team/${reader.userId}/remove`;
    for (const role of ["writer", "reader", "none", "stranger"] as const) {
      const asked = await t.browsers[role].post(remove, { ask: "yes" });
      expect({ role, status: asked.status }).toEqual({ role, status: MANAGE[role] });
      expect((await t.browsers[role].post(remove)).status).toBe(MANAGE[role]);
    }
    const asked = await t.browsers.owner.post(remove, { ask: "yes" });
    expect(asked.status).toBe(200);
    expect(asked.text).toContain("Remove reader@example.com from shop?");
    expect(asked.text).toContain('data-testid="confirm"');
    expect((await membersOf(h, t)).some((m) => m.email === "reader@example.com")).toBe(true);
    const removed = await t.browsers.owner.post(remove);
    expect(location(removed)).toBe(`/p/${t.project.id}/team?done=member-removed`);
    expect((await membersOf(h, t)).some((m) => m.email === "reader@example.com")).toBe(false);
    expect((await t.browsers.reader.get(`/p/${t.project.id}`)).status).toBe(404);
  });

  it("refuses every team form without this browser's CSRF token, changing nothing", async () => {
    const h = await startHarness();
    const t = await team(h);
    await h.user("carol@example.com");
    const reader = (await membersOf(h, t)).find((m) => m.email === "reader@example.com")!;
    const before = JSON.stringify(await membersOf(h, t));
    const base = `/p/${t.project.id}/team`;
    for (const [path, fields] of [
      [`${base}/invite`, { email: "carol@example.com", perm_development: "write" }],
      [`${base}/${reader.userId}/grants`, { perm_production: "write" }],
      [`${base}/${reader.userId}/remove`, {}],
    ] as const) {
      for (const csrf of ["", "forged"]) {
        const res = await t.browsers.owner.post(path, { ...fields, csrf });
        expect(res.status).toBe(403);
        expect(res.text).toContain("did not come from this site");
      }
      const other = await new WebBrowser(h).withSession(t.tokens.admin.token);
      const crossed = await other.go("POST", path, { ...fields, csrf: t.browsers.owner.token });
      expect(crossed.status).toBe(403);
    }
    expect(JSON.stringify(await membersOf(h, t))).toBe(before);
  });

  it("escapes hostile emails and project names everywhere on the team page", async () => {
    const h = await startHarness();
    const t = await team(h);
    const email = `<script>alert(1)</script>"onmouseover=alert(1)@x.io`;
    await h.user(email);
    await h.request("PATCH", `/api/v1/projects/${t.project.id}`, {
      token: t.tokens.owner.token,
      body: { name: `</textarea><img src=x onerror=alert(2)>${HOSTILE.values[3]}` },
    });
    const res = await t.browsers.owner.post(`/p/${t.project.id}/team/invite`, { email, perm_ci: "read" });
    expect(res.status).toBe(303);
    for (const path of [`/p/${t.project.id}/team`]) {
      const page = await t.browsers.owner.get(path);
      expect(page.text).not.toContain("<script>alert");
      expect(page.text).not.toContain('"onmouseover=alert');
      expect(page.text).not.toContain("<img src=x");
      expect(page.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=alert(1)@x.io");
      expect(page.text).toContain("&lt;/textarea&gt;&lt;img src=x onerror=alert(2)&gt;");
    }
    const member = (await membersOf(h, t)).find((m) => m.email === email.toLowerCase())!;
    const asked = await t.browsers.owner.post(`/p/${t.project.id}/team/${member.userId}/remove`, {
      ask: "yes",
    });
    expect(asked.text).not.toContain("<script>alert");
    expect(asked.text).not.toContain("<img src=x");
  });
});

const tokensOf = async (h: Harness, t: Team) =>
  (await h.request("GET", `/api/v1/projects/${t.project.id}/tokens`, { token: t.tokens.owner.token })).body
    .tokens as { id: string; name: string; status: string; environments: string[]; write: boolean }[];

describe("tokens page", () => {
  it("lists and creates tokens for the project's managers only, refusing every other role as the API does", async () => {
    const h = await startHarness();
    const t = await team(h);
    await sameRefusals(
      t,
      MANAGE,
      (b) => b.get(`/p/${t.project.id}/tokens`),
      (token) => h.request("GET", `/api/v1/projects/${t.project.id}/tokens`, { token }),
    );
    await sameRefusals(
      t,
      MANAGE,
      (b, role) => b.post(`/p/${t.project.id}/tokens`, { name: `web-${role}`, env_ci: "yes" }),
      (token, role) =>
        h.request("POST", `/api/v1/projects/${t.project.id}/tokens`, {
          token,
          body: { name: `api-${role}`, environments: ["ci"] },
        }),
    );
    expect((await tokensOf(h, t)).map((x) => x.name).sort()).toEqual([
      "api-admin",
      "api-owner",
      "web-admin",
      "web-owner",
    ]);
  });

  it("shows a new token once, on the answer to the form: never in the list or any page after; it works with what was chosen", async () => {
    const h = await startHarness();
    const t = await team(h);
    const res = await t.browsers.owner.post(`/p/${t.project.id}/tokens`, {
      name: "ci-deploy",
      env_ci: "yes",
      env_staging: "yes",
      write: "yes",
      expiresInDays: "30",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const token = /<pre class="value" id="new-token">(vst_[0-9a-f]+)<\/pre>/.exec(res.text)![1]!;
    expect(res.text).toContain('data-copy="new-token"');
    const [made] = await tokensOf(h, t);
    expect(made).toMatchObject({
      name: "ci-deploy",
      environments: ["ci", "staging"],
      write: true,
      status: "active",
    });
    expect((await h.request("GET", `${t.base}/staging/secrets`, { token })).status).toBe(200);
    expect((await h.request("GET", `${t.base}/development/secrets`, { token })).status).toBe(403);
    for (const path of [`/p/${t.project.id}/tokens`, `/p/${t.project.id}`, `/p/${t.project.id}/audit`]) {
      expect((await t.browsers.owner.get(path)).text).not.toContain(token);
    }
    const list = await t.browsers.owner.get(`/p/${t.project.id}/tokens`);
    expect(list.text).toContain("ci-deploy");
    expect(list.text).toContain("read and write");
    // Bad input is the client's mistake, named; nothing is made.
    for (const fields of [
      { name: "", env_ci: "yes" },
      { name: "no-env" },
      { name: "x", env_ci: "yes", expiresInDays: "-1" },
      { name: "x", env_ci: "yes", expiresInDays: "9999" },
      { name: "bad\u001b[31m", env_ci: "yes" },
    ] as Record<string, string>[]) {
      expect((await t.browsers.owner.post(`/p/${t.project.id}/tokens`, fields)).status).toBe(400);
    }
    expect((await tokensOf(h, t)).length).toBe(1);
  });

  it("revokes a token with a confirmation (asked on a page without the script), as only managers may", async () => {
    const h = await startHarness();
    const t = await team(h);
    const made = await h.request("POST", `/api/v1/projects/${t.project.id}/tokens`, {
      token: t.tokens.owner.token,
      body: { name: "ci", environments: ["ci"] },
    });
    const revoke = `/p/${t.project.id}/tokens/${made.body.id}/revoke`;
    for (const role of ["writer", "reader", "none", "stranger"] as const) {
      expect((await t.browsers[role].post(revoke, { ask: "yes" })).status).toBe(MANAGE[role]);
      expect((await t.browsers[role].post(revoke)).status).toBe(MANAGE[role]);
    }
    const asked = await t.browsers.owner.post(revoke, { ask: "yes" });
    expect(asked.status).toBe(200);
    expect(asked.text).toContain("Revoke the token ci?");
    expect((await tokensOf(h, t))[0]!.status).toBe("active");
    const list = await t.browsers.owner.get(`/p/${t.project.id}/tokens`);
    expect(list.text).toContain(
      'data-confirm="Revoke the token ci? Whatever uses it stops working at once."',
    );
    expect(location(await t.browsers.owner.post(revoke))).toBe(
      `/p/${t.project.id}/tokens?done=token-revoked`,
    );
    expect((await tokensOf(h, t))[0]!.status).toBe("revoked");
    expect((await h.request("GET", `${t.base}/ci/secrets`, { token: made.body.token })).status).toBe(401);
    // Another project's token, or none, is not found here.
    const elsewhere = await h.request("POST", `/api/v1/projects/${t.other.id}/tokens`, {
      token: t.tokens.stranger.token,
      body: { name: "theirs", environments: ["ci"] },
    });
    expect(
      (await t.browsers.admin.post(`/p/${t.project.id}/tokens/${elsewhere.body.id}/revoke`)).status,
    ).toBe(404);
    expect(
      (
        await h.request("GET", `/api/v1/projects/${t.other.id}/environments/ci/secrets`, {
          token: elsewhere.body.token,
        })
      ).status,
    ).toBe(200);
  });

  it("refuses the token forms without this browser's CSRF token, and escapes hostile token names", async () => {
    const h = await startHarness();
    const t = await team(h);
    const name = `<img src=x onerror=alert(1)>"onmouseover="x${HOSTILE.values[4]}`; // (bidi controls are refused in names)
    const made = await h.request("POST", `/api/v1/projects/${t.project.id}/tokens`, {
      token: t.tokens.owner.token,
      body: { name, environments: ["ci"] },
    });
    expect(made.status).toBe(201);
    for (const [path, fields] of [
      [`/p/${t.project.id}/tokens`, { name: "forged", env_ci: "yes" }],
      [`/p/${t.project.id}/tokens/${made.body.id}/revoke`, {}],
    ] as const) {
      for (const csrf of ["", "forged"])
        expect((await t.browsers.owner.post(path, { ...fields, csrf })).status).toBe(403);
    }
    expect((await tokensOf(h, t)).map((x) => x.status)).toEqual(["active"]);
    for (const res of [
      await t.browsers.owner.get(`/p/${t.project.id}/tokens`),
      await t.browsers.owner.post(`/p/${t.project.id}/tokens/${made.body.id}/revoke`, { ask: "yes" }),
    ]) {
      expect(res.text).not.toContain("<img src=x");
      expect(res.text).not.toContain('"onmouseover="');
      expect(res.text).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;onmouseover=&quot;x");
    }
  });
});

const keysOf = async (h: Harness, t: Team) =>
  Object.fromEntries(
    (
      (await h.request("GET", `/api/v1/projects/${t.project.id}/keys`, { token: t.tokens.owner.token })).body
        .keys as { environment: string; key: string }[]
    ).map((k) => [k.environment, k.key]),
  ) as Record<string, string>;

describe("keys page", () => {
  it("masks every key with one fixed mask (no key in the page), for everyone who sees the project, as the API", async () => {
    const h = await startHarness();
    const t = await team(h);
    const keys = await keysOf(h, t);
    await sameRefusals(
      t,
      SEE,
      (b) => b.get(`/p/${t.project.id}/keys`),
      (token) => h.request("GET", `/api/v1/projects/${t.project.id}/keys`, { token }),
    );
    for (const role of ROLES) {
      const res = await t.browsers[role].get(`/p/${t.project.id}/keys`);
      for (const key of Object.values(keys)) {
        expect(res.text).not.toContain(key);
        expect(res.text).not.toContain(key.slice(key.indexOf("key_"), key.indexOf("key_") + 20));
      }
    }
    const reader = await t.browsers.reader.get(`/p/${t.project.id}/keys`);
    const rows = reader.text.match(/<tr data-name="[a-z]+">.*?<\/tr>/g)!;
    const dev = rows.find((r) => r.includes('data-name="development"'))!;
    expect(dev).toContain(KEY_MASK);
    expect(dev).toContain('data-testid="show-key"');
    // A reader cannot rotate: the button is there, disabled, with the reason beside the table.
    expect(dev).toMatch(
      /<button type="submit" class="small danger" disabled aria-label="Rotate the key of development"/,
    );
    expect(reader.text).toContain("Only project owners and instance admins rotate keys.");
    const prod = rows.find((r) => r.includes('data-name="production"'))!;
    expect(prod).toContain("no access");
    expect(prod).not.toContain("show-key");
    // Every key looks the same.
    const owner = await t.browsers.owner.get(`/p/${t.project.id}/keys`);
    expect(owner.text.split(KEY_MASK).length - 1).toBe(4);
    expect(owner.text).not.toContain(" disabled ");
  });

  it("shows one key on request, audited as the API's read, with a copy button; refused where the API refuses it", async () => {
    const h = await startHarness();
    const t = await team(h);
    const keys = await keysOf(h, t);
    const show = (env: string) => `/p/${t.project.id}/keys/${env}/show`;
    await sameRefusals(
      t,
      { owner: 200, admin: 200, writer: 200, reader: 200, none: 403, stranger: 404 },
      (b) => b.post(show("development")),
      (token) => h.request("GET", `/api/v1/projects/${t.project.id}/keys?environment=development`, { token }),
    );
    expect((await t.browsers.reader.post(show("production"))).status).toBe(403);
    expect((await t.browsers.reader.post(show("nowhere"))).status).toBe(404);
    const res = await t.browsers.reader.post(show("staging"));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.text).toContain(
      `<pre class="value" id="dotenv-key">${keys.staging!.replaceAll("&", "&amp;")}</pre>`,
    );
    expect(res.text).toContain('data-copy="dotenv-key"');
    for (const [env, key] of Object.entries(keys)) if (env !== "staging") expect(res.text).not.toContain(key);
    await h.ctx.audit.flush();
    const [event] = await h.appdb.audit.list({
      action: "dotenv_key.read",
      actorId: t.tokens.reader.id,
      limit: 10,
    });
    const staging = (await h.appdb.projects.environments(t.project.id)).find((e) => e.name === "staging")!;
    expect(event!.environmentId).toBe(staging.id);
    // The script asks for JSON and gets the same read.
    const json = await t.browsers.reader.script(show("development"));
    expect(json.json).toEqual({ environment: "development", key: keys.development });
  });

  it("rotates a key with a confirmation (asked on a page without the script), only for managers, as the API", async () => {
    const h = await startHarness();
    const t = await team(h);
    const before = await keysOf(h, t);
    const rotate = `/p/${t.project.id}/keys/development/rotate`;
    for (const role of ["writer", "reader", "none", "stranger"] as const) {
      const api = await h.request(
        "POST",
        `/api/v1/projects/${t.project.id}/environments/development/rotate-key`,
        {
          token: t.tokens[role].token,
        },
      );
      expect({ role, api: api.status }).toEqual({ role, api: MANAGE[role] });
      expect({ role, ask: (await t.browsers[role].post(rotate, { ask: "yes" })).status }).toEqual({
        role,
        ask: MANAGE[role],
      });
      expect({ role, page: (await t.browsers[role].post(rotate)).status }).toEqual({
        role,
        page: MANAGE[role],
      });
    }
    const asked = await t.browsers.owner.post(rotate, { ask: "yes" });
    expect(asked.status).toBe(200);
    expect(asked.text).toContain("Rotate the DOTENV_KEY of development?");
    expect(await keysOf(h, t)).toEqual(before);
    const done = await t.browsers.owner.post(rotate);
    expect(location(done)).toBe(`/p/${t.project.id}/keys?done=key-rotated`);
    const after = await keysOf(h, t);
    expect(after.development).not.toBe(before.development);
    expect(after.staging).toBe(before.staging!);
    const page = await t.browsers.owner.get(location(done));
    expect(page.text).toContain("Key rotated.");
    for (const key of [...Object.values(before), ...Object.values(after)])
      expect(page.text).not.toContain(key);
  });

  it("refuses the key forms without this browser's CSRF token: no key is shown, none rotated", async () => {
    const h = await startHarness();
    const t = await team(h);
    const before = await keysOf(h, t);
    for (const action of ["show", "rotate"]) {
      for (const csrf of ["", "forged"]) {
        const res = await t.browsers.owner.post(`/p/${t.project.id}/keys/development/${action}`, { csrf });
        expect(res.status).toBe(403);
        expect(res.text).not.toContain(before.development!);
      }
      const res = await t.browsers.owner.script(
        `/p/${t.project.id}/keys/development/${action}`,
        {},
        "forged",
      );
      expect(res.status).toBe(403);
    }
    expect(await keysOf(h, t)).toEqual(before);
  });

  it("escapes a hostile project name on the keys pages", async () => {
    const h = await startHarness();
    const t = await team(h);
    await h.request("PATCH", `/api/v1/projects/${t.project.id}`, {
      token: t.tokens.owner.token,
      body: { name: `<script>alert(1)</script>` },
    });
    for (const res of [
      await t.browsers.owner.get(`/p/${t.project.id}/keys`),
      await t.browsers.owner.post(`/p/${t.project.id}/keys/ci/show`),
      await t.browsers.owner.post(`/p/${t.project.id}/keys/ci/rotate`, { ask: "yes" }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain("<script>alert");
      expect(res.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
  });
});

describe("audit pages", () => {
  it("gives a project's events to its managers and /audit to instance admins only, refusing the others as the API does", async () => {
    const h = await startHarness();
    const t = await team(h);
    await sameRefusals(
      t,
      MANAGE,
      (b) => b.get(`/p/${t.project.id}/audit`),
      (token) => h.request("GET", `/api/v1/audit?project=${t.project.id}`, { token }),
    );
    await sameRefusals(
      t,
      { owner: 403, admin: 200, writer: 403, reader: 403, none: 403, stranger: 403 },
      (b) => b.get("/audit"),
      (token) => h.request("GET", "/api/v1/audit", { token }),
    );
    expect(location(await new WebBrowser(h).get("/audit"))).toStartWith("/signin");
    // The navigation offers Audit and Users to instance admins only; Account to all.
    const nav = (text: string) => /<ul>(.*?)<\/ul>/.exec(text)![1]!;
    expect(nav((await t.browsers.admin.get("/")).text)).toMatch(/Projects.*Audit.*Users.*Account/);
    expect(nav((await t.browsers.owner.get("/")).text)).not.toContain("Audit");
    expect(nav((await t.browsers.owner.get("/")).text)).toContain("Account");
  });

  it("names actors, environments and the users events are about (never ids), filters by action, actor and day, and pages by 50", async () => {
    const h = await startHarness();
    const t = await team(h);
    for (let i = 0; i < 60; i++)
      await h.request("GET", `${t.base}/development/secrets`, { token: t.tokens.reader.token });
    h.clock.advance(86_400_000); // a day later: sessions of yesterday expired, so sign in again
    const signIn = async (email: string) =>
      (await h.request("POST", "/api/v1/auth/login", { body: { email, password: PASSWORD } })).body
        .token as string;
    const writer = await signIn("writer@example.com");
    const owner = await new WebBrowser(h).withSession(await signIn("owner@example.com"));
    const admin = await new WebBrowser(h).withSession(await signIn("admin@example.com"));
    await h.request("PUT", `${t.base}/staging/secrets`, { token: writer, body: { dotenv: "A=1\n" } });
    await h.ctx.audit.flush();
    const path = `/p/${t.project.id}/audit`;
    const first = await owner.get(path);
    expect(first.status).toBe(200);
    const rows = first.text.match(/<tr><td data-label="When">.*?<\/tr>/g)!;
    expect(rows.length).toBe(50);
    expect(rows[0]).toContain("secrets.push");
    expect(rows[0]).toContain("writer@example.com");
    expect(rows[0]).toContain(">staging<");
    expect(first.text).not.toMatch(/usr_[0-9a-f]{24}|env_[0-9a-f]{24}|tok_[0-9a-f]{24}/);
    const member = first.text.match(/<tr>.*?member\.add.*?<\/tr>/g);
    expect(member).toBeNull(); // older than the first page
    const older = /href="([^"]*before=\d+[^"]*)" data-testid="older"/
      .exec(first.text)![1]!
      .replaceAll("&amp;", "&");
    const second = await owner.get(older);
    const adds = second.text.match(/<tr><td data-label="When">[^\n]*?member\.add.*?<\/tr>/g)!;
    expect(adds.some((r) => r.includes("writer@example.com") && r.includes("owner@example.com"))).toBe(true);
    expect(second.text).toContain("Newest events");
    // Filters: an action, an actor by email, a day.
    const reads = await owner.get(`${path}?action=secrets.read&actor=reader%40example.com`);
    const readRows = reads.text.match(/<tr><td data-label="When">.*?<\/tr>/g)!;
    expect(readRows.length).toBe(50);
    expect(readRows.every((r) => r.includes("secrets.read") && r.includes("reader@example.com"))).toBe(true);
    const today = new Date(h.clock.now()).toISOString().slice(0, 10);
    const sinceToday = await owner.get(`${path}?since=${today}`);
    expect(sinceToday.text.match(/<tr><td data-label="When">.*?<\/tr>/g)!.length).toBe(1);
    const nobody = await owner.get(`${path}?actor=nobody%40example.com`);
    expect(nobody.text).toContain("No events match.");
    for (const bad of ["?since=yesterday", "?action=%3Cscript%3E", "?before=abc"]) {
      const res = await owner.get(`${path}${bad}`);
      expect(res.status).toBe(400);
      expect(res.text).not.toContain("<script>");
    }
    // The instance log names the project too.
    const all = await admin.get("/audit?action=project.create");
    expect(all.text).toContain('<th scope="col">Project</th>');
    expect(all.text).toMatch(/<td data-label="Project">shop<\/td>/);
    expect(all.text).toMatch(/<td data-label="Project">other<\/td>/);
  });

  it("escapes hostile emails, token names and project names in events and in the filters shown back", async () => {
    const h = await startHarness();
    const t = await team(h);
    await h.request("POST", `/api/v1/projects/${t.project.id}/tokens`, {
      token: t.tokens.owner.token,
      body: { name: "<script>alert(1)</script>", environments: ["ci"] },
    });
    await h.request("POST", "/api/v1/auth/login", {
      body: { email: '"onmouseover=alert(1)@x.io', password: "wrong password" },
    });
    await h.request("PATCH", `/api/v1/projects/${t.project.id}`, {
      token: t.tokens.owner.token,
      body: { name: "<img src=x onerror=alert(2)>" },
    });
    await h.ctx.audit.flush();
    for (const res of [
      await t.browsers.owner.get(`/p/${t.project.id}/audit`),
      await t.browsers.admin.get(`/audit?actor=%22onmouseover%3Dalert(1)%40x.io`),
      await t.browsers.admin.get("/audit"),
    ]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain("<script>alert");
      expect(res.text).not.toContain("<img src=x");
      expect(res.text).not.toContain('"onmouseover=');
    }
    const all = await t.browsers.admin.get("/audit");
    expect(all.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(all.text).toContain("&quot;onmouseover=alert(1)@x.io");
  });
});

describe("account page", () => {
  it("is every signed-in user's own: sessions and CLI credentials with created, last used and expiry, this browser marked, never a token", async () => {
    const h = await startHarness();
    const t = await team(h);
    const me = await h.request("POST", `/api/v1/projects/${t.project.id}/me`, {
      token: t.tokens.reader.token,
    });
    const laptop = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "reader@example.com", password: PASSWORD },
    });
    for (const role of ROLES) expect((await t.browsers[role].get("/account")).status).toBe(200);
    expect(location(await new WebBrowser(h).get("/account"))).toStartWith("/signin");
    const res = await t.browsers.reader.get("/account");
    expect(res.text).toContain("reader@example.com");
    expect(res.text).toContain("this browser");
    expect(res.text).toContain("CLI credential (<code>me_</code>) for shop");
    expect(res.text.match(/data-testid="revoke-session"/g)!.length).toBe(3);
    for (const secret of [t.tokens.reader.token, me.body.token, laptop.body.token, t.tokens.owner.token])
      expect(res.text).not.toContain(secret);
    expect(res.text).not.toContain("owner@example.com");
  });

  it("revokes a session or CLI credential at once; revoking this browser's signs it out; another user's is not found", async () => {
    const h = await startHarness();
    const t = await team(h);
    const me = await h.request("POST", `/api/v1/projects/${t.project.id}/me`, {
      token: t.tokens.reader.token,
    });
    const sessions = async () =>
      (await h.request("GET", "/api/v1/me/sessions", { token: t.tokens.reader.token })).body.sessions as {
        id: string;
        kind: string;
        current: boolean;
      }[];
    const meRow = (await sessions()).find((s) => s.kind === "me")!;
    expect(location(await t.browsers.reader.post(`/account/sessions/${meRow.id}/revoke`))).toBe(
      "/account?done=session-revoked",
    );
    expect((await h.request("GET", "/api/v1/me", { token: me.body.token })).status).toBe(401);
    const ownerSession = (await h.request("GET", "/api/v1/me/sessions", { token: t.tokens.owner.token })).body
      .sessions[0].id;
    expect((await t.browsers.reader.post(`/account/sessions/${ownerSession}/revoke`)).status).toBe(404);
    expect((await h.request("GET", "/api/v1/me", { token: t.tokens.owner.token })).status).toBe(200);
    for (const csrf of ["", "forged"])
      expect(
        (await t.browsers.reader.post(`/account/sessions/${ownerSession}/revoke`, { csrf })).status,
      ).toBe(403);
    const current = (await sessions()).find((s) => s.current)!;
    const out = await t.browsers.reader.post(`/account/sessions/${current.id}/revoke`);
    expect(location(out)).toBe("/signin");
    expect(location(await t.browsers.reader.get("/"))).toStartWith("/signin");
  });

  it("changes the password with the API's rules, and a wrong current password counts toward the same lockout", async () => {
    const h = await startHarness();
    const t = await team(h);
    const b = t.browsers.writer;
    const change = (current: string, next: string, confirm = next) =>
      b.post("/account/password", { current, next, confirm });
    const differ = await change(PASSWORD, "a long new passphrase", "another one entirely");
    expect(differ.status).toBe(400);
    expect(differ.text).toContain("the two new passwords differ");
    expect((await change(PASSWORD, "short")).status).toBe(400);
    expect((await change(PASSWORD, PASSWORD)).status).toBe(400);
    for (let i = 0; i < 4; i++) {
      const wrong = await change("not the password", "a long new passphrase");
      expect(wrong.status).toBe(401);
      expect(wrong.text).toContain("the current password is wrong");
      expect(wrong.text).not.toContain("not the password");
    }
    // The fifth failure, counted with the API's sign-ins, locks the account.
    await h.request("POST", "/api/v1/auth/login", {
      body: { email: "writer@example.com", password: "nope nope" },
    });
    const locked = await change(PASSWORD, "a long new passphrase");
    expect(locked.status).toBe(423);
    expect(locked.headers.get("retry-after")).not.toBeNull();
    expect(locked.text).toContain("locked");
    h.clock.advance(15 * 60_000 + 1);
    const other = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "writer@example.com", password: PASSWORD },
    });
    const ok = await change(PASSWORD, "a long new passphrase");
    expect(location(ok)).toBe("/account?done=password-changed&n=1");
    expect((await b.get(location(ok))).text).toContain("Password changed.");
    // This browser stays signed in; the other session is signed out; the new password works.
    expect((await b.get("/")).status).toBe(200);
    expect((await h.request("GET", "/api/v1/me", { token: other.body.token })).status).toBe(401);
    const again = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "writer@example.com", password: "a long new passphrase" },
    });
    expect(again.status).toBe(200);
    for (const csrf of ["", "forged"])
      expect(
        (
          await b.post("/account/password", {
            current: "a long new passphrase",
            next: "x".repeat(20),
            confirm: "x".repeat(20),
            csrf,
          })
        ).status,
      ).toBe(403);
  });

  it("sends a user who must change a one-time password here from any page, and lets them on once it is changed", async () => {
    const h = await startHarness();
    const t = await team(h);
    const reset = await h.request("POST", `/api/v1/users/${t.tokens.reader.id}/reset-password`, {
      token: t.tokens.admin.token,
    });
    const login = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "reader@example.com", password: reset.body.oneTimePassword },
    });
    const b = await new WebBrowser(h).withSession(login.body.token);
    for (const path of ["/", `/p/${t.project.id}`, `/p/${t.project.id}/keys`, "/admin/users"])
      expect(location(await b.get(path))).toBe("/account");
    expect((await b.post(`/p/${t.project.id}/keys/development/show`)).status).toBe(403);
    const account = await b.get("/account");
    expect(account.status).toBe(200);
    expect(account.text).toContain("This account still has a one-time password.");
    expect(account.text).not.toContain(reset.body.oneTimePassword);
    const ok = await b.post("/account/password", {
      current: reset.body.oneTimePassword,
      next: "my very own passphrase",
      confirm: "my very own passphrase",
    });
    expect(location(ok)).toStartWith("/account?done=password-changed");
    expect((await b.get(`/p/${t.project.id}`)).status).toBe(200);
  });
});

describe("users page", () => {
  it("is for instance owners and admins: everyone else gets the API's 403, the signed out the sign-in page", async () => {
    const h = await startHarness();
    const t = await team(h);
    const member = t.tokens.writer.id;
    const refusals = { owner: 403, admin: 200, writer: 403, reader: 403, none: 403, stranger: 403 } as const;
    await sameRefusals(
      t,
      refusals,
      (b) => b.get("/admin/users"),
      (token) => h.request("GET", "/api/v1/users", { token }),
    );
    for (const role of ["owner", "writer", "reader", "none", "stranger"] as const) {
      const b = t.browsers[role];
      for (const res of [
        await b.post("/admin/users", { email: "new@example.com", role: "member" }),
        await b.post(`/admin/users/${member}/disable`),
        await b.post(`/admin/users/${member}/disable`, { ask: "yes" }),
        await b.post(`/admin/users/${member}/reset-password`),
        await b.post(`/admin/users/${member}/role`, { role: "admin" }),
      ])
        expect({ role, status: res.status }).toEqual({ role, status: 403 });
    }
    expect(await h.appdb.users.byEmail("new@example.com")).toBeUndefined();
    const writer = await h.appdb.users.byId(member);
    expect([writer?.role, writer?.disabledAt, writer?.mustChangePassword]).toEqual(["member", null, false]);
    expect(location(await new WebBrowser(h).get("/admin/users"))).toStartWith("/signin");
  });

  it("adds a user with a one-time password shown once on that answer, never on a page after", async () => {
    const h = await startHarness();
    const t = await team(h);
    const res = await t.browsers.admin.post("/admin/users", { email: "dana@example.com", role: "admin" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const password = /<pre class="value" id="one-time-password">([A-Za-z0-9]{20})<\/pre>/.exec(res.text)![1]!;
    for (const path of ["/admin/users", "/audit", "/account", "/"])
      expect((await t.browsers.admin.get(path)).text).not.toContain(password);
    const list = await t.browsers.admin.get("/admin/users");
    expect(list.text).toMatch(/<tr data-name="dana@example.com">.*must change password/);
    // An admin offers no owner role, and an owner made by a form anyway is refused.
    expect(list.text).not.toMatch(/id="user-role">[^\n]*value="owner"/);
    expect(
      (await t.browsers.admin.post("/admin/users", { email: "o@example.com", role: "owner" })).status,
    ).toBe(403);
    expect((await t.browsers.admin.post("/admin/users", { email: "dana@example.com" })).status).toBe(409);
    expect((await t.browsers.admin.post("/admin/users", { email: "not an email" })).status).toBe(400);
  });

  it("resets a password (asked first without the script; a new one-time password once), disables, changes a role, with the API's rules", async () => {
    const h = await startHarness();
    const t = await team(h);
    const id = t.tokens.writer.id;
    const asked = await t.browsers.admin.post(`/admin/users/${id}/reset-password`, { ask: "yes" });
    expect(asked.status).toBe(200);
    expect(asked.text).toContain("Reset the password of writer@example.com?");
    expect((await h.request("GET", "/api/v1/me", { token: t.tokens.writer.token })).status).toBe(200);
    const reset = await t.browsers.admin.post(`/admin/users/${id}/reset-password`);
    const password = /<pre class="value" id="one-time-password">([A-Za-z0-9]{20})<\/pre>/.exec(
      reset.text,
    )![1]!;
    expect((await h.request("GET", "/api/v1/me", { token: t.tokens.writer.token })).status).toBe(401);
    expect((await t.browsers.admin.get("/admin/users")).text).not.toContain(password);
    const role = await t.browsers.admin.post(`/admin/users/${id}/role`, { role: "admin" });
    expect(location(role)).toBe("/admin/users?done=role-changed");
    expect((await h.appdb.users.byId(id))?.role).toBe("admin");
    expect((await t.browsers.admin.post(`/admin/users/${id}/role`, { role: "root" })).status).toBe(400);
    expect((await t.browsers.admin.post(`/admin/users/${id}/disable`, { ask: "yes" })).status).toBe(200);
    expect((await h.appdb.users.byId(id))?.disabledAt).toBeNull();
    expect(location(await t.browsers.admin.post(`/admin/users/${id}/disable`))).toBe(
      "/admin/users?done=user-disabled",
    );
    expect((await h.appdb.users.byId(id))?.disabledAt).not.toBeNull();
    // A disabled user's row offers Enable, which makes them active again.
    const disabledRow = new RegExp(
      `<tr data-name="[^"]*">(?:(?!</tr>).)*/admin/users/${id}/enable(?:(?!</tr>).)*</tr>`,
      "s",
    );
    expect(disabledRow.test((await t.browsers.admin.get("/admin/users")).text)).toBe(true);
    expect(location(await t.browsers.admin.post(`/admin/users/${id}/enable`))).toBe(
      "/admin/users?done=user-enabled",
    );
    expect((await h.appdb.users.byId(id))?.disabledAt).toBeNull();
    expect((await t.browsers.admin.post(`/admin/users/${id}/disable`)).status).toBe(303);
    // The rules are the service's: not one's own account, owners only by owners, the last owner kept.
    const self = t.tokens.admin.id;
    for (const path of [`/admin/users/${self}/disable`, `/admin/users/${self}/reset-password`])
      expect((await t.browsers.admin.post(path)).status).toBe(403);
    expect((await t.browsers.admin.post(`/admin/users/${self}/role`, { role: "member" })).status).toBe(403);
    const boss = await h.user("boss@example.com", "owner");
    expect((await t.browsers.admin.post(`/admin/users/${boss.id}/disable`)).status).toBe(403);
    const bossBrowser = await new WebBrowser(h).withSession(boss.token);
    expect((await bossBrowser.post(`/admin/users/${self}/role`, { role: "owner" })).status).toBe(303);
    const adminNowOwner = t.browsers.admin;
    expect((await adminNowOwner.post(`/admin/users/${boss.id}/role`, { role: "member" })).status).toBe(303);
    const last = await bossBrowser.post(`/admin/users/${self}/disable`);
    expect(last.status).toBe(403); // boss is a member now
    const page = await adminNowOwner.get("/admin/users");
    expect(page.text).toContain('<span class="badge">you</span>');
    // An admin is not offered what only an owner may do to an owner.
    const other = await h.user("other-owner@example.com", "owner");
    const asAdmin = await new WebBrowser(h).withSession(
      (await h.user("plain-admin@example.com", "admin")).token,
    );
    const ownerRow = /<tr data-name="other-owner@example.com">.*?<\/tr>/.exec(
      (await asAdmin.get("/admin/users")).text,
    )![0];
    expect(ownerRow).toContain("only an owner changes an owner");
    expect(ownerRow).not.toContain("<form");
    expect((await asAdmin.post(`/admin/users/${other.id}/reset-password`)).status).toBe(403);
  });

  it("refuses every users form without this browser's CSRF token, and escapes hostile emails", async () => {
    const h = await startHarness();
    const t = await team(h);
    const email = `<script>alert(1)</script>"onmouseover=x@x.io`;
    const hostile = await h.user(email);
    const id = t.tokens.writer.id;
    for (const [path, fields] of [
      ["/admin/users", { email: "new@example.com" }],
      [`/admin/users/${id}/disable`, {}],
      [`/admin/users/${id}/enable`, {}],
      [`/admin/users/${id}/reset-password`, {}],
      [`/admin/users/${id}/role`, { role: "admin" }],
    ] as const) {
      for (const csrf of ["", "forged"])
        expect((await t.browsers.admin.post(path, { ...fields, csrf })).status).toBe(403);
    }
    expect(await h.appdb.users.byEmail("new@example.com")).toBeUndefined();
    expect((await h.appdb.users.byId(id))?.role).toBe("member");
    for (const res of [
      await t.browsers.admin.get("/admin/users"),
      await t.browsers.admin.post(`/admin/users/${hostile.id}/disable`, { ask: "yes" }),
      await t.browsers.admin.post(`/admin/users/${hostile.id}/reset-password`),
    ]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain("<script>alert");
      expect(res.text).not.toContain('"onmouseover=');
      expect(res.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=x@x.io");
    }
  });
});

describe("secrets on pages", () => {
  it("no page holds a token, key or one-time password except the answer that made it and an explicit show", async () => {
    const h = await startHarness();
    const t = await team(h);
    const secrets: string[] = [];
    const token = await t.browsers.owner.post(`/p/${t.project.id}/tokens`, { name: "ci", env_ci: "yes" });
    secrets.push(/id="new-token">([^<]+)</.exec(token.text)![1]!);
    const invited = await t.browsers.admin.post(`/p/${t.project.id}/team/invite`, {
      email: "new@example.com",
      create: "yes",
    });
    secrets.push(/id="one-time-password">([^<]+)</.exec(invited.text)![1]!);
    const added = await t.browsers.admin.post("/admin/users", { email: "other@example.com" });
    secrets.push(/id="one-time-password">([^<]+)</.exec(added.text)![1]!);
    const reset = await t.browsers.admin.post(`/admin/users/${t.tokens.none.id}/reset-password`);
    secrets.push(/id="one-time-password">([^<]+)</.exec(reset.text)![1]!);
    await t.browsers.owner.post(`/p/${t.project.id}/keys/development/rotate`);
    const keys = await h.request("GET", `/api/v1/projects/${t.project.id}/keys`, {
      token: t.tokens.owner.token,
    });
    for (const k of keys.body.keys as { key: string }[]) secrets.push(k.key, k.key.slice(-64));
    const me = await h.request("POST", `/api/v1/projects/${t.project.id}/me`, {
      token: t.tokens.owner.token,
    });
    secrets.push(me.body.token);
    for (const u of Object.values(t.tokens)) secrets.push(u.token);
    const pages = [
      "/",
      `/p/${t.project.id}`,
      `/p/${t.project.id}/team`,
      `/p/${t.project.id}/tokens`,
      `/p/${t.project.id}/keys`,
      `/p/${t.project.id}/audit`,
      "/audit",
      "/account",
      "/admin/users",
      `/p/${t.project.id}/keys?done=key-rotated`,
    ];
    for (const role of ["owner", "admin", "writer", "reader"] as const) {
      for (const path of pages) {
        const res = await t.browsers[role].get(path);
        for (const secret of secrets)
          expect({ role, path, found: res.text.includes(secret) }).toEqual({ role, path, found: false });
      }
    }
  });
});
