/**
 * The pages of single sign-on: `/signin/oidc` starts a sign-in (a link on
 * the sign-in page, not a form: a form's redirect to another origin would
 * break the pages' `form-action 'self'`), and `/signin/oidc/callback` is
 * where the provider sends the browser back.
 *
 * The session cookie is SameSite=Strict, and the callback is the end of a
 * navigation that another site (the provider) started: the browser stores a
 * cookie set there but would not send it on a redirect in the same
 * navigation. So the callback answers with a short page that sets the
 * session and moves on by itself (a Refresh header, no script), which is a
 * navigation of our own, with the cookie.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { clientIp } from "../../http";
import { SESSION_TTL_MS } from "../auth/service";
import { redirect, safeNext } from "../web/forms";
import { html } from "../web/html";
import { page } from "../web/layout";
import { cookie, cookies, SESSION_COOKIE, secure } from "../web/session";
import { CALLBACK_PATH, LOGIN_TTL_MS, OidcError, type OidcService } from "./service";

const START_PATH = "/signin/oidc";

/** The login-transaction cookie: Lax (it must come back on the provider's redirect), only for the callback. */
function loginCookie(
  ctx: Pick<AppContext, "config">,
  name: string,
  value: string,
  maxAgeSeconds: number,
): string {
  return `${name}=${value}; Path=${START_PATH}; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure(ctx) ? "; Secure" : ""}`;
}

/** A URL for a Refresh header: characters that could end or quote it are percent-encoded. */
const refreshTarget = (next: string) =>
  next.replace(/[;,'" ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function refusedPage(error: OidcError, next: string, headers: Record<string, string> = {}): Response {
  const again = `/signin${next === "/" ? "" : `?next=${encodeURIComponent(next)}`}`;
  return page(
    error.status === 503 ? "Single sign-on unavailable" : "Sign-in did not work",
    html`<p class="error" role="alert">${error.message}</p>
<p>${error.hint}</p>
<p><a class="button" href="${again}">Back to sign-in</a></p>`,
    { status: error.status, headers },
  );
}

/** A refused sign-in as a page; the sign-in rate limit (an ApiError) too. Anything else is a failure of the server. */
function failurePage(error: unknown, next: string, headers: Record<string, string> = {}): Response {
  if (error instanceof OidcError) return refusedPage(error, next, headers);
  if (error instanceof ApiError) {
    const again = new OidcError(
      "unavailable",
      error.message,
      error.hint ?? "Try again shortly.",
      error.status,
    );
    return refusedPage(again, next, { ...error.headers, ...headers });
  }
  throw error;
}

/** The pages, when single sign-on is configured (none otherwise). */
export function oidcRoutes(ctx: AppContext) {
  const oidc = ctx.oidc;
  if (!oidc) return new Elysia({ name: "oidc" });
  return pages(ctx, oidc);
}

function pages(ctx: AppContext, oidc: OidcService) {
  return new Elysia({ name: "oidc" })
    .get(START_PATH, async ({ request, query, server }) => {
      const next = safeNext(query.next);
      try {
        const started = await oidc.begin({ next, ip: clientIp(ctx, request, server) });
        return redirect(started.location, {
          "set-cookie": loginCookie(ctx, started.cookie, started.cookieValue, LOGIN_TTL_MS / 1000),
        });
      } catch (error) {
        return failurePage(error, next);
      }
    })
    .get(CALLBACK_PATH, async ({ request, server }) => {
      const url = new URL(request.url);
      const name = oidc.cookieFor(url.searchParams.get("state"));
      const clear: Record<string, string> = name ? { "set-cookie": loginCookie(ctx, name, "", 0) } : {};
      try {
        const result = await oidc.finish({
          params: url.searchParams,
          cookies: cookies(request),
          ip: clientIp(ctx, request, server),
        });
        const next = safeNext(result.next);
        const response = page(
          "Signed in",
          html`<p>Signed in as <strong>${result.user.email}</strong> with ${oidc.name}.</p>
<p><a class="button" href="${next}" data-testid="continue">Continue</a></p>`,
          { headers: { refresh: `0; url=${refreshTarget(next)}` } },
        );
        response.headers.append(
          "set-cookie",
          cookie(ctx, SESSION_COOKIE, result.token, SESSION_TTL_MS / 1000),
        );
        if (clear["set-cookie"]) response.headers.append("set-cookie", clear["set-cookie"]);
        return response;
      } catch (error) {
        return failurePage(error, error instanceof OidcError ? safeNext(error.next) : "/", clear);
      }
    });
}
