/**
 * Single sign-on in process: a real OpenID provider on loopback (oidc-provider, see
 * test/helpers/oidc-provider.ts) and the app through `app.handle`, with a browser's cookie jar
 * (WebBrowser). The app's clock starts at the real time (the provider signs with it) and the
 * app's requests to the provider go through a fetch that a test may rewrite (a tampered answer).
 */
import { afterAll, expect } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OidcConfig } from "../../src/config";
import { createUserService } from "../../src/server";
import { startSession } from "../../src/server/modules/auth/service";
import {
  type ProviderOptions,
  type ProviderUser,
  startProvider,
  type TestProvider,
} from "../helpers/oidc-provider";
import { type Harness, PASSWORD, startHarness } from "./harness";
import { location, WebBrowser } from "./web-helpers";

export const CLIENT_ID = "vault-web";
export const SECRET = "client-secret-0f3e9a7c5b1d4e2f8a6c";
export const REDIRECT = "http://localhost:8750/signin/oidc/callback";
export const IDP_PASSWORD = "password at the provider";

const dirs: string[] = [];
const providers: TestProvider[] = [];
afterAll(async () => {
  for (const p of providers) await p.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export async function provider(users: ProviderUser[] = [], options: Partial<ProviderOptions> = {}) {
  const p = await startProvider({
    client: { client_id: CLIENT_ID, client_secret: SECRET, redirect_uris: [REDIRECT] },
    users,
    ...options,
  });
  providers.push(p);
  return p;
}

/** A provider's user with the test password. */
export const idpUser = (sub: string, email: string, extra: Partial<ProviderUser> = {}): ProviderUser => ({
  sub,
  email,
  password: IDP_PASSWORD,
  ...extra,
});

export interface Sso {
  h: Harness;
  idp: TestProvider;
  browser: WebBrowser;
  /** Rewrites the token endpoint's JSON answer (the ID token in it, say) while set. */
  tamper: { token?: (body: Record<string, unknown>) => Record<string, unknown> };
  /** A user made directly (no sign-in). */
  addUser(email: string, role?: "owner" | "admin" | "member"): Promise<string>;
  /** Events of an action, their details parsed. */
  events(
    action: string,
  ): Promise<{ actorId: string | null; actorLabel: string | null; detail: Record<string, unknown> }[]>;
  /** A session cookie's value if this browser holds one. */
  sessionOf(b: WebBrowser): string | undefined;
}

export async function sso(
  idp: TestProvider,
  options: {
    oidc?: Partial<OidcConfig>;
    passwordLogin?: boolean;
    secret?: string;
    issuer?: string;
  } = {},
): Promise<Sso> {
  const dir = mkdtempSync(join(tmpdir(), "vault-sso-"));
  dirs.push(dir);
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, `${options.secret ?? SECRET}\n`, { mode: 0o600 });
  const tamper: Sso["tamper"] = {};
  const outgoing: typeof fetch = Object.assign(
    async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname !== "/token" || !tamper.token || res.status !== 200) return res;
      const body = tamper.token((await res.json()) as Record<string, unknown>);
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    },
    { preconnect: fetch.preconnect },
  );
  const h = await startHarness({
    start: Date.now(),
    fetch: outgoing,
    config: {
      passwordLogin: options.passwordLogin,
      oidc: {
        issuer: options.issuer ?? idp.issuer,
        clientId: CLIENT_ID,
        clientSecretFile: secretFile,
        scopes: ["openid", "email", "profile", "groups"],
        name: "TestIdP",
        allowedDomains: [],
        roleClaim: undefined,
        adminValues: [],
        jit: false,
        redirectUrl: REDIRECT,
        ...options.oidc,
      },
    },
  });
  const users = createUserService({
    appdb: h.appdb,
    audit: h.ctx.audit,
    now: h.clock.now,
    random: h.ctx.random,
  });
  return {
    h,
    idp,
    browser: new WebBrowser(h),
    tamper,
    async addUser(email, role = "member") {
      const { user } = await users.add({ email, role, password: PASSWORD });
      return user.id;
    },
    async events(action) {
      await h.ctx.audit.flush();
      return (await h.appdb.audit.list({ action, limit: 1000 }))
        .reverse()
        .map((e) => ({ actorId: e.actorId, actorLabel: e.actorLabel, detail: JSON.parse(e.detail ?? "{}") }));
    },
    sessionOf: (b) => b.jar.get("vault_session"),
  };
}

/** Starts a sign-in at the app: the provider's authorization URL (and the 303 that named it). */
export async function begin(_s: Sso, b: WebBrowser, next = "/") {
  const res = await b.get(`/signin/oidc${next === "/" ? "" : `?next=${encodeURIComponent(next)}`}`);
  return { res, url: location(res) };
}

/** The provider's answer for a sign-in begun in `b`: the callback path and query, not yet followed. */
export async function atProvider(
  s: Sso,
  b: WebBrowser,
  login: string,
  options: { next?: string; password?: string; rewrite?: (url: URL) => void } = {},
) {
  const { url } = await begin(s, b, options.next);
  const authorization = new URL(url);
  options.rewrite?.(authorization);
  const back = new URL(await s.idp.login(authorization.href, login, options.password ?? IDP_PASSWORD));
  expect(back.origin + back.pathname).toBe(REDIRECT);
  return `${back.pathname}${back.search}`;
}

/** A whole sign-in in `b`: the callback's answer. */
export async function signInSso(s: Sso, b: WebBrowser, login: string, options: { next?: string } = {}) {
  const callback = await atProvider(s, b, login, options);
  return b.get(callback);
}

/** Signs a user in without a password (for --password-login off): a session as SSO would make. */
export async function sessionFor(s: Sso, userId: string): Promise<string> {
  const user = (await s.h.appdb.users.byId(userId))!;
  const { token } = await startSession(s.h.ctx, user, { method: "password", ip: null });
  return token;
}
