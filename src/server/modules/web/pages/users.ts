/**
 * The instance's users, for its owners and admins: add one (a one-time
 * password, shown once on the answer to that form), disable, reset a
 * password (a new one-time password, shown once), change a role. Anyone
 * else is refused with the API's 403. The rules (not one's own account,
 * owners only by owners, the last active owner kept) are the users
 * service's, the same as the API's and `vault admin`'s.
 */
import { Elysia } from "elysia";
import type { Role } from "../../../../appdb";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import {
  createUserService,
  requireUserAdmin,
  USER_ID,
  type UserActor,
  type UserView,
  userView,
} from "../../users/service";
import {
  asksFirst,
  buttonForm,
  confirmForm,
  confirmQuestion,
  csrfField,
  field,
  noticeOf,
  notices,
  redirect,
  secretBlock,
  withNotice,
} from "../forms";
import { createGuard } from "../guard";
import { type Html, html } from "../html";
import { NAV, page, type Viewer } from "../layout";
import { when } from "../text";

export const USERS_PATH = "/admin/users";

NAV.push({ area: "users", label: "Users", href: USERS_PATH, admin: true, rank: 20 });

notices({
  "user-disabled": "User disabled: signed out everywhere, and the service tokens they made are suspended.",
  "user-enabled": "User enabled: they can sign in again, and the service tokens they made work again.",
  "role-changed": "Role changed.",
});

const ROLES: Role[] = ["member", "admin", "owner"];

function roleOf(value: unknown): Role {
  if (value === "owner" || value === "admin" || value === "member") return value;
  throw new ApiError("INVALID_REQUEST", "a role is owner, admin or member");
}

function userIdParam(value: unknown): string {
  if (typeof value !== "string" || !USER_ID.test(value)) throw new ApiError("NOT_FOUND", "no such user");
  return value;
}

export function userPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const users = createUserService(ctx);
  const crumbs = (last?: string) => [
    { label: "Projects", href: "/" },
    ...(last ? [{ label: "Users", href: USERS_PATH }, { label: last }] : [{ label: "Users" }]),
  ];

  const row = (u: UserView, csrf: string, actor: UserActor): Html => {
    const base = `${USERS_PATH}/${u.id}`;
    const mine = u.id === actor.id;
    // What the service would refuse is not offered (it refuses it anyway): one's own account, an owner to an admin.
    if (!mine && u.role === "owner" && actor.role !== "owner")
      return html`<tr data-name="${u.email}"><td data-label="User">${u.email}</td><td data-label="Role">owner</td><td data-label="Status"><span class="badge">${u.status}</span></td><td data-label="Created">${when(u.createdAt)}</td><td data-label="Actions"><span class="muted">only an owner changes an owner</span></td></tr>`;
    return html`<tr data-name="${u.email}"><td data-label="User">${u.email}${mine ? html` <span class="badge">you</span>` : ""}</td><td data-label="Role">${
      mine
        ? u.role
        : html`<form method="post" action="${base}/role" class="actions">${csrfField(csrf)}<select name="role" aria-label="Role of ${u.email}">${ROLES.filter(
            (r) => r !== "owner" || actor.role === "owner",
          ).map(
            (r) => html`<option value="${r}"${r === u.role ? html` selected` : ""}>${r}</option>`,
          )}</select><button type="submit" class="small secondary" aria-label="Change the role of ${u.email}">Change</button></form>`
    }</td><td data-label="Status"><span class="badge">${u.status}</span></td><td data-label="Created">${when(u.createdAt)}</td><td data-label="Actions">${
      mine
        ? html`<a href="/account">Your account</a>`
        : html`<div class="actions">${confirmForm({
            action: `${base}/reset-password`,
            csrf,
            label: "Reset password",
            className: "small secondary",
            confirm: `Reset the password of ${u.email}? They are signed out everywhere and get a one-time password, shown once.`,
            confirmAction: "Reset",
            ariaLabel: `Reset password of ${u.email}`,
            testId: "reset-password",
          })}${
            u.status === "disabled"
              ? buttonForm({
                  action: `${base}/enable`,
                  csrf,
                  label: "Enable",
                  className: "small secondary",
                  ariaLabel: `Enable ${u.email}`,
                  testId: "enable-user",
                })
              : confirmForm({
                  action: `${base}/disable`,
                  csrf,
                  label: "Disable",
                  className: "small danger",
                  confirm: `Disable ${u.email}? They are signed out everywhere, and the service tokens they made stop working.`,
                  confirmAction: "Disable",
                  ariaLabel: `Disable ${u.email}`,
                  testId: "disable-user",
                })
          }</div>`
    }</td></tr>`;
  };

  const oneTimePage = (viewer: Viewer, title: string, intro: Html, password: string) =>
    page(
      title,
      html`${intro}
${secretBlock("one-time-password", "One-time password", password, "Shown only now: give it to them over a channel you trust. They must change it at first sign-in.")}
<p><a href="${USERS_PATH}">Back to the users</a></p>`,
      { viewer, area: "users", crumbs: crumbs(title) },
    );

  const question = (
    viewer: Viewer,
    csrf: string,
    title: string,
    action: string,
    confirm: string,
    label: string,
  ) =>
    page(title, confirmQuestion({ action, csrf, label, confirm, back: USERS_PATH, testId: "confirm" }), {
      viewer,
      area: "users",
      crumbs: crumbs(title),
    });

  return new Elysia({ name: "web-users" })
    .get(
      USERS_PATH,
      guarded(async ({ session, viewer, csrf, url }) => {
        const actor = requireUserAdmin(session);
        const at = ctx.now();
        const list = (await users.list()).map((u) => userView(u, at));
        return page(
          "Users",
          html`<p class="muted">Everyone who can sign in to this server. Only an owner makes an owner or changes one; nobody disables or resets their own account here; the last active owner stays one.</p>
<div class="table-wrap"><table class="stack" id="users"><thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${list.map((u) => row(u, csrf, actor))}</tbody></table></div>
<h2 id="add">Add a user</h2>
<form method="post" action="${USERS_PATH}" class="card" data-testid="add-user">
${csrfField(csrf)}
<label for="user-email">Email</label><input id="user-email" type="email" name="email" required maxlength="320" autocomplete="off">
<label for="user-role">Role</label><select id="user-role" name="role">${ROLES.filter((r) => r !== "owner" || actor.role === "owner").map((r) => html`<option value="${r}"${r === "member" ? html` selected` : ""}>${r}</option>`)}</select>
<p class="hint">They get a one-time password, shown once, to change at first sign-in. Add them to projects from each project's team page.</p>
<button type="submit">Add user</button>
</form>`,
          { viewer, area: "users", wide: true, crumbs: crumbs(), notice: noticeOf(url) },
        );
      }, "GET"),
    )
    .post(
      USERS_PATH,
      guarded(async ({ session, viewer, form, ip }) => {
        const actor = requireUserAdmin(session);
        const { user, oneTimePassword } = await users.add({
          email: field(form, "email", 320),
          role: roleOf(field(form, "role") || "member"),
          actor,
          ip,
        });
        return oneTimePage(
          viewer,
          "User added",
          html`<p>The ${user.role} <strong>${user.email}</strong> can now sign in with this password.</p>`,
          oneTimePassword!,
        );
      }, "POST"),
    )
    .post(
      `${USERS_PATH}/:userId/disable`,
      guarded(async ({ session, viewer, csrf, form, params, ip }) => {
        const actor = requireUserAdmin(session);
        const id = userIdParam(params.userId);
        if (asksFirst(form)) {
          const user = await users.find(id);
          return question(
            viewer,
            csrf,
            "Disable a user",
            `${USERS_PATH}/${id}/disable`,
            `Disable ${user.email}? They are signed out everywhere, and the service tokens they made stop working.`,
            "Disable",
          );
        }
        await users.disable(id, { actor, ip });
        return redirect(withNotice(USERS_PATH, "user-disabled"));
      }, "POST"),
    )
    .post(
      `${USERS_PATH}/:userId/enable`,
      guarded(async ({ session, params, ip }) => {
        const actor = requireUserAdmin(session);
        await users.enable(userIdParam(params.userId), { actor, ip });
        return redirect(withNotice(USERS_PATH, "user-enabled"));
      }, "POST"),
    )
    .post(
      `${USERS_PATH}/:userId/reset-password`,
      guarded(async ({ session, viewer, csrf, form, params, ip }) => {
        const actor = requireUserAdmin(session);
        const id = userIdParam(params.userId);
        const user = await users.find(id);
        if (asksFirst(form))
          return question(
            viewer,
            csrf,
            "Reset a password",
            `${USERS_PATH}/${id}/reset-password`,
            `Reset the password of ${user.email}? They are signed out everywhere and get a one-time password, shown once.`,
            "Reset",
          );
        const oneTime = await users.resetPassword(id, { actor, ip });
        return oneTimePage(
          viewer,
          "Password reset",
          html`<p><strong>${user.email}</strong> was signed out everywhere and signs in with this password.</p>`,
          oneTime,
        );
      }, "POST"),
    )
    .post(
      `${USERS_PATH}/:userId/role`,
      guarded(async ({ session, form, params, ip }) => {
        const actor = requireUserAdmin(session);
        await users.setRole(userIdParam(params.userId), roleOf(field(form, "role")), { actor, ip });
        return redirect(withNotice(USERS_PATH, "role-changed"));
      }, "POST"),
    );
}
