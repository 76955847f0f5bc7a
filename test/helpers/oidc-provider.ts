/**
 * A real OpenID provider for the tests: the npm `oidc-provider` package (a
 * certified implementation) on a loopback port, with its own users and
 * passwords, its own login page, RSA signing keys it can rotate, and one
 * confidential client (PKCE required). Consent is given as part of the
 * login (a first-party client), so a sign-in is: authorization request,
 * the provider's login form, and the redirect back with a code.
 *
 * `login()` walks that path with fetch (for the route tests, which drive the
 * app through `app.handle`); the end-to-end tests let Chromium do it.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Provider } from "oidc-provider";

export interface ProviderUser {
  sub: string;
  email: string;
  email_verified?: boolean;
  password: string;
  name?: string;
  groups?: string[];
}

export interface ProviderClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface ProviderOptions {
  client: ProviderClient;
  users: ProviderUser[];
  /** Seconds an ID token lives (default 300). */
  idTokenTtl?: number;
  /** Claims only through userinfo, as oidc-provider does by default (default: in the ID token too). */
  claimsOnlyInUserinfo?: boolean;
  /** Listen on this port (default: a free one). */
  port?: number;
  /**
   * The loopback address to listen on and name in the issuer (default 127.0.0.1). A browser test
   * gives the provider another one (127.0.0.2) than the app's, so that it is another site, as a
   * real provider is: addresses are sites of their own, whatever the port.
   */
  host?: string;
}

export interface TestProvider {
  issuer: string;
  port: number;
  /** The provider's users by login (the email), changeable between sign-ins. */
  users: Map<string, ProviderUser>;
  /** Key ids, the signing key first. */
  kids(): string[];
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  /** A new signing key, at once; the old ones stay published unless `drop`. */
  rotate(options?: { drop?: boolean }): Promise<string>;
  /**
   * Follows an authorization URL as a browser would, through the provider's own login form
   * (with this login and password); returns where the provider sends the browser back.
   */
  login(authorizationUrl: string, login: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

interface SigningKey {
  kid: string;
  jwk: Record<string, unknown>;
}

function newKey(): SigningKey {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = `k-${randomBytes(6).toString("hex")}`;
  return { kid, jwk: { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid: string, error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP: sign in</title></head>
<body><h1>Test IdP</h1>${error ? `<p id="idp-error">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">Login</label><input id="login" name="login" autocomplete="username">
<label for="idp-password">Password</label><input id="idp-password" type="password" name="password">
<button type="submit" id="idp-submit">Sign in at the IdP</button>
</form></body></html>`;
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export async function startProvider(options: ProviderOptions): Promise<TestProvider> {
  const users = new Map(options.users.map((u) => [u.email, u]));
  const bySub = () => new Map([...users.values()].map((u) => [u.sub, u]));
  let keys: SigningKey[] = [newKey()];
  let fetches = 0;
  let server: Server | undefined;
  let provider: Provider;
  let port = options.port ?? 0;
  const host = options.host ?? "127.0.0.1";
  let issuer = "";
  const cookieKeys = [randomBytes(32).toString("hex")];

  const build = () =>
    new Provider(issuer, {
      clients: [
        {
          ...options.client,
          grant_types: ["authorization_code"],
          response_types: ["code"],
          token_endpoint_auth_method: "client_secret_basic",
        },
      ],
      jwks: { keys: keys.map((k) => k.jwk) },
      cookies: { keys: cookieKeys },
      features: { devInteractions: { enabled: false } },
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      pkce: { required: () => true },
      scopes: ["openid", "email", "profile", "groups"],
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
      conformIdTokenClaims: options.claimsOnlyInUserinfo === true,
      ttl: {
        IdToken: options.idTokenTtl ?? 300,
        AccessToken: 600,
        AuthorizationCode: 60,
        Interaction: 600,
        Session: 600,
        Grant: 600,
      },
      async findAccount(_ctx: unknown, sub: string) {
        const user = bySub().get(sub);
        if (!user) return undefined;
        return {
          accountId: sub,
          async claims() {
            return {
              sub,
              email: user.email,
              email_verified: user.email_verified ?? true,
              name: user.name ?? user.email,
              ...(user.groups ? { groups: user.groups } : {}),
            };
          },
        };
      },
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", issuer);
    if (url.pathname === "/jwks") fetches++;
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(url.pathname);
    if (!m) return provider.callback()(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (!m[2] || req.method !== "POST") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return res.end(loginPage(details.uid));
      }
      const form = await formBody(req);
      const user = users.get(form.get("login") ?? "");
      if (!user || user.password !== form.get("password")) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return res.end(loginPage(details.uid, "Wrong login or password."));
      }
      const grant = new provider.Grant({ accountId: user.sub, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope ?? "openid"));
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.sub }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`interaction failed: ${(error as Error).message}`);
    }
  };

  const listen = async () => {
    const s = createServer((req, res) => {
      void handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, host, () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const close = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  // The issuer names the port, so the port is known before the provider is made.
  if (port === 0) {
    await listen();
    await close();
  }
  issuer = `http://${host}:${port}`;
  provider = build();
  await listen();

  const jar = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
      },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair!.indexOf("=");
      const [k, v] = [pair!.slice(0, eq), pair!.slice(eq + 1)];
      if (v && !/max-age=0|expires=thu, 01 jan 1970/i.test(c)) jar.set(k, v);
      else jar.delete(k);
    }
    return res;
  };

  return {
    get issuer() {
      return issuer;
    },
    get port() {
      return port;
    },
    users,
    kids: () => keys.map((k) => k.kid),
    jwksFetches: () => fetches,
    async rotate(rotation = {}) {
      const next = newKey();
      keys = rotation.drop ? [next] : [next, ...keys];
      await close();
      provider = build();
      await listen();
      return next.kid;
    },
    async login(authorizationUrl, login, password) {
      jar.clear();
      let res = await send(authorizationUrl);
      let location = res.headers.get("location");
      if (res.status !== 303 && res.status !== 302)
        throw new Error(`authorization answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      // The login form
      const interaction = new URL(location!, issuer);
      res = await send(interaction.href);
      const page = await res.text();
      if (!page.includes('id="idp-submit"'))
        throw new Error(`no login form at ${interaction.pathname}: ${page}`);
      res = await send(`${interaction.href}/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ login, password }).toString(),
      });
      location = res.headers.get("location");
      if (!location) throw new Error(`the login form answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      // Back to the authorization endpoint, which sends the browser to the client.
      for (let hop = 0; hop < 5; hop++) {
        const target = new URL(location, issuer);
        if (target.origin !== issuer) return target.href;
        res = await send(target.href);
        const to = res.headers.get("location");
        await res.arrayBuffer();
        if (!to) throw new Error(`${target.pathname} answered ${res.status} without a redirect`);
        location = to;
      }
      throw new Error("too many redirects at the provider");
    },
    stop: close,
  };
}
