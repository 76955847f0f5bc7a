/**
 * Single sign-on, the flow and each refusal, against a real OpenID provider (oidc-provider on
 * loopback) with the app driven through `app.handle`: the code flow with PKCE S256, state and
 * nonce bound to the browser and single use, the ID token verified by the library (a tampered
 * or expired one refused), the provider down at start and back later, a wrong client secret,
 * key rotation. Every refusal is a page that says what to do, an `auth.login_failed` event with
 * its reason, and no session.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { DISCOVERY_RETRY_MS } from "../../src/server/modules/oidc/service";
import type { TestProvider } from "../helpers/oidc-provider";
import { freePort } from "../helpers/serve";
import {
  atProvider,
  begin,
  CLIENT_ID,
  IDP_PASSWORD,
  idpUser,
  provider,
  REDIRECT,
  type Sso,
  signInSso,
  sso,
} from "./oidc-fixture";
import { location, WebBrowser } from "./web-helpers";

let idp: TestProvider;
beforeAll(async () => {
  idp = await provider([
    idpUser("sub-alice", "alice@example.com", { name: "Alice" }),
    idpUser("sub-bob", "bob@example.com"),
    idpUser("sub-unverified", "una@example.com", { email_verified: false }),
    idpUser("sub-outside", "olga@elsewhere.org"),
    idpUser("sub-disabled", "dora@example.com"),
  ]);
});

/** What a refused sign-in must leave: its page, its event with this reason, and no session. */
async function expectRefused(
  s: Sso,
  b: WebBrowser,
  res: { status: number; text: string },
  reason: string,
  status: number,
  words: RegExp,
) {
  expect({ status: res.status, words: words.test(res.text) }).toEqual({ status, words: true });
  expect(res.text).toContain('href="/signin');
  expect(s.sessionOf(b)).toBeUndefined();
  const failed = await s.events("auth.login_failed");
  expect(failed.at(-1)?.detail).toMatchObject({ method: "oidc", reason });
  expect(await s.events("auth.login")).toEqual([]);
}

describe("signing in through the provider", () => {
  it("signs in through the provider's own login page and lands with a Strict session, via a page of this site", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    const b = s.browser;
    const signinPage = await b.get("/signin");
    expect(signinPage.text).toContain("Sign in with TestIdP");
    const { res: started, url } = await begin(s, b);
    const lax = started.headers.getSetCookie().find((c) => c.startsWith("vault_oidc_"))!;
    expect(lax).toContain("HttpOnly");
    expect(lax).toContain("SameSite=Lax");
    expect(lax).toContain("Path=/signin/oidc");
    const back = new URL(await s.idp.login(url, "alice@example.com", IDP_PASSWORD));
    const done = await b.get(back.pathname + back.search);
    expect(done.status).toBe(200);
    expect(done.text).toContain("Signed in as <strong>alice@example.com</strong>");
    // The provider's redirect is another site's navigation: a Strict cookie set there is sent only
    // on a navigation of our own, which this page makes (no script needed).
    expect(done.headers.get("refresh")).toBe("0; url=/");
    expect((await b.get("/")).text).toContain("alice@example.com");
    const cookies = done.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith("vault_session="))!;
    expect(session).toContain("SameSite=Strict");
    expect(session).toContain("HttpOnly");
    expect(cookies.some((c) => c.startsWith("vault_oidc_") && c.includes("Max-Age=0"))).toBe(true);
  });

  it("sends PKCE S256, a state and a nonce, and app.db keeps none of them (nor the verifier)", async () => {
    const s = await sso(idp);
    const { url } = await begin(s, s.browser);
    const params = new URL(url).searchParams;
    expect(params.get("response_type")).toBe("code");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("client_id")).toBe(CLIENT_ID);
    expect(params.get("redirect_uri")).toBe(REDIRECT);
    expect(params.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await s.h.appdb.database.client.execute("SELECT * FROM oidc_logins");
    expect(rows.rows.length).toBe(1);
    const stored = JSON.stringify(rows.rows);
    for (const value of [params.get("state")!, params.get("nonce")!, params.get("code_challenge")!])
      expect(stored.includes(value)).toBe(false);
    const cookie = s.browser.jar.get([...s.browser.jar.keys()].find((k) => k.startsWith("vault_oidc_"))!)!;
    expect(stored.includes(cookie)).toBe(false);
  });

  it("keeps `next` through the round trip: the hand-off approval page is reached after SSO", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    const id = `req_${"a".repeat(64)}`;
    const secret = createHash("sha256").update(id).digest("hex");
    const claim = await s.h.request("POST", "/api/v1/auth/cli-handoff", {
      body: { request: id, secret, code: "WDJBMJHT" },
    });
    expect(claim.status).toBe(202);
    const next = `/cli/approve?request=${id}`;
    const b = s.browser;
    // Signed out, the approval page sends the browser to sign in, with `next`.
    const approval = await b.get(next);
    expect(location(approval)).toBe(`/signin?next=${encodeURIComponent(next)}`);
    const signin = await b.get(location(approval));
    expect(signin.text).toContain(
      `href="/signin/oidc?next=${encodeURIComponent(next).replaceAll("&", "&amp;")}"`,
    );
    const done = await signInSso(s, b, "alice@example.com", { next });
    expect(done.headers.get("refresh")).toBe(`0; url=${next}`);
    const page = await b.get(next);
    expect(page.status).toBe(200);
    expect(page.text).toContain("Approve a vault CLI sign-in");
    expect(page.text).toContain("alice@example.com");
  });

  it("keeps both query parameters of dotenv-vault's login page through the round trip", async () => {
    const s = await sso(idp);
    const alice = await s.h.user("alice@example.com");
    const project = await s.h.request("POST", "/api/v1/projects", {
      token: alice.token,
      body: { name: "shop" },
    });
    const next = `/login?DOTENV_VAULT=${project.body.id}&requestUid=req_${"b".repeat(64)}`;
    const b = s.browser;
    expect(location(await b.get(next))).toBe(`/signin?next=${encodeURIComponent(next)}`);
    const done = await signInSso(s, b, "alice@example.com", { next });
    expect(done.headers.get("refresh")).toBe(`0; url=${next}`);
    const page = await b.get(next);
    expect(page.status).toBe(200);
    expect(page.text).toContain("Approve a CLI login");
  });

  it("makes a session like a password one: 12 hours, audited with the issuer, revoked by signing out", async () => {
    const s = await sso(idp);
    const id = await s.addUser("alice@example.com");
    const b = s.browser;
    await signInSso(s, b, "alice@example.com");
    const token = s.sessionOf(b)!;
    const me = await s.h.request("GET", "/api/v1/me", { token });
    expect(me.status).toBe(200);
    expect(me.body.expiresAt).toBe(s.h.clock.now() + 12 * 3_600_000);
    const logins = await s.events("auth.login");
    expect(logins).toEqual([
      {
        actorId: id,
        actorLabel: "alice@example.com",
        detail: { kind: "session", method: "oidc", issuer: idp.issuer },
      },
    ]);
    await b.get("/");
    expect((await b.post("/signout")).status).toBe(303);
    expect((await s.h.request("GET", "/api/v1/me", { token })).status).toBe(401);
  });

  it("finds the claims in the userinfo answer when the provider leaves them out of the ID token", async () => {
    const quiet = await provider([idpUser("sub-q", "quinn@example.com")], { claimsOnlyInUserinfo: true });
    const s = await sso(quiet);
    const id = await s.addUser("quinn@example.com");
    const done = await signInSso(s, s.browser, "quinn@example.com");
    expect(done.status).toBe(200);
    expect((await s.h.appdb.identities.bySubject(quiet.issuer, "sub-q"))?.userId).toBe(id);
  });

  it("still signs in after the provider rotates its signing key at once (and drops the old one)", async () => {
    const rotating = await provider([idpUser("sub-r", "rita@example.com")]);
    const s = await sso(rotating);
    await s.addUser("rita@example.com");
    expect((await signInSso(s, s.browser, "rita@example.com")).status).toBe(200);
    const before = rotating.jwksFetches();
    // The JWKS is cached between sign-ins...
    expect((await signInSso(s, new WebBrowser(s.h), "rita@example.com")).status).toBe(200);
    expect(rotating.jwksFetches()).toBe(before);
    const oldKid = rotating.kids()[0];
    const newKid = await rotating.rotate({ drop: true });
    expect(rotating.kids()).toEqual([newKid]);
    expect(newKid).not.toBe(oldKid);
    const again = await signInSso(s, new WebBrowser(s.h), "rita@example.com");
    expect(again.status).toBe(200);
    // ...and fetched again, at once, for a key it did not know.
    expect(rotating.jwksFetches()).toBeGreaterThan(before);
  });
});

describe("refusals: a page with what to do, an audit event, no session", () => {
  it("the provider is down at start: the server serves, the page says SSO is unavailable, and SSO works once it answers", async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const s = await sso(idp, { issuer });
    const b = s.browser;
    const page = await b.get("/signin");
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-testid="sso-unavailable"');
    expect(page.text).toContain("Sign-in with TestIdP is unavailable right now");
    expect((await s.h.request("GET", "/healthz")).status).toBe(200);
    const started = await b.get("/signin/oidc");
    await expectRefused(s, b, started, "unavailable", 503, /cannot reach TestIdP right now/);
    expect(s.h.logs.some((l) => l.includes("oidc: discovery failed"))).toBe(true);

    // The provider comes up on that address; after the retry interval the page finds it.
    const late = await provider([idpUser("sub-late", "alice@example.com")], { port });
    s.h.clock.advance(DISCOVERY_RETRY_MS);
    const found = await b.get("/signin");
    expect(found.text).not.toContain('data-testid="sso-unavailable"');
    await s.addUser("alice@example.com");
    expect((await signInSso({ ...s, idp: late }, b, "alice@example.com")).status).toBe(200);
  });

  it("a wrong client secret: the provider refuses the server's credentials", async () => {
    const s = await sso(idp, { secret: "not-the-registered-secret" });
    await s.addUser("alice@example.com");
    const res = await signInSso(s, s.browser, "alice@example.com");
    await expectRefused(s, s.browser, res, "client", 502, /TestIdP refused this server/);
    expect(res.text).toContain("--oidc-client-secret-file");
  });

  it("a tampered ID token (a claim changed, the signature kept) fails the signature check", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    await s.addUser("mallory@example.com", "admin");
    s.tamper.token = (body) => {
      const [header, payload, signature] = String(body.id_token).split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
      claims.email = "mallory@example.com";
      return {
        ...body,
        id_token: `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`,
      };
    };
    const res = await signInSso(s, s.browser, "alice@example.com");
    await expectRefused(s, s.browser, res, "token", 400, /could not be verified/);
  });

  it("an ID token whose signature was altered is refused", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    s.tamper.token = (body) => {
      const token = String(body.id_token);
      const flipped = token.slice(0, -2) + (token.at(-2) === "A" ? "B" : "A") + token.at(-1);
      return { ...body, id_token: flipped };
    };
    const res = await signInSso(s, s.browser, "alice@example.com");
    await expectRefused(s, s.browser, res, "token", 400, /could not be verified/);
  });

  it("an expired ID token is refused", async () => {
    const brief = await provider([idpUser("sub-e", "alice@example.com")], { idTokenTtl: 60 });
    const s = await sso(brief);
    await s.addUser("alice@example.com");
    const callback = await atProvider(s, s.browser, "alice@example.com");
    // Five minutes later (the sign-in itself is good for ten): the token lived one.
    s.h.clock.advance(5 * 60_000);
    const res = await s.browser.get(callback);
    await expectRefused(s, s.browser, res, "expired", 400, /has expired/);
  });

  it("a replayed state (the same callback twice) is refused the second time, with no second session", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    const b = s.browser;
    const callback = await atProvider(s, b, "alice@example.com");
    const first = await b.get(callback);
    expect(first.status).toBe(200);
    const firstSession = s.sessionOf(b);
    expect(firstSession).toMatch(/\S/);
    const again = new WebBrowser(s.h);
    again.jar = new Map([...b.jar].filter(([k]) => k !== "vault_session"));
    const second = await again.get(callback);
    expect(second.status).toBe(400);
    expect(second.text).toContain("used already");
    expect(again.jar.get("vault_session")).toBeUndefined();
    expect((await s.events("auth.login")).length).toBe(1);
    expect((await s.events("auth.login_failed")).at(-1)?.detail).toMatchObject({ reason: "state" });
  });

  it("a state this server never made is refused", async () => {
    const s = await sso(idp);
    const res = await s.browser.get(`/signin/oidc/callback?code=abc&state=${"x".repeat(43)}`);
    await expectRefused(
      s,
      s.browser,
      res,
      "state",
      400,
      /used already, has expired, or was not made by this server/,
    );
  });

  it("a callback completed in another browser (without the sign-in's cookie) is refused", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    const callback = await atProvider(s, s.browser, "alice@example.com");
    const victim = new WebBrowser(s.h);
    const res = await victim.get(callback);
    await expectRefused(s, victim, res, "browser", 400, /started in another browser/);
    // The attempt did not use the sign-in up: the browser that started it still finishes it.
    expect((await s.browser.get(callback)).status).toBe(200);
  });

  it("a mismatched nonce (the authorization link changed on the way) is refused", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    const callback = await atProvider(s, s.browser, "alice@example.com", {
      rewrite: (url) => url.searchParams.set("nonce", "n".repeat(43)),
    });
    const res = await s.browser.get(callback);
    await expectRefused(s, s.browser, res, "nonce", 400, /nonce differs/);
  });

  it("the provider's own refusal (access_denied) is a page, without echoing its text", async () => {
    const s = await sso(idp);
    const { url } = await begin(s, s.browser);
    const state = new URL(url).searchParams.get("state")!;
    const res = await s.browser.get(
      `/signin/oidc/callback?error=access_denied&error_description=${encodeURIComponent("<b>evil</b>")}&state=${state}&iss=${encodeURIComponent(idp.issuer)}`,
    );
    await expectRefused(s, s.browser, res, "provider", 403, /access was denied/);
    expect(res.text).not.toContain("evil");
  });

  it("an email outside the allowed domains is refused", async () => {
    const s = await sso(idp, { oidc: { allowedDomains: ["example.com"] } });
    await s.addUser("olga@elsewhere.org");
    const res = await signInSso(s, s.browser, "olga@elsewhere.org");
    await expectRefused(s, s.browser, res, "domain", 403, /open only to addresses at example\.com/);
  });

  it("an email the provider does not call verified is refused", async () => {
    const s = await sso(idp);
    await s.addUser("una@example.com");
    const res = await signInSso(s, s.browser, "una@example.com");
    await expectRefused(
      s,
      s.browser,
      res,
      "email_unverified",
      403,
      /does not say that your email address una@example\.com is verified/,
    );
    expect(await s.h.appdb.identities.bySubject(idp.issuer, "sub-unverified")).toBeUndefined();
  });

  it("a disabled user cannot sign in through the provider", async () => {
    const s = await sso(idp);
    await s.addUser("dora@example.com");
    const users = (await import("../../src/server")).createUserService({
      appdb: s.h.appdb,
      audit: s.h.ctx.audit,
      now: s.h.clock.now,
      random: s.h.ctx.random,
    });
    await users.disable("dora@example.com");
    const res = await signInSso(s, s.browser, "dora@example.com");
    await expectRefused(s, s.browser, res, "disabled", 403, /account is disabled/);
  });

  it("an unknown email with just-in-time creation off: no account, none made", async () => {
    const s = await sso(idp);
    const res = await signInSso(s, s.browser, "alice@example.com");
    await expectRefused(
      s,
      s.browser,
      res,
      "no_account",
      403,
      /There is no vault account for alice@example\.com/,
    );
    expect(await s.h.appdb.users.byEmail("alice@example.com")).toBeUndefined();
  });

  it("starting sign-ins shares the sign-in limit per address: a page with Retry-After, not JSON", async () => {
    const s = await sso(idp);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await s.browser.get("/signin/oidc")).status);
    expect(statuses).toEqual(Array(10).fill(303));
    const limited = await s.browser.get("/signin/oidc");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toContain("text/html");
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(limited.text).toContain("Sign-in did not work");
  });

  it("a sign-in left at the provider longer than ten minutes is refused", async () => {
    const s = await sso(idp);
    await s.addUser("alice@example.com");
    const callback = await atProvider(s, s.browser, "alice@example.com");
    s.h.clock.advance(10 * 60_000 + 1);
    const res = await s.browser.get(callback);
    await expectRefused(s, s.browser, res, "state", 400, /has expired/);
  });
});
