/**
 * Runs a page or a form: the browser session (the existing cookie session),
 * the CSRF check on every POST (the form's `csrf` field, or the
 * `x-csrf-token` header of a script-made request), and errors as pages.
 * An ApiError becomes a page with its status from ERROR_STATUS (or, for a
 * request that asked for JSON, the API's `{error}` body, for the script);
 * anything else is logged and answered with a page that says nothing more.
 * The rules themselves (who may do what) are never here: handlers call the
 * same services as the API.
 */
import type { Server } from "bun";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError, ERROR_STATUS, errorBody, errorResponse, fromKeeperError } from "../../errors";
import { clientIp, rateLimited } from "../../http";
import { ruleOf } from "../../rate-limit";
import { type Form, redirect } from "./forms";
import { html } from "./html";
import { page, type Viewer } from "./layout";
import { browserSession, csrfFor, csrfValid } from "./session";

export type Session = Extract<Caller, { kind: "session" }>;

/**
 * Where a user who must still change a one-time password is sent, once a page
 * to change it exists (pages/account.ts sets it); until then they are told to
 * use `vault login`.
 */
export const passwordChange: { page?: string } = {};

export interface PageArgs {
  request: Request;
  url: URL;
  params: Record<string, string>;
  session: Session;
  viewer: Viewer;
  csrf: string;
  form: Form;
  ip: string | null;
  /** A script asked (Accept: application/json): answer JSON. */
  wantsJson: boolean;
}

export type Handler = (args: PageArgs) => Promise<Response>;

interface ElysiaArgs {
  request: Request;
  body: unknown;
  params?: Record<string, string>;
  server: Server<unknown> | null;
}

export const viewerOf = (session: Session, csrf: string): Viewer => ({
  email: session.user.email,
  role: session.user.role,
  csrf,
});

/** Whether a request was made by the script (which asks for JSON) rather than by navigation. */
export function asksJson(request: Request): boolean {
  const accept = request.headers.get("accept") ?? "";
  return /\bapplication\/json\b/i.test(accept) && !/\btext\/html\b/i.test(accept);
}

export function createGuard(ctx: AppContext) {
  /** A failure that is not the client's: a keeper out of reach (503, retry), else a 500 that says nothing more. */
  function failurePage(
    error: unknown,
    wantsJson: boolean,
    viewer: Viewer,
    extra: Record<string, string>,
  ): Response {
    const e = error as { name?: string; code?: string };
    const keeper = fromKeeperError(error);
    const keeperDown = keeper?.code === "KEEPER_UNAVAILABLE";
    // Names of the error only: the request log has the route, and a message could hold anything.
    if (!keeperDown) ctx.log.error("a web page failed", { name: e?.name, errorCode: e?.code });
    const failure = keeper ?? new ApiError("INTERNAL", "internal error", "the server logged the details");
    if (wantsJson) return errorResponse(failure);
    return page(
      keeperDown ? "Try again shortly" : "Something went wrong",
      keeperDown
        ? html`<p class="error">The server cannot reach its store of values right now.</p><p>Nothing was changed. Try again in a few seconds.</p>`
        : html`<p class="error">The server could not answer this page.</p><p>It logged the details. Go back and try again.</p>`,
      { status: failure.status, viewer, headers: { ...failure.headers, ...extra } },
    );
  }

  return function guarded(
    handler: Handler,
    method: "GET" | "POST",
    options: { duringPasswordChange?: boolean } = {},
  ) {
    return async ({ request, body, params, server }: ElysiaArgs): Promise<Response> => {
      const csrf = csrfFor(ctx, request, ctx.random);
      const extra: Record<string, string> = csrf.setCookie ? { "set-cookie": csrf.setCookie } : {};
      const wantsJson = asksJson(request);
      const url = new URL(request.url);
      const session = await browserSession(ctx, request);
      const refuse = (error: ApiError, title: string, text: string, viewer?: Viewer) =>
        wantsJson
          ? Response.json(errorBody(error.code, error.message, error.hint), {
              status: error.status,
              headers: extra,
            })
          : page(title, html`<p class="error">${text}</p>${error.hint ? html`<p>${error.hint}</p>` : ""}`, {
              status: error.status,
              viewer,
              headers: extra,
            });
      if (!session) {
        if (method === "POST" || wantsJson)
          return refuse(
            new ApiError("UNAUTHENTICATED", "your session ended: sign in and start again"),
            "Signed out",
            "Your session ended. Sign in and start again.",
          );
        return redirect(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`, extra);
      }
      const viewer = viewerOf(session, csrf.token);
      // The API's limit per credential holds for a browser's session too.
      const rule = ruleOf(ctx.config.rateLimitCredential);
      const wait = rule ? ctx.limiter.take(`cred:${session.token.id}`, rule) : 0;
      if (wait > 0) {
        const error = rateLimited(wait);
        return wantsJson
          ? Response.json(errorBody(error.code, error.message, error.hint), {
              status: error.status,
              headers: { ...error.headers, ...extra },
            })
          : page(
              "Too many requests",
              html`<p class="error">Too many requests from this session.</p><p>Wait ${wait} s and try again.</p>`,
              {
                status: error.status,
                viewer,
                headers: { ...error.headers, ...extra },
              },
            );
      }
      if (session.user.mustChangePassword && !options.duringPasswordChange) {
        if (passwordChange.page && method === "GET" && !wantsJson)
          return redirect(passwordChange.page, extra);
        return refuse(
          new ApiError(
            "PASSWORD_CHANGE_REQUIRED",
            "this account still has a one-time password",
            passwordChange.page
              ? `Change it first, on ${passwordChange.page}.`
              : "Change it with vault login, then come back.",
          ),
          "Change your password first",
          "This account still has a one-time password.",
          viewer,
        );
      }
      const form = (body && typeof body === "object" ? body : {}) as Form;
      if (method === "POST") {
        const presented = typeof form.csrf === "string" ? form.csrf : request.headers.get("x-csrf-token");
        if (!csrfValid(ctx, request, presented)) {
          return refuse(
            new ApiError(
              "FORBIDDEN",
              "this form expired or did not come from this site",
              "Go back, reload the page and try again.",
            ),
            "Request refused",
            "This form expired or did not come from this site.",
            viewer,
          );
        }
      }
      try {
        const response = await handler({
          request,
          url,
          params: params ?? {},
          session,
          viewer,
          csrf: csrf.token,
          form,
          ip: clientIp(ctx, request, server),
          wantsJson,
        });
        if (extra["set-cookie"]) response.headers.append("set-cookie", extra["set-cookie"]);
        return response;
      } catch (error) {
        if (!(error instanceof ApiError)) return failurePage(error, wantsJson, viewer, extra);
        if (wantsJson)
          return Response.json(errorBody(error.code, error.message, error.hint), {
            status: ERROR_STATUS[error.code],
            headers: { ...error.headers, ...extra },
          });
        return page(
          "That did not work",
          html`<p class="error">${error.message}</p>${error.hint ? html`<p>${error.hint}</p>` : ""}`,
          { status: ERROR_STATUS[error.code], viewer, headers: { ...error.headers, ...extra } },
        );
      }
    };
  };
}

export type Guarded = ReturnType<typeof createGuard>;
