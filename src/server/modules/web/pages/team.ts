/**
 * A project's team: its members with a grid of their permission per
 * environment (none, read, write), invite by email, change and remove
 * grants. Anyone who sees the project sees the team (as the API lists it);
 * only its managers change it, and an instance owner or admin may invite
 * someone without an account (created with a one-time password, shown once
 * on the answer to that form and never again). The rules are the members
 * service's, the API's.
 */
import { Elysia } from "elysia";
import type { Environment, Permission } from "../../../../appdb";
import { type ProjectAccess, projectAccess, requireManage } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { createMemberService, createsUsers, type MemberView } from "../../members/service";
import {
  asksFirst,
  confirmForm,
  confirmQuestion,
  csrfField,
  type Form,
  field,
  noticeOf,
  notices,
  redirect,
  secretBlock,
  withNotice,
} from "../forms";
import { createGuard, type Session } from "../guard";
import { type Html, html } from "../html";
import { page, type Viewer } from "../layout";
import { plural } from "../text";
import { PROJECT_LINKS, projectHref, projectIdParam } from "./projects";

PROJECT_LINKS.push({
  label: "Team",
  path: "team",
  rank: 10,
  describe: "members and their access per environment; invite someone",
});

notices({
  "member-added": "Member added.",
  "grants-saved": "Access saved.",
  "member-removed": "Member removed.",
});

const PERMISSIONS: Permission[] = ["none", "read", "write"];
const USER_ID = /^usr_[0-9a-f]{24}$/;

/** A permission from a form's select: none, read or write (anything else is the client's mistake). */
function permissionOf(value: unknown, env: Environment): Permission {
  if (value === undefined || value === "") return "none";
  if (value === "none" || value === "read" || value === "write") return value;
  throw new ApiError("INVALID_REQUEST", `the access to ${env.name} is none, read or write`);
}

function userIdParam(value: unknown): string {
  if (typeof value !== "string" || !USER_ID.test(value)) throw new ApiError("NOT_FOUND", "no such member");
  return value;
}

export function teamPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const members = createMemberService(ctx);

  const teamHref = (projectId: string) => `${projectHref(projectId)}/team`;
  const crumbs = (access: ProjectAccess, last = "Team") => [
    { label: "Projects", href: "/" },
    { label: access.project.name, href: projectHref(access.project.id) },
    ...(last === "Team" ? [] : [{ label: "Team", href: teamHref(access.project.id) }]),
    { label: last },
  ];

  /** A permission's select; `label` names it when no visible label does (a cell of the grid). */
  const select = (
    id: string,
    name: string,
    label: string | undefined,
    current: Permission,
    formId?: string,
  ) =>
    html`<select id="${id}" name="${name}"${label ? html` aria-label="${label}"` : ""}${formId ? html` form="${formId}"` : ""}>${PERMISSIONS.map(
      (p) => html`<option value="${p}"${p === current ? html` selected` : ""}>${p}</option>`,
    )}</select>`;

  const memberRow = (access: ProjectAccess, m: MemberView, csrf: string, self: string): Html => {
    const base = `${teamHref(access.project.id)}/${m.userId}`;
    const formId = `grants-${m.userId}`;
    const cells = access.environments.map((e) => {
      const current = m.permissions[e.name] ?? "none";
      if (m.role === "owner")
        return html`<td data-label="${e.name}">write <span class="muted">(owner)</span></td>`;
      if (!access.manage) return html`<td data-label="${e.name}">${current}</td>`;
      return html`<td data-label="${e.name}">${select(`p-${m.userId}-${e.name}`, `perm_${e.name}`, `Access of ${m.email} to ${e.name}`, current, formId)}</td>`;
    });
    const actions = access.manage
      ? html`<td data-label="Actions"><div class="actions">${m.role === "owner" ? "" : html`<form id="${formId}" method="post" action="${base}/grants">${csrfField(csrf)}<button type="submit" class="small" aria-label="Save the access of ${m.email}" data-testid="save-grants">Save</button></form>`}${confirmForm(
          {
            action: `${base}/remove`,
            csrf,
            label: "Remove",
            className: "small danger",
            confirm: `Remove ${m.email} from ${access.project.name}? They lose access to every environment at once.`,
            confirmAction: "Remove",
            ariaLabel: `Remove ${m.email}`,
            testId: "remove-member",
          },
        )}</div></td>`
      : "";
    return html`<tr data-name="${m.email}"><td data-label="Member">${m.email}${m.userId === self ? html` <span class="badge">you</span>` : ""}</td><td data-label="Role">${m.role}</td>${cells}${actions}</tr>`;
  };

  const inviteForm = (access: ProjectAccess, session: Session, csrf: string): Html =>
    html`<h2 id="invite">Invite someone</h2>
<form method="post" action="${teamHref(access.project.id)}/invite" class="card" data-testid="invite">
${csrfField(csrf)}
<label for="invite-email">Email</label><input id="invite-email" type="email" name="email" required maxlength="320" autocomplete="off">
<label for="invite-role">Role in this project</label><select id="invite-role" name="role"><option value="member" selected>member: the access below</option><option value="owner">owner: manages the project, writes everywhere</option></select>
<fieldset class="card"><legend>Access per environment (members)</legend>
<div class="grid2">${access.environments.map((e) => html`<div><label for="invite-${e.name}">${e.name}</label>${select(`invite-${e.name}`, `perm_${e.name}`, undefined, "none")}</div>`)}</div>
</fieldset>
${
  createsUsers(session)
    ? html`<label class="check"><input type="checkbox" name="create" value="yes"> Create the account if there is none (a one-time password, shown once, to be changed at first sign-in)</label>`
    : html`<p class="hint">They need an account first: an instance admin creates it (Users, or <code>vault admin user add EMAIL</code>).</p>`
}
<button type="submit">Invite</button>
</form>`;

  const teamPage = async (
    access: ProjectAccess,
    session: Session,
    viewer: Viewer,
    csrf: string,
    url: URL,
  ) => {
    const list = await members.list(session, access);
    const head = html`<tr><th scope="col">Member</th><th scope="col">Role</th>${access.environments.map((e) => html`<th scope="col">${e.name}</th>`)}${access.manage ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : ""}</tr>`;
    return page(
      `Team of ${access.project.name}`,
      html`${
        access.manage
          ? html`<p class="muted">Members see nothing until granted. Owners read and write every environment.</p>`
          : html`<p class="muted">Only project owners and instance admins change the team.</p>`
      }
<p class="muted">${plural(list.length, "member")}</p>
<div class="table-wrap"><table class="stack" id="members" aria-label="Members"><thead>${head}</thead><tbody>${list.map((m) => memberRow(access, m, csrf, session.user.id))}</tbody></table></div>
${access.manage ? inviteForm(access, session, csrf) : ""}`,
      { viewer, area: "projects", wide: true, crumbs: crumbs(access), notice: noticeOf(url) },
    );
  };

  const load = (session: Session, projectId: unknown) =>
    projectAccess(ctx, session, projectIdParam(projectId));

  /** Every environment's select of a grants form (those absent stay as they are). */
  const permissionsOf = (access: ProjectAccess, form: Form, skipNone: boolean) => {
    const out: Record<string, Permission> = {};
    for (const env of access.environments) {
      const raw = form[`perm_${env.name}`];
      if (raw === undefined) continue;
      const p = permissionOf(raw, env);
      if (!skipNone || p !== "none") out[env.name] = p;
    }
    return out;
  };

  return new Elysia({ name: "web-team" })
    .get(
      "/p/:projectId/team",
      guarded(async ({ session, viewer, csrf, params, url }) => {
        const access = await load(session, params.projectId);
        return teamPage(access, session, viewer, csrf, url);
      }, "GET"),
    )
    .post(
      "/p/:projectId/team/invite",
      guarded(async ({ session, viewer, form, params, ip }) => {
        const access = await load(session, params.projectId);
        const email = field(form, "email", 320).trim();
        if (!email) throw new ApiError("INVALID_REQUEST", "give the email of the person to invite");
        const role = field(form, "role") === "owner" ? "owner" : "member";
        const existing = await ctx.appdb.users.byEmail(email);
        if (existing && (await ctx.appdb.projects.membership(access.project.id, existing.id)))
          throw new ApiError(
            "CONFLICT",
            `${existing.email} is already a member of ${access.project.name}`,
            "change their access in the table of the team page",
          );
        const added = await members.add(
          session,
          access,
          { email, role, permissions: permissionsOf(access, form, true), create: form.create === "yes" },
          ip,
        );
        if (!added.created) return redirect(withNotice(teamHref(access.project.id), "member-added"));
        // The one answer that holds the one-time password: not a redirect, never cached.
        return page(
          "Member invited",
          html`<p>The account <strong>${added.created.email}</strong> was created and added to ${access.project.name}.</p>
${secretBlock("one-time-password", "One-time password", added.created.oneTimePassword, "Shown only now: give it to them over a channel you trust. They must change it at first sign-in.")}
<p><a href="${teamHref(access.project.id)}">Back to the team</a></p>`,
          { viewer, area: "projects", crumbs: crumbs(access, "Invited") },
        );
      }, "POST"),
    )
    .post(
      "/p/:projectId/team/:userId/grants",
      guarded(async ({ session, form, params, ip }) => {
        const access = await load(session, params.projectId);
        await members.grant(
          session,
          access,
          userIdParam(params.userId),
          permissionsOf(access, form, false),
          ip,
        );
        return redirect(withNotice(teamHref(access.project.id), "grants-saved"));
      }, "POST"),
    )
    .post(
      "/p/:projectId/team/:userId/remove",
      guarded(async ({ session, viewer, csrf, form, params, ip }) => {
        const access = await load(session, params.projectId);
        const userId = userIdParam(params.userId);
        if (asksFirst(form)) {
          requireManage(access);
          const member = (await members.list(session, access)).find((m) => m.userId === userId);
          if (!member) throw new ApiError("NOT_FOUND", "no such member");
          return page(
            "Remove a member",
            confirmQuestion({
              action: `${teamHref(access.project.id)}/${userId}/remove`,
              csrf,
              label: "Remove",
              confirm: `Remove ${member.email} from ${access.project.name}? They lose access to every environment at once.`,
              back: teamHref(access.project.id),
              testId: "confirm",
            }),
            { viewer, area: "projects", crumbs: crumbs(access, "Remove") },
          );
        }
        await members.remove(session, access, userId, ip);
        return redirect(withNotice(teamHref(access.project.id), "member-removed"));
      }, "POST"),
    );
}
