/**
 * Single sign-on through one OpenID Connect provider (`--oidc-*`), as a
 * relying party built on openid-client: discovery, the authorization code
 * flow with PKCE (S256), and every check of the answer (the ID token's
 * signature against the issuer's JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`,
 * `azp`; the `iss` and `state` of the authorization response) are the
 * library's. This module decides only who that person is here.
 *
 * A sign-in in flight (`oidc_logins`, single use, ten minutes): the browser
 * holds a random secret in a cookie (HttpOnly, SameSite=Lax: it must come
 * back on the provider's redirect, which SameSite=Strict cookies do not) whose
 * name is derived from the `state`; the PKCE verifier and the nonce are
 * derived from that secret, so app.db holds only keyed digests of the state
 * and the secret, and a callback completes only in the browser that started
 * it, and only once.
 *
 * Keys: the provider's JWKS is cached by the library and refetched when an
 * ID token names a key it does not hold. The library refetches for an
 * unknown key only when its copy is at least a minute old; a provider that
 * signs with a new key at once (Dex, Keycloak) would fail every sign-in for
 * that minute, so each sign-in hands the library its copy as at least a
 * minute old (it is still refetched after five minutes, as the library does).
 *
 * Accounts: a user is found by (issuer, subject). A first sign-in links to the
 * user with that email (verified by the provider), unless that user is linked
 * to another subject of this issuer; with `--oidc-jit on` it creates one. The
 * role claim, when configured, sets the instance role at every sign-in
 * (admin or member; an owner stays owner). Failures are audited
 * (`auth.login_failed` with `{method: "oidc", issuer, reason}`) and never
 * make a session.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import * as client from "openid-client";
import { type AppDb, newId, type OidcLogin, type Random, type Role, type User } from "../../../appdb";
import { ConfigError, isLoopback, type OidcConfig, readClientSecret } from "../../../config";
import { hkdf32 } from "../../../db";
import type { Logger } from "../../../log";
import type { AuditLog } from "../../audit-log";
import { limitAddress } from "../../http";
import { LOGIN_LIMIT, type RateLimiter } from "../../rate-limit";
import { type LoginResult, startSession } from "../auth/service";
import { EMAIL } from "../users/service";

/** How long a sign-in may stay at the provider. */
export const LOGIN_TTL_MS = 10 * 60_000;
/** Rows of ended sign-ins are removed this long after they expired (a replay is refused either way). */
const PURGE_AFTER_MS = 24 * 3_600_000;
/** After a failed discovery, a page or a sign-in tries again once this much time has passed. */
export const DISCOVERY_RETRY_MS = 5_000;
/** Background retries after a failed discovery at start (then every minute). */
const BACKGROUND_RETRY_MS = [5_000, 10_000, 30_000, 60_000];
/** Seconds the library waits for the provider at each request. */
const PROVIDER_TIMEOUT_S = 10;

export const CALLBACK_PATH = "/signin/oidc/callback";
const COOKIE_PREFIX = "vault_oidc_";
const STATE = /^[A-Za-z0-9_-]{43}$/;

/** Why a sign-in through the provider was refused: the audit event's `reason`. */
export type OidcReason =
  | "unavailable"
  | "client"
  | "state"
  | "browser"
  | "provider"
  | "grant"
  | "token"
  | "expired"
  | "nonce"
  | "no_email"
  | "email_unverified"
  | "domain"
  | "no_account"
  | "linked_elsewhere"
  | "disabled";

/** A refused sign-in: what the page says (fixed sentences, with the provider's name) and its status. */
export class OidcError extends Error {
  /** The page the sign-in was for, once known (the page offers to start again towards it). */
  next?: string;
  constructor(
    readonly reason: OidcReason,
    message: string,
    readonly hint: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "OidcError";
  }
}

export type Claims = Record<string, unknown>;

/** The values of a claim as strings: a name, or a dotted path into nested objects (realm_access.roles). */
export function claimValues(claims: Claims, name: string): string[] {
  let value: unknown = claims[name];
  if (value === undefined && name.includes(".")) {
    value = name.split(".").reduce<unknown>((at, part) => {
      return at !== null && typeof at === "object" && !Array.isArray(at)
        ? (at as Record<string, unknown>)[part]
        : undefined;
    }, claims);
  }
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/**
 * The instance role a sign-in gives: an owner stays owner (the break-glass account is never
 * changed by the provider); without a role claim configured, roles are vault's own (unchanged);
 * with one, a user holding an admin value is admin and anyone else member, including an admin
 * whose claim no longer maps (or is missing): demoted at that sign-in.
 */
export function mappedRole(
  config: Pick<OidcConfig, "roleClaim" | "adminValues">,
  claims: Claims,
  current: Role,
): Role {
  if (current === "owner" || config.roleClaim === undefined) return current;
  const values = claimValues(claims, config.roleClaim);
  return values.some((v) => config.adminValues.includes(v)) ? "admin" : "member";
}

const yes = (value: unknown) => value === true || value === "true";

/**
 * Whether the provider says the email is verified: `email_verified` (a boolean, or the string
 * "true" some send). Entra ID never sends that claim; its own is `xms_edov` (the email's domain
 * owner verified it), read only when `email_verified` is absent, so an explicit false stays false.
 */
export const emailVerified = (claims: Claims) =>
  claims.email_verified === undefined ? yes(claims.xms_edov) : yes(claims.email_verified);

export function domainAllowed(config: Pick<OidcConfig, "allowedDomains">, email: string): boolean {
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return config.allowedDomains.length === 0 || config.allowedDomains.includes(domain);
}

export interface OidcStatus {
  /** The provider's metadata is known: sign-in can start. */
  ready: boolean;
  /** The last discovery failed (and none has succeeded since). */
  failed: boolean;
}

export interface OidcDeps {
  config: OidcConfig;
  appdb: AppDb;
  audit: AuditLog;
  limiter: RateLimiter;
  log: Logger;
  now: () => number;
  random: Random;
  /** Requests to the provider (tests wrap it). */
  fetch?: typeof fetch;
}

export type OidcService = ReturnType<typeof createOidcService>;

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

export function createOidcService(deps: OidcDeps) {
  const { config, appdb, now } = deps;
  const key = hkdf32(appdb.sealKey, "vault/v1/oidc");
  const mac = (label: string, value: string) =>
    createHmac("sha256", key).update(`${label}|${value}`).digest("base64url");
  const issuerUrl = new URL(config.issuer);
  const insecure = issuerUrl.protocol === "http:" && isLoopback(issuerUrl.hostname.replace(/^\[|\]$/g, ""));
  const outgoing = deps.fetch ?? fetch;
  const name = config.name;

  let metadata: client.ServerMetadata | undefined;
  let failure: { at: number; count: number } | undefined;
  let inflight: Promise<client.ServerMetadata> | undefined;
  let jwks: client.ExportedJWKSCache | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const refuse = (reason: OidcReason, message: string, hint: string, status: number) =>
    new OidcError(reason, message, hint, status);
  const unavailable = () =>
    refuse(
      "unavailable",
      `Sign-in with ${name} is unavailable: this server cannot reach ${name} right now.`,
      `Try again in a minute. If it keeps failing, tell the operator: the server's log says why (check --oidc-issuer and the network to ${issuerUrl.host}).`,
      503,
    );

  /** Discovery (one attempt at a time); the metadata, or the failure logged and thrown. */
  function discover(): Promise<client.ServerMetadata> {
    if (metadata) return Promise.resolve(metadata);
    inflight ??= (async () => {
      try {
        const found = await client.discovery(issuerUrl, config.clientId, undefined, undefined, {
          execute: insecure ? [client.allowInsecureRequests] : [],
          [client.customFetch]: outgoing,
          timeout: PROVIDER_TIMEOUT_S,
        });
        // Plain JSON: the metadata is handed to a new Configuration at each sign-in.
        metadata = JSON.parse(JSON.stringify(found.serverMetadata())) as client.ServerMetadata;
        if (failure) deps.log.info("oidc: the provider answers again", { issuer: config.issuer });
        else deps.log.info("oidc: discovered the provider", { issuer: config.issuer });
        failure = undefined;
        return metadata;
      } catch (error) {
        failure = { at: now(), count: (failure?.count ?? 0) + 1 };
        deps.log.warn("oidc: discovery failed; sign-in with the provider is unavailable until it answers", {
          issuer: config.issuer,
          ...describe(error),
        });
        throw unavailable();
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  /** The metadata, discovering it when none is known and a retry is due; else unavailable. */
  async function ready(): Promise<client.ServerMetadata> {
    if (metadata) return metadata;
    if (!inflight && failure && now() - failure.at < DISCOVERY_RETRY_MS) throw unavailable();
    return discover();
  }

  /**
   * A Configuration for one sign-in: the client secret read from its file now, the clock as
   * `now` says (tests move it), the ID token's signature checked, and the JWKS copy handed over
   * as at least a minute old (see the top of this file).
   */
  function configuration(server: client.ServerMetadata): client.Configuration {
    let secret: string;
    try {
      secret = readClientSecret(config.clientSecretFile);
    } catch (error) {
      deps.log.error("oidc: the client secret cannot be read", {
        message: error instanceof ConfigError ? error.message : "unreadable",
      });
      throw refuse(
        "client",
        `This server could not present its credentials to ${name}.`,
        "Tell the operator: the client secret file cannot be read (the server's log says why).",
        502,
      );
    }
    const methods = server.token_endpoint_auth_methods_supported;
    const auth =
      methods && !methods.includes("client_secret_basic") && methods.includes("client_secret_post")
        ? client.ClientSecretPost(secret)
        : client.ClientSecretBasic(secret);
    const skewSeconds = Math.round((now() - Date.now()) / 1000);
    const c = new client.Configuration(server, config.clientId, { [client.clockSkew]: skewSeconds }, auth);
    client.enableNonRepudiationChecks(c);
    if (insecure) client.allowInsecureRequests(c);
    c[client.customFetch] = outgoing;
    c.timeout = PROVIDER_TIMEOUT_S;
    if (jwks)
      client.setJwksCache(c, { ...jwks, uat: Math.min(jwks.uat, Math.floor(Date.now() / 1000) - 60) });
    return c;
  }

  const cookieName = (state: string) => `${COOKIE_PREFIX}${mac("cookie", state).slice(0, 16)}`;
  const derived = (label: string, binding: string) => mac(label, binding);

  /** A failed sign-in, audited; `who` once the person is known. */
  async function failed(
    error: OidcError,
    ip: string | null,
    who: { user?: User; email?: string; subject?: string } = {},
  ): Promise<never> {
    await deps.audit.record({
      action: "auth.login_failed",
      actorKind: "user",
      actorId: who.user?.id ?? null,
      actorLabel: (who.user?.email ?? who.email ?? null)?.slice(0, 320) ?? null,
      projectId: null,
      environmentId: null,
      detail: JSON.stringify({
        method: "oidc",
        issuer: metadata?.issuer ?? config.issuer,
        reason: error.reason,
        ...(who.subject ? { subject: who.subject.slice(0, 255) } : {}),
      }),
      ip,
    });
    throw error;
  }

  /** What the library's error means for the person at the browser. */
  function classify(error: unknown): OidcError {
    if (error instanceof OidcError) return error;
    if (error instanceof client.AuthorizationResponseError) {
      return refuse(
        "provider",
        providerRefusal(name, error.error),
        `Start again from the sign-in page. If ${name} keeps refusing, ask whoever runs ${name} whether you may use vault.`,
        403,
      );
    }
    // A client that failed to authenticate gets invalid_client, in the body or (with Basic) a 401 challenge.
    const challenged = error instanceof client.WWWAuthenticateChallengeError && error.status === 401;
    if (challenged || error instanceof client.ResponseBodyError) {
      const code = error instanceof client.ResponseBodyError ? error.error : "invalid_client";
      if (code === "invalid_client" || code === "unauthorized_client") {
        deps.log.error("oidc: the provider refused this server's client credentials", {
          error: code,
          status: (error as { status?: number }).status,
        });
        return refuse(
          "client",
          `${name} refused this server's credentials, so nobody can sign in with ${name} until the operator fixes them.`,
          "Tell the operator: check --oidc-client-id and the secret in --oidc-client-secret-file against the client registered at the provider.",
          502,
        );
      }
      if (code === "invalid_grant") {
        return refuse(
          "grant",
          `${name} no longer accepts this sign-in (it took too long, or it was used already).`,
          "Start again from the sign-in page.",
          400,
        );
      }
      deps.log.warn("oidc: the token endpoint answered an error", { error: code, status: error.status });
      return unavailableNow();
    }
    const code = (error as { code?: string })?.code;
    const claim = ((error as { cause?: { cause?: { claim?: unknown } } })?.cause?.cause?.claim ??
      (error as { cause?: { claim?: unknown } })?.cause?.claim) as string | undefined;
    if (code === "OAUTH_JWT_CLAIM_COMPARISON_FAILED" && claim === "nonce") {
      return refuse(
        "nonce",
        `${name}'s answer does not belong to the sign-in this browser started (its nonce differs).`,
        "Start again from the sign-in page. If this keeps happening, someone may be tampering with your sign-in links.",
        400,
      );
    }
    if (code === "OAUTH_JWT_TIMESTAMP_CHECK_FAILED") {
      return refuse(
        "expired",
        `${name}'s answer has expired or is not valid yet.`,
        "Start again from the sign-in page. If it keeps happening, the operator should check that this server's clock is right.",
        400,
      );
    }
    if (
      code === "OAUTH_JWT_CLAIM_COMPARISON_FAILED" ||
      code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED" ||
      code === "OAUTH_KEY_SELECTION_FAILED" ||
      code === "OAUTH_INVALID_RESPONSE" ||
      code === "OAUTH_PARSE_ERROR" ||
      code === "OAUTH_UNSUPPORTED_OPERATION"
    ) {
      deps.log.warn("oidc: an answer from the provider failed its checks", { errorCode: code, claim });
      return unverified();
    }
    deps.log.warn("oidc: the provider could not be reached during a sign-in", describe(error));
    return unavailableNow();
  }
  const stale = () =>
    refuse(
      "state",
      "This sign-in link was used already, has expired, or was not made by this server.",
      "Start again from the sign-in page.",
      400,
    );
  const unverified = () =>
    refuse(
      "token",
      `${name}'s answer could not be verified, so it was not accepted.`,
      "Start again from the sign-in page. If it keeps happening, tell the operator: the server's log says which check failed.",
      400,
    );
  const unavailableNow = () =>
    refuse(
      "unavailable",
      `${name} did not answer this server properly, so the sign-in did not finish.`,
      "Try again in a minute. If it keeps failing, tell the operator: the server's log says why.",
      503,
    );

  /** Who the verified claims name here: the linked user, one linked now, or one created now. */
  async function account(issuer: string, claims: Claims, ip: string | null): Promise<User> {
    const subject = String(claims.sub);
    const email = typeof claims.email === "string" ? claims.email.trim().toLowerCase() : "";
    const who = { email: email || undefined, subject };
    if (!email || !EMAIL.test(email)) {
      return failed(
        refuse(
          "no_email",
          `${name} did not send an email address, so this server cannot tell who you are.`,
          `Tell the operator: the client at ${name} must be allowed the email scope and claim.`,
          403,
        ),
        ip,
        who,
      );
    }
    if (!emailVerified(claims)) {
      return failed(
        refuse(
          "email_unverified",
          `${name} does not say that your email address ${email} is verified.`,
          `Verify the address at ${name} (or ask whoever runs ${name}), then sign in again.`,
          403,
        ),
        ip,
        who,
      );
    }
    if (!domainAllowed(config, email)) {
      return failed(
        refuse(
          "domain",
          `Sign-in with ${name} is open only to addresses at ${config.allowedDomains.join(", ")}; ${email} is not.`,
          `Sign in at ${name} with your address at ${config.allowedDomains.join(" or ")}, or ask an admin.`,
          403,
        ),
        ip,
        who,
      );
    }
    const t = now();
    let user: User | undefined;
    const linked = await appdb.identities.bySubject(issuer, subject);
    if (linked) {
      user = await appdb.users.byId(linked.userId);
    } else {
      user = await appdb.users.byEmail(email);
      if (user) {
        const other = await appdb.identities.ofUser(issuer, user.id);
        if (
          other ||
          !(await appdb.identities.link({ issuer, subject, userId: user.id, email, createdAt: t }))
        ) {
          return failed(
            refuse(
              "linked_elsewhere",
              `The vault account ${email} is linked to another ${name} identity, so this one cannot sign in to it.`,
              `Sign in with the ${name} identity linked to it, or ask an admin.`,
              403,
            ),
            ip,
            { user, subject },
          );
        }
        await audit("auth.identity_linked", user, { issuer, subject: subject.slice(0, 255) }, ip);
      } else if (config.jit) {
        try {
          user = await create(email, mappedRole(config, claims, "member"), ip);
        } catch (error) {
          // Another first sign-in with this email made the user meanwhile: link to it instead.
          if (await appdb.users.byEmail(email)) return account(issuer, claims, ip);
          throw error;
        }
        if (!(await appdb.identities.link({ issuer, subject, userId: user.id, email, createdAt: t }))) {
          // Another first sign-in of this subject won the race: use the user it linked.
          const won = await appdb.identities.bySubject(issuer, subject);
          user = won ? await appdb.users.byId(won.userId) : undefined;
        }
      } else {
        return failed(
          refuse(
            "no_account",
            `There is no vault account for ${email}.`,
            `Ask an admin to add you (the Users page, or vault admin user add ${email} on the server host), then sign in with ${name} again.`,
            403,
          ),
          ip,
          who,
        );
      }
    }
    if (!user) return failed(unavailableNow(), ip, who);
    if (user.disabledAt !== null) {
      return failed(
        refuse(
          "disabled",
          "This vault account is disabled.",
          "Ask an admin of this vault to enable it.",
          403,
        ),
        ip,
        { user, subject },
      );
    }
    await appdb.identities.signedIn(issuer, subject, email, t);
    const changes: Partial<User> = {};
    const role = mappedRole(config, claims, user.role);
    if (role !== user.role) {
      changes.role = role;
      await audit(
        "user.role",
        user,
        {
          email: user.email,
          userId: user.id,
          role,
          previous: user.role,
          by: "oidc",
          claim: config.roleClaim,
        },
        ip,
      );
    }
    if (user.mustChangePassword) {
      // An unused one-time password is void once the person signed in through the provider.
      changes.mustChangePassword = false;
      changes.passwordHash = await unusablePassword(deps.random);
      await audit("user.one_time_password_voided", user, { by: "oidc" }, ip);
    }
    if (Object.keys(changes).length > 0) {
      await appdb.users.update(user.id, changes);
      user = { ...user, ...changes };
    }
    return user;
  }

  async function create(email: string, role: Role, ip: string | null): Promise<User> {
    const user: User = {
      id: newId.user(deps.random),
      email,
      passwordHash: await unusablePassword(deps.random),
      role,
      mustChangePassword: false,
      disabledAt: null,
      failedLogins: 0,
      failedWindowStart: null,
      lockedUntil: null,
      createdAt: now(),
    };
    await appdb.users.insert(user);
    await audit("user.add", user, { email, userId: user.id, role, by: "oidc" }, ip);
    return user;
  }

  const audit = (action: string, user: User, detail: object, ip: string | null) =>
    deps.audit.record({
      action,
      actorKind: "user",
      actorId: user.id,
      actorLabel: user.email,
      projectId: null,
      environmentId: null,
      detail: JSON.stringify(detail),
      ip,
    });

  function scheduleRetry(): void {
    if (stopped || metadata) return;
    const delay = BACKGROUND_RETRY_MS[Math.min((failure?.count ?? 1) - 1, BACKGROUND_RETRY_MS.length - 1)]!;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      discover().catch(() => scheduleRetry());
    }, delay);
    retryTimer.unref?.();
  }

  return {
    name,
    /** Discovery at start, retried in the background until the provider answers; never throws. */
    start(): void {
      stopped = false;
      discover().catch(() => scheduleRetry());
    },
    stop(): void {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
    },
    status(): OidcStatus {
      return { ready: metadata !== undefined, failed: metadata === undefined && failure !== undefined };
    },
    /** For the sign-in page: tries discovery again when one is due, waiting at most `waitMs`. */
    async refresh(waitMs: number): Promise<OidcStatus> {
      if (!metadata && (inflight || !failure || now() - failure.at >= DISCOVERY_RETRY_MS)) {
        const attempt = discover().catch(() => undefined);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([attempt, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
        clearTimeout(timer);
      }
      return this.status();
    },

    /**
     * Starts a sign-in: a single-use record, the browser's cookie, and the provider's
     * authorization URL (code flow, PKCE S256, state and nonce).
     */
    async begin(input: {
      next: string;
      ip: string | null;
    }): Promise<{ location: string; cookie: string; cookieValue: string }> {
      limitAddress(deps, input.ip, LOGIN_LIMIT, "login");
      let c: client.Configuration;
      try {
        c = configuration(await ready());
      } catch (error) {
        return failed(classify(error), input.ip);
      }
      const t = now();
      const state = b64u(deps.random(32));
      const binding = b64u(deps.random(32));
      await appdb.identities.openLogin(
        {
          id: mac("state", state),
          bindingHash: mac("binding", binding),
          next: input.next,
          createdAt: t,
          expiresAt: t + LOGIN_TTL_MS,
        },
        t - PURGE_AFTER_MS,
      );
      const url = client.buildAuthorizationUrl(c, {
        redirect_uri: config.redirectUrl,
        scope: config.scopes.join(" "),
        response_type: "code",
        state,
        nonce: derived("nonce", binding),
        code_challenge: await client.calculatePKCECodeChallenge(derived("pkce", binding)),
        code_challenge_method: "S256",
      });
      return { location: url.href, cookie: cookieName(state), cookieValue: binding };
    },

    /** The cookie that a callback with this state reads (and clears). */
    cookieFor(state: string | null): string | undefined {
      return state !== null && STATE.test(state) ? cookieName(state) : undefined;
    },

    /**
     * Finishes a sign-in at the callback: the state must name a sign-in this browser started and
     * nobody finished; then the library redeems the code and verifies the answer; then the
     * account rules. A session, and the page to go to; else an OidcError (audited).
     */
    async finish(input: {
      params: URLSearchParams;
      cookies: Map<string, string>;
      ip: string | null;
    }): Promise<LoginResult & { next: string }> {
      limitAddress(deps, input.ip, LOGIN_LIMIT, "login");
      const { ip } = input;
      const state = input.params.get("state");
      if (state === null || !STATE.test(state)) return failed(stale(), ip);
      const id = mac("state", state);
      const login = await appdb.identities.login(id);
      const t = now();
      if (!login || login.usedAt !== null || login.expiresAt <= t) return failed(stale(), ip);
      try {
        return await complete(state, login, t, input);
      } catch (error) {
        if (error instanceof OidcError) error.next = login.next;
        throw error;
      }
    },
  };

  /** The rest of a callback whose state names a sign-in in flight. */
  async function complete(
    state: string,
    login: OidcLogin,
    t: number,
    input: { params: URLSearchParams; cookies: Map<string, string>; ip: string | null },
  ): Promise<LoginResult & { next: string }> {
    const { ip } = input;
    const { id, next } = login;
    const binding = input.cookies.get(cookieName(state));
    const expected = Buffer.from(login.bindingHash);
    const given = Buffer.from(binding ? mac("binding", binding) : "");
    if (!binding || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return failed(
        refuse(
          "browser",
          "This sign-in was started in another browser, or this browser did not keep its cookie.",
          "Start again from the sign-in page in this browser (cookies for this site must be allowed).",
          400,
        ),
        ip,
      );
    }
    if (!(await appdb.identities.takeLogin(id, t))) return failed(stale(), ip);
    let claims: Claims;
    let issuer: string;
    try {
      const server = await ready();
      const c = configuration(server);
      const current = new URL(config.redirectUrl);
      current.search = input.params.toString();
      const tokens = await client.authorizationCodeGrant(
        c,
        current,
        {
          pkceCodeVerifier: derived("pkce", binding),
          expectedState: state,
          expectedNonce: derived("nonce", binding),
          idTokenExpected: true,
        },
        { redirect_uri: config.redirectUrl },
      );
      const cache = client.getJwksCache(c);
      if (cache) jwks = cache;
      const idToken = tokens.claims();
      if (!idToken) throw unverified();
      // With one audience the library leaves azp alone; one that is present must still name this client.
      if (idToken.azp !== undefined && idToken.azp !== config.clientId) {
        deps.log.warn("oidc: an ID token was issued to another client (azp)", {});
        throw unverified();
      }
      issuer = idToken.iss;
      claims = { ...idToken };
      const missing =
        typeof claims.email !== "string" ||
        (claims.email_verified === undefined && claims.xms_edov === undefined) ||
        (config.roleClaim !== undefined && claimValues(claims, config.roleClaim).length === 0);
      if (missing && server.userinfo_endpoint) {
        // Some providers send these only in the userinfo answer (the library checks it is about this subject).
        const info = await client.fetchUserInfo(c, tokens.access_token, idToken.sub);
        claims = { ...info, ...claims };
      }
    } catch (error) {
      return failed(classify(error), ip);
    }
    const user = await account(issuer, claims, ip);
    const session = await startSession(deps, user, { method: "oidc", issuer, ip });
    return { ...session, next };
  }
}

/** A password hash nobody can sign in with: argon2id of 32 random bytes that are then forgotten. */
async function unusablePassword(random: Random): Promise<string> {
  return Bun.password.hash(b64u(random(32)), { algorithm: "argon2id" });
}

/** The error codes a provider may send back (RFC 6749, OIDC Core), as sentences; never its own text. */
function providerRefusal(name: string, code: string): string {
  switch (code) {
    case "access_denied":
      return `${name} did not sign you in to vault: access was denied (you cancelled, or ${name} does not allow you this application).`;
    case "login_required":
    case "interaction_required":
    case "consent_required":
    case "account_selection_required":
      return `${name} needs you to sign in or consent first, and did not ask.`;
    case "temporarily_unavailable":
    case "server_error":
      return `${name} could not sign you in right now (it reported a problem on its side).`;
    default:
      return `${name} did not sign you in: it refused the request.`;
  }
}

/** For the log: what kind of failure, never a token or a secret. */
function describe(error: unknown): Record<string, string | undefined> {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  return {
    name: e?.name,
    errorCode: e?.code ?? e?.cause?.code,
    // The library's and the runtime's own sentences (no request data in them).
    message: typeof e?.message === "string" ? e.message.slice(0, 200) : undefined,
  };
}
