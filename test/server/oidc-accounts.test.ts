/**
 * Who a sign-in through the provider is: matched by issuer and subject, never by email once
 * linked; the first sign-in links by verified email or (with --oidc-jit on, in an allowed
 * domain) creates the user; the role claim sets the instance role at each sign-in; and
 * --password-login off leaves single sign-on the only way in (break-glass: the operator on the
 * host). A real provider (oidc-provider) on loopback.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { claimValues, domainAllowed, emailVerified, mappedRole } from "../../src/server/modules/oidc/service";
import { csrfFor } from "../../src/server/modules/web/session";
import type { TestProvider } from "../helpers/oidc-provider";
import { PASSWORD } from "./harness";
import { idpUser, provider, sessionFor, signInSso, sso } from "./oidc-fixture";
import { WebBrowser } from "./web-helpers";

let idp: TestProvider;
beforeAll(async () => {
  idp = await provider([]);
});

/** A provider user for one test (subjects and emails unique to it). */
function person(sub: string, email: string, extra: Parameters<typeof idpUser>[2] = {}) {
  const user = idpUser(sub, email, extra);
  idp.users.set(email, user);
  return user;
}

describe("linking identities", () => {
  it("links the first sign-in to the user with that verified email, and keeps the link when the email changes at the provider", async () => {
    const s = await sso(idp);
    const id = await s.addUser("carol@example.com");
    const carol = person("sub-carol", "carol@example.com");
    expect((await signInSso(s, s.browser, "carol@example.com")).status).toBe(200);
    expect(await s.h.appdb.identities.bySubject(idp.issuer, "sub-carol")).toMatchObject({
      userId: id,
      email: "carol@example.com",
    });
    expect((await s.events("auth.identity_linked")).map((e) => e.actorId)).toEqual([id]);

    // The provider changes her address: the subject still finds the same vault user.
    idp.users.delete("carol@example.com");
    idp.users.set("carol.new@example.com", { ...carol, email: "carol.new@example.com" });
    const b = new WebBrowser(s.h);
    expect((await signInSso(s, b, "carol.new@example.com")).status).toBe(200);
    const me = await s.h.request("GET", "/api/v1/me", { token: s.sessionOf(b)! });
    expect(me.body.user).toMatchObject({ id, email: "carol@example.com" });
    expect((await s.h.appdb.identities.bySubject(idp.issuer, "sub-carol"))?.email).toBe(
      "carol.new@example.com",
    );
  });

  it("a different subject with the same email does not take over a linked user", async () => {
    const s = await sso(idp);
    const id = await s.addUser("dan@example.com");
    person("sub-dan", "dan@example.com");
    expect((await signInSso(s, s.browser, "dan@example.com")).status).toBe(200);
    // Someone else now holds that address at the provider (a reused or recreated account).
    person("sub-impostor", "dan@example.com");
    const b = new WebBrowser(s.h);
    const res = await signInSso(s, b, "dan@example.com");
    expect(res.status).toBe(403);
    expect(res.text).toContain("is linked to another TestIdP identity");
    expect(s.sessionOf(b)).toBeUndefined();
    expect((await s.events("auth.login_failed")).at(-1)?.detail).toMatchObject({
      method: "oidc",
      reason: "linked_elsewhere",
      subject: "sub-impostor",
    });
    expect(await s.h.appdb.identities.bySubject(idp.issuer, "sub-impostor")).toBeUndefined();
    expect((await s.h.appdb.identities.ofUser(idp.issuer, id))?.subject).toBe("sub-dan");
  });

  it("a linked subject signs in to its user even when another user now has the email it shows", async () => {
    const s = await sso(idp);
    const erin = await s.addUser("erin@example.com");
    await s.addUser("erin.other@example.com");
    const sub = person("sub-erin", "erin@example.com");
    expect((await signInSso(s, s.browser, "erin@example.com")).status).toBe(200);
    idp.users.delete("erin@example.com");
    idp.users.set("erin.other@example.com", { ...sub, email: "erin.other@example.com" });
    const b = new WebBrowser(s.h);
    expect((await signInSso(s, b, "erin.other@example.com")).status).toBe(200);
    const me = await s.h.request("GET", "/api/v1/me", { token: s.sessionOf(b)! });
    expect(me.body.user.id).toBe(erin);
  });

  it("voids an unused one-time password at the first SSO sign-in, instead of sending the user to change it", async () => {
    const s = await sso(idp);
    const users = (await import("../../src/server")).createUserService({
      appdb: s.h.appdb,
      audit: s.h.ctx.audit,
      now: s.h.clock.now,
      random: s.h.ctx.random,
    });
    const { user, oneTimePassword } = await users.add({ email: "otto@example.com", role: "member" });
    person("sub-otto", "otto@example.com");
    expect((await signInSso(s, s.browser, "otto@example.com")).status).toBe(200);
    expect((await s.browser.get("/")).status).toBe(200);
    const after = (await s.h.appdb.users.byId(user.id))!;
    expect(after.mustChangePassword).toBe(false);
    const login = await s.h.request("POST", "/api/v1/auth/login", {
      body: { email: "otto@example.com", password: oneTimePassword },
    });
    expect(login.status).toBe(401);
  });
});

describe("just-in-time creation", () => {
  it("off (the default): an unknown email gets no account", async () => {
    const s = await sso(idp, { oidc: { allowedDomains: ["example.com"] } });
    person("sub-fay", "fay@example.com");
    expect((await signInSso(s, s.browser, "fay@example.com")).status).toBe(403);
    expect(await s.h.appdb.users.byEmail("fay@example.com")).toBeUndefined();
  });

  it("on: the first sign-in in an allowed domain creates a member, linked, with no usable password", async () => {
    const s = await sso(idp, { oidc: { jit: true, allowedDomains: ["example.com"] } });
    person("sub-gus", "gus@example.com");
    expect((await signInSso(s, s.browser, "gus@example.com")).status).toBe(200);
    const gus = (await s.h.appdb.users.byEmail("gus@example.com"))!;
    expect(gus).toMatchObject({ role: "member", mustChangePassword: false, disabledAt: null });
    expect((await s.h.appdb.identities.bySubject(idp.issuer, "sub-gus"))?.userId).toBe(gus.id);
    expect((await s.events("user.add")).at(-1)?.detail).toMatchObject({
      email: "gus@example.com",
      by: "oidc",
    });
    const login = await s.h.request("POST", "/api/v1/auth/login", {
      body: { email: "gus@example.com", password: PASSWORD },
    });
    expect(login.status).toBe(401);
    // The next sign-in finds the same user.
    expect((await signInSso(s, new WebBrowser(s.h), "gus@example.com")).status).toBe(200);
    expect((await s.h.appdb.users.list()).filter((u) => u.email === "gus@example.com").length).toBe(1);
  });

  it("on: an email outside the allowed domains creates nobody", async () => {
    const s = await sso(idp, { oidc: { jit: true, allowedDomains: ["example.com"] } });
    person("sub-hal", "hal@example.net");
    const res = await signInSso(s, s.browser, "hal@example.net");
    expect(res.status).toBe(403);
    expect(res.text).toContain("open only to addresses at example.com");
    expect(await s.h.appdb.users.byEmail("hal@example.net")).toBeUndefined();
  });
});

describe("the role mapping", () => {
  const mapping = { roleClaim: "groups", adminValues: ["vault-admins"] };

  it("maps a claim's values to the instance role; an owner stays owner; no claim configured leaves roles alone", () => {
    expect(mappedRole(mapping, { groups: ["dev", "vault-admins"] }, "member")).toBe("admin");
    expect(mappedRole(mapping, { groups: "vault-admins" }, "member")).toBe("admin");
    expect(mappedRole(mapping, { groups: ["dev"] }, "admin")).toBe("member");
    expect(mappedRole(mapping, {}, "admin")).toBe("member");
    expect(mappedRole(mapping, { groups: [] }, "owner")).toBe("owner");
    expect(
      mappedRole({ roleClaim: undefined, adminValues: [] }, { groups: ["vault-admins"] }, "member"),
    ).toBe("member");
    expect(mappedRole({ roleClaim: undefined, adminValues: [] }, {}, "admin")).toBe("admin");
  });

  it("reads a dotted path (Keycloak's realm_access.roles) and a claim whose name holds dots or slashes", () => {
    const claims = { realm_access: { roles: ["a", "vault-admin"] }, "https://example.com/roles": ["x"] };
    expect(claimValues(claims, "realm_access.roles")).toEqual(["a", "vault-admin"]);
    expect(claimValues(claims, "https://example.com/roles")).toEqual(["x"]);
    expect(claimValues(claims, "missing.path")).toEqual([]);
    expect(claimValues({ groups: [1, "g", null] }, "groups")).toEqual(["g"]);
  });

  it("checks email_verified (or Entra's xms_edov when it is absent) and the domain strictly", () => {
    expect(emailVerified({ email_verified: true })).toBe(true);
    expect(emailVerified({ email_verified: "true" })).toBe(true);
    expect(emailVerified({ email_verified: false })).toBe(false);
    expect(emailVerified({ email_verified: "yes" })).toBe(false);
    expect(emailVerified({})).toBe(false);
    // Entra ID's own claim, only when email_verified is absent.
    expect(emailVerified({ xms_edov: true })).toBe(true);
    expect(emailVerified({ xms_edov: false })).toBe(false);
    expect(emailVerified({ email_verified: false, xms_edov: true })).toBe(false);
    expect(domainAllowed({ allowedDomains: ["example.com"] }, "a@example.com")).toBe(true);
    expect(domainAllowed({ allowedDomains: ["example.com"] }, "a@sub.example.com")).toBe(false);
    expect(domainAllowed({ allowedDomains: ["example.com"] }, "a@example.com.evil.org")).toBe(false);
    expect(domainAllowed({ allowedDomains: [] }, "a@anything.org")).toBe(true);
  });

  it("makes an admin at sign-in while the claim maps, and demotes them at the sign-in after it no longer does", async () => {
    const s = await sso(idp, { oidc: mapping });
    const id = await s.addUser("ivy@example.com");
    const ivy = person("sub-ivy", "ivy@example.com", { groups: ["dev", "vault-admins"] });
    expect((await signInSso(s, s.browser, "ivy@example.com")).status).toBe(200);
    expect((await s.h.appdb.users.byId(id))?.role).toBe("admin");
    const promoted = await s.h.request("GET", "/api/v1/me", { token: s.sessionOf(s.browser)! });
    expect(promoted.body.user.role).toBe("admin");

    idp.users.set("ivy@example.com", { ...ivy, groups: ["dev"] });
    expect((await signInSso(s, new WebBrowser(s.h), "ivy@example.com")).status).toBe(200);
    expect((await s.h.appdb.users.byId(id))?.role).toBe("member");
    const change = { email: "ivy@example.com", userId: id, by: "oidc", claim: "groups" };
    expect((await s.events("user.role")).map((e) => e.detail)).toEqual([
      { ...change, role: "admin", previous: "member" },
      { ...change, role: "member", previous: "admin" },
    ]);
  });

  it("never changes an owner, whatever the claim says", async () => {
    const s = await sso(idp, { oidc: mapping });
    const id = await s.addUser("olive@example.com", "owner");
    person("sub-olive", "olive@example.com", { groups: [] });
    expect((await signInSso(s, s.browser, "olive@example.com")).status).toBe(200);
    expect((await s.h.appdb.users.byId(id))?.role).toBe("owner");
  });

  it("without a role claim configured, an admin stays admin", async () => {
    const s = await sso(idp);
    const id = await s.addUser("pat@example.com", "admin");
    person("sub-pat", "pat@example.com", { groups: [] });
    expect((await signInSso(s, s.browser, "pat@example.com")).status).toBe(200);
    expect((await s.h.appdb.users.byId(id))?.role).toBe("admin");
  });

  it("with JIT on, a new user whose claim maps is created as admin", async () => {
    const s = await sso(idp, { oidc: { ...mapping, jit: true, allowedDomains: ["example.com"] } });
    person("sub-quin", "quin@example.com", { groups: ["vault-admins"] });
    expect((await signInSso(s, s.browser, "quin@example.com")).status).toBe(200);
    expect((await s.h.appdb.users.byEmail("quin@example.com"))?.role).toBe("admin");
  });
});

describe("--password-login off", () => {
  it("refuses the API's password sign-in with a clear error, without checking the password", async () => {
    const s = await sso(idp, { passwordLogin: false });
    await s.addUser("ray@example.com");
    for (const password of [PASSWORD, "wrong"]) {
      const res = await s.h.request("POST", "/api/v1/auth/login", {
        body: { email: "ray@example.com", password },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(
        "password sign-in is turned off on this server: only single sign-on signs in",
      );
      expect(res.body.error.hint).toContain("vault login --browser");
    }
    const failed = await s.events("auth.login_failed");
    expect(failed.map((e) => e.detail)).toEqual([
      { method: "password", reason: "password login off" },
      { method: "password", reason: "password login off" },
    ]);
    // Not a wrong password: nothing counted toward the lockout.
    expect((await s.h.appdb.users.byEmail("ray@example.com"))?.failedLogins).toBe(0);
  });

  it("shows only the SSO button on the sign-in page, refuses a posted password, and signs in through SSO", async () => {
    const s = await sso(idp, { passwordLogin: false });
    await s.addUser("sam@example.com");
    person("sub-sam", "sam@example.com");
    const b = s.browser;
    const page = await b.get("/signin");
    expect(page.text).toContain("Sign in with TestIdP");
    expect(page.text).not.toContain('name="password"');
    expect(page.text).toContain("Password sign-in is turned off on this server");
    // A form posted anyway (with a good CSRF token for this browser) is refused for what it is.
    const csrf = csrfFor(
      s.h.ctx,
      new Request("http://localhost/", { headers: { cookie: `vault_csrf=${b.jar.get("vault_csrf")}` } }),
      s.h.ctx.random,
    ).token;
    const posted = await b.post("/signin", { csrf, email: "sam@example.com", password: PASSWORD, next: "/" });
    expect(posted.status).toBe(403);
    expect(posted.text).toContain("password sign-in is turned off on this server");
    expect(b.jar.get("vault_session")).toBeUndefined();
    expect((await signInSso(s, b, "sam@example.com")).status).toBe(200);
    expect((await b.get("/")).text).toContain("sam@example.com");
  });

  it("keeps sessions made on the host (break-glass) and from SSO working", async () => {
    const s = await sso(idp, { passwordLogin: false });
    const owner = await s.addUser("root@example.com", "owner");
    const token = await sessionFor(s, owner);
    expect((await s.h.request("GET", "/api/v1/me", { token })).status).toBe(200);
    const made = await s.h.request("POST", "/api/v1/projects", { token, body: { name: "still-works" } });
    expect(made.status).toBe(201);
  });
});

describe("the sign-in page", () => {
  it("escapes the provider's name", async () => {
    const s = await sso(idp, { oidc: { name: '<img src=x onerror="alert(1)">' } });
    const page = await s.browser.get("/signin");
    expect(page.text).toContain("Sign in with &lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(page.text).not.toContain("<img src=x");
  });

  it("has no SSO button when single sign-on is not configured, and /signin/oidc does not exist", async () => {
    const { startHarness } = await import("./harness");
    const h = await startHarness();
    const b = new WebBrowser(h);
    expect((await b.get("/signin")).text).not.toContain("Sign in with");
    expect((await b.get("/signin/oidc")).status).toBe(404);
  });
});
