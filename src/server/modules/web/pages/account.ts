/**
 * The signed-in user's account: change the password (the users service's
 * rules and lockout, as the API's: a wrong current password counts toward
 * it), and their sessions and `me_` credentials with revoke (the sessions
 * service's, never a token). A user who must still change a one-time
 * password is sent here by the guard, and can do nothing else until then.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../../../context";
import { ApiError, ERROR_STATUS } from "../../../errors";
import { createSessionService, type SessionView } from "../../auth/service";
import { createUserService, PASSWORD_MAX, PASSWORD_MIN } from "../../users/service";
import { buttonForm, csrfField, field, noticeOf, notices, redirect, withNotice } from "../forms";
import { createGuard, passwordChange, type Session } from "../guard";
import { type Html, html } from "../html";
import { NAV, page, type Viewer } from "../layout";
import { cookie, SESSION_COOKIE } from "../session";
import { when } from "../text";

export const ACCOUNT_PATH = "/account";

NAV.push({ area: "account", label: "Account", href: ACCOUNT_PATH, rank: 30 });
passwordChange.page = ACCOUNT_PATH;

notices({
  "password-changed": "Password changed. Your other sessions and CLI credentials were signed out ({n}).",
  "session-revoked": "Signed out there: that session or credential no longer works.",
});

export function accountPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const users = createUserService(ctx);
  const sessions = createSessionService(ctx);

  const sessionRow = (s: SessionView, csrf: string): Html => {
    const what =
      s.kind === "session"
        ? html`Signed-in session${s.current ? html` <span class="badge">this browser</span>` : ""}`
        : html`CLI credential (<code>me_</code>) for ${s.project?.name ?? "a removed project"}`;
    return html`<tr><td data-label="What">${what}</td><td data-label="Created">${when(s.createdAt)}</td><td data-label="Last used">${s.lastUsedAt === null ? html`<span class="muted">not since it was made</span>` : when(s.lastUsedAt)}</td><td data-label="Expires">${s.expiresAt === null ? "when revoked" : when(s.expiresAt)}</td><td data-label="Actions">${buttonForm(
      {
        action: `${ACCOUNT_PATH}/sessions/${s.id}/revoke`,
        csrf,
        label: s.current ? "Sign out here" : "Revoke",
        className: "small secondary",
        ariaLabel: s.current
          ? "Sign out here, in this browser"
          : `Revoke the ${s.kind === "me" ? "CLI credential" : "session"} made ${when(s.createdAt)}`,
        testId: "revoke-session",
      },
    )}</td></tr>`;
  };

  const accountPage = async (
    session: Session,
    viewer: Viewer,
    csrf: string,
    url: URL,
    problem?: { message: string; hint?: string; status: number; headers?: Record<string, string> },
  ) => {
    const list = await sessions.list(session);
    const must = session.user.mustChangePassword;
    return page(
      "Your account",
      html`<p>Signed in as <strong>${session.user.email}</strong> (${session.user.role}).</p>
${must ? html`<p class="warning" role="alert">This account still has a one-time password. Choose your own to go on: nothing else opens until then.</p>` : ""}
<h2 id="password">Change your password</h2>
${problem ? html`<p class="error" role="alert">${problem.message}</p>${problem.hint ? html`<p>${problem.hint}</p>` : ""}` : ""}
<form method="post" action="${ACCOUNT_PATH}/password" class="card" data-testid="change-password">
${csrfField(csrf)}
<input type="text" name="username" value="${session.user.email}" autocomplete="username" hidden>
<label for="current-password">Current password</label><input id="current-password" type="password" name="current" autocomplete="current-password" required maxlength="${PASSWORD_MAX}">
<label for="new-password">New password</label><input id="new-password" type="password" name="next" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}" aria-describedby="password-rules">
<p class="hint" id="password-rules">At least ${PASSWORD_MIN} characters; a passphrase is best. Your other sessions and CLI credentials are signed out.</p>
<label for="confirm-password">New password again</label><input id="confirm-password" type="password" name="confirm" autocomplete="new-password" required maxlength="${PASSWORD_MAX}">
<button type="submit">Change password</button>
</form>
<h2 id="sessions">Your sessions and CLI credentials</h2>
<p class="muted">Revoke any you do not recognise. Service tokens belong to their projects: see each project's tokens.</p>
<div class="table-wrap"><table class="stack" id="sessions-table"><thead><tr><th scope="col">What</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${list.map((s) => sessionRow(s, csrf))}</tbody></table></div>`,
      {
        viewer,
        area: "account",
        // Wide: the sessions table's dates and buttons on one line (the form keeps its width).
        wide: true,
        crumbs: [{ label: "Projects", href: "/" }, { label: "Account" }],
        notice: noticeOf(url),
        status: problem?.status,
        headers: problem?.headers,
      },
    );
  };

  return new Elysia({ name: "web-account" })
    .get(
      ACCOUNT_PATH,
      guarded(async ({ session, viewer, csrf, url }) => accountPage(session, viewer, csrf, url), "GET", {
        duringPasswordChange: true,
      }),
    )
    .post(
      `${ACCOUNT_PATH}/password`,
      guarded(
        async ({ session, viewer, csrf, url, form, ip }) => {
          const current = field(form, "current", PASSWORD_MAX + 1);
          const next = field(form, "next", PASSWORD_MAX + 1);
          try {
            if (next !== field(form, "confirm", PASSWORD_MAX + 1))
              throw new ApiError(
                "INVALID_REQUEST",
                "the two new passwords differ",
                "type the same one twice",
              );
            const { revoked } = await users.changePassword(session.user, current, next, {
              keepTokenId: session.token.id,
              ip,
            });
            return redirect(withNotice(ACCOUNT_PATH, "password-changed", revoked));
          } catch (error) {
            if (!(error instanceof ApiError)) throw error;
            // The form again, with what went wrong (a lockout keeps its Retry-After).
            return accountPage(session, viewer, csrf, new URL(ACCOUNT_PATH, url), {
              message: error.message,
              hint: error.hint,
              status: ERROR_STATUS[error.code],
              headers: error.headers,
            });
          }
        },
        "POST",
        { duringPasswordChange: true },
      ),
    )
    .post(
      `${ACCOUNT_PATH}/sessions/:tokenId/revoke`,
      guarded(
        async ({ session, params, ip }) => {
          const { current } = await sessions.revoke(session, params.tokenId ?? "", ip);
          if (current) return redirect("/signin", { "set-cookie": cookie(ctx, SESSION_COOKIE, "", 0) });
          return redirect(withNotice(ACCOUNT_PATH, "session-revoked"));
        },
        "POST",
        { duringPasswordChange: true },
      ),
    );
}
