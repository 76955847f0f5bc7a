/**
 * Signing in and out. The sign-in form carries a CSRF token bound to a
 * cookie of this browser; the password check (and the lockout) is the API's
 * own `login`. Signing out revokes the session and removes its drafts.
 * With single sign-on the page offers "Sign in with <provider>"
 * (modules/oidc), keeping `next` through the provider's round trip; with
 * `--password-login off` it offers only that.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../../../context";
import { ApiError, ERROR_STATUS } from "../../../errors";
import { clientIp } from "../../../http";
import { login, SESSION_TTL_MS } from "../../auth/service";
import { createDraftService } from "../../secrets/drafts";
import { createSecretService } from "../../secrets/service";
import { csrfField, type Form, hidden, redirect, safeNext } from "../forms";
import { createGuard } from "../guard";
import { type Html, html } from "../html";
import { page } from "../layout";
import { cookie, csrfFor, csrfValid, SESSION_COOKIE } from "../session";

/** How long the sign-in page waits for a retried discovery of the provider before it shows what it knows. */
const SSO_PAGE_WAIT_MS = 3_000;

export function signinPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const drafts = createDraftService(ctx, createSecretService(ctx));

  const passwordLogin = ctx.config.passwordLogin !== false;

  /** "Sign in with <provider>", and a notice when the provider cannot be reached. */
  async function ssoCard(next: string): Promise<Html> {
    const oidc = ctx.oidc;
    if (!oidc) return html``;
    const status = await oidc.refresh(SSO_PAGE_WAIT_MS);
    const href = `/signin/oidc${next === "/" ? "" : `?next=${encodeURIComponent(next)}`}`;
    return html`<div class="card sso">
${status.ready ? "" : status.failed ? html`<p class="warning" role="alert" data-testid="sso-unavailable">Sign-in with ${oidc.name} is unavailable right now: this server cannot reach ${oidc.name}. Try again in a minute; if it keeps failing, tell the operator (the server's log says why).</p>` : ""}
<p><a class="button" href="${href}" data-testid="sso">Sign in with ${oidc.name}</a></p>
</div>${passwordLogin ? html`<p class="muted">Or with your email and password:</p>` : html`<p class="muted">Password sign-in is turned off on this server. Operators keep access from the server host with <code>vault admin</code>.</p>`}`;
  }

  async function signinPage(
    csrf: string,
    next: string,
    error: string | undefined,
    status: number,
    setCookie?: string,
    headers?: Record<string, string>,
  ): Promise<Response> {
    return page(
      "Sign in",
      html`${error ? html`<p class="error" role="alert">${error}</p>` : ""}
${await ssoCard(next)}${
  passwordLogin
    ? html`<form method="post" action="/signin" class="card">
${csrfField(csrf)}${hidden("next", next)}
<label for="email">Email</label><input id="email" type="email" name="email" autocomplete="username" required maxlength="320">
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Sign in</button>
</form>`
    : ""
}`,
      { status, headers: { ...headers, ...(setCookie ? { "set-cookie": setCookie } : {}) } },
    );
  }

  return new Elysia({ name: "web-signin" })
    .get("/signin", ({ request, query }) => {
      const csrf = csrfFor(ctx, request, ctx.random);
      return signinPage(csrf.token, safeNext(query.next), undefined, 200, csrf.setCookie);
    })
    .post("/signin", async ({ request, body, server }) => {
      const form = (body && typeof body === "object" ? body : {}) as Form;
      const csrf = csrfFor(ctx, request, ctx.random);
      const next = safeNext(form.next);
      if (!csrfValid(ctx, request, form.csrf))
        return signinPage(csrf.token, next, "This form expired. Try again.", 403, csrf.setCookie);
      const email = typeof form.email === "string" ? form.email.slice(0, 320) : "";
      const password = typeof form.password === "string" ? form.password.slice(0, 1024) : "";
      try {
        const ip = clientIp(ctx, request, server);
        const result = await login(ctx, { email, password, ip });
        return redirect(next, {
          "set-cookie": cookie(ctx, SESSION_COOKIE, result.token, SESSION_TTL_MS / 1000),
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return signinPage(
          csrf.token,
          next,
          error.message,
          ERROR_STATUS[error.code],
          csrf.setCookie,
          error.headers,
        );
      }
    })
    .post(
      "/signout",
      guarded(
        async ({ session }) => {
          await ctx.appdb.tokens.revoke(session.token.id, ctx.now());
          // Its pending changes go with it (the values typed in them are in the keeper until then).
          await drafts.discardAll(session).catch(() => undefined);
          return redirect("/signin", { "set-cookie": cookie(ctx, SESSION_COOKIE, "", 0) });
        },
        "POST",
        { duringPasswordChange: true },
      ),
    );
}
