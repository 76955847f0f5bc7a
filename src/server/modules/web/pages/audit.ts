/**
 * The audit viewer: a project's events (its managers), and for instance
 * owners and admins the whole log at /audit. Filters by action, actor (an
 * email) and day; pages of 50, newest first, older ones by `before`. Names,
 * not ids: the audit service (the API's) names the actor, project,
 * environment and the user an event is about. Events never hold a value.
 */
import { Elysia } from "elysia";
import { projectAccess } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { type AuditEventView, createAuditService } from "../../audit/service";
import { createGuard, type Session } from "../guard";
import { type Html, html } from "../html";
import { type Crumb, NAV, page, type Viewer } from "../layout";
import { when } from "../text";
import { PROJECT_LINKS, projectHref, projectIdParam } from "./projects";

NAV.push({ area: "audit", label: "Audit", href: "/audit", admin: true, rank: 10 });
PROJECT_LINKS.push({
  label: "Audit",
  path: "audit",
  rank: 40,
  manage: true,
  describe: "who read, changed, shared or rotated what, and when",
});

export const AUDIT_PAGE_SIZE = 50;

/** Actions worth offering in the filter (any other can be typed). */
const ACTIONS = [
  "secrets.read",
  "secrets.push",
  "secrets.set",
  "secrets.unset",
  "secrets.rollback",
  "dotenv_key.read",
  "dotenv_key.rotate",
  "member.add",
  "member.grant",
  "member.remove",
  "token.create",
  "token.create_me",
  "token.revoke",
  "auth.login",
  "auth.login_failed",
  "auth.lockout",
  "auth.logout",
  "auth.password_changed",
  "auth.session_revoke",
  "user.add",
  "user.disable",
  "user.enable",
  "user.reset_password",
  "user.role",
  "project.create",
  "project.rename",
  "environment.add",
];

interface Filters {
  action: string;
  actor: string;
  since: string;
  before: number | undefined;
}

/** The filters of the query string, checked (a bad one is the client's mistake, never echoed raw into the page). */
function filtersOf(url: URL): Filters {
  const q = url.searchParams;
  const action = (q.get("action") ?? "").trim();
  const actor = (q.get("actor") ?? "").trim();
  const since = (q.get("since") ?? "").trim();
  const before = q.get("before") ?? "";
  if (action.length > 64 || !/^[a-z_.]*$/.test(action))
    throw new ApiError("INVALID_REQUEST", "an action is letters, dots and underscores, like secrets.read");
  if (actor.length > 320) throw new ApiError("INVALID_REQUEST", "an actor is an email address");
  if (since !== "" && (!/^\d{4}-\d{2}-\d{2}$/.test(since) || Number.isNaN(Date.parse(`${since}T00:00:00Z`))))
    throw new ApiError("INVALID_REQUEST", "since is a day, like 2030-01-31");
  if (before !== "" && !/^[1-9][0-9]{0,14}$/.test(before))
    throw new ApiError("INVALID_REQUEST", "before is an event number");
  return { action, actor, since, before: before === "" ? undefined : Number(before) };
}

const scalar = (v: unknown): string =>
  v === null || v === undefined
    ? ""
    : Array.isArray(v)
      ? v.map(scalar).join(", ")
      : typeof v === "object"
        ? Object.entries(v as Record<string, unknown>)
            .map(([k, x]) => `${k}=${scalar(x)}`)
            .join(", ")
        : String(v);

/** An event's details in a line: names and counts (ids left out: the columns name them). */
export function detailLine(detail: unknown): string {
  if (detail === null || typeof detail !== "object" || Array.isArray(detail)) return scalar(detail);
  const line = Object.entries(detail as Record<string, unknown>)
    .filter(([k]) => k !== "id" && k !== "userId")
    .map(([k, v]) => `${k}: ${scalar(v)}`)
    .join("; ");
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

export function auditPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const audit = createAuditService(ctx);

  const table = (events: AuditEventView[], instance: boolean): Html =>
    html`<div class="table-wrap"><table class="stack" id="events"><thead><tr><th scope="col">When (UTC)</th><th scope="col">Action</th><th scope="col">By</th>${instance ? html`<th scope="col">Project</th>` : ""}<th scope="col">Environment</th><th scope="col">About</th><th scope="col">Details</th><th scope="col">From</th></tr></thead><tbody>${events.map(
      (e) =>
        html`<tr><td data-label="When">${when(e.at)}</td><td data-label="Action"><code>${e.action}</code></td><td data-label="By">${e.actor.label}</td>${instance ? html`<td data-label="Project">${e.project ?? ""}</td>` : ""}<td data-label="Environment">${e.environment ?? ""}</td><td data-label="About">${e.subject ?? ""}</td><td data-label="Details">${detailLine(e.detail)}</td><td data-label="From">${e.ip ?? ""}</td></tr>`,
    )}</tbody></table></div>`;

  const link = (path: string, f: Filters, before?: number) => {
    const q = new URLSearchParams();
    if (f.action) q.set("action", f.action);
    if (f.actor) q.set("actor", f.actor);
    if (f.since) q.set("since", f.since);
    if (before !== undefined) q.set("before", String(before));
    const s = q.toString();
    return s ? `${path}?${s}` : path;
  };

  const render = async (
    session: Session,
    viewer: Viewer,
    url: URL,
    scope: { projectId?: string; title: string; crumbs: Crumb[]; area: string },
  ) => {
    const f = filtersOf(url);
    // An email no user has matches no event (an id no actor has): the service decides access first either way.
    const actorId = f.actor ? ((await ctx.appdb.users.byEmail(f.actor))?.id ?? "usr_(nobody)") : undefined;
    const events = await audit.list(session, {
      project: scope.projectId,
      action: f.action || undefined,
      actor: actorId,
      since: f.since ? Date.parse(`${f.since}T00:00:00Z`) : undefined,
      before: f.before,
      limit: AUDIT_PAGE_SIZE + 1,
    });
    const shown = events.slice(0, AUDIT_PAGE_SIZE);
    const older = events.length > AUDIT_PAGE_SIZE ? shown[shown.length - 1]!.seq : undefined;
    const path = url.pathname;
    const pager = html`<nav class="pager" aria-label="Pages of events">${f.before !== undefined ? html`<a href="${link(path, f)}">Newest events</a>` : ""}${older !== undefined ? html`<a href="${link(path, f, older)}" data-testid="older">Older events</a>` : ""}</nav>`;
    return page(
      scope.title,
      html`<form method="get" action="${path}" class="toolbar" role="search">
<div><label for="f-action">Action</label><input id="f-action" type="text" name="action" value="${f.action}" list="actions" maxlength="64" autocomplete="off"></div>
<datalist id="actions">${ACTIONS.map((a) => html`<option value="${a}"></option>`)}</datalist>
<div><label for="f-actor">By (email)</label><input id="f-actor" type="email" name="actor" value="${f.actor}" maxlength="320" autocomplete="off"></div>
<div><label for="f-since">Since (UTC day)</label><input id="f-since" type="date" name="since" value="${f.since}"></div>
<div><button type="submit">Filter</button> <a href="${path}">Clear</a></div>
</form>
${shown.length ? table(shown, scope.projectId === undefined) : html`<p class="muted">No events match.</p>`}
${pager}`,
      { viewer, area: scope.area, wide: true, crumbs: scope.crumbs },
    );
  };

  return new Elysia({ name: "web-audit" })
    .get(
      "/audit",
      guarded(
        async ({ session, viewer, url }) =>
          render(session, viewer, url, {
            title: "Audit log",
            area: "audit",
            crumbs: [{ label: "Projects", href: "/" }, { label: "Audit log" }],
          }),
        "GET",
      ),
    )
    .get(
      "/p/:projectId/audit",
      guarded(async ({ session, viewer, url, params }) => {
        // 404 for a project one cannot see; the service then refuses a non-manager (403), as the API does.
        const access = await projectAccess(ctx, session, projectIdParam(params.projectId));
        return render(session, viewer, url, {
          projectId: access.project.id,
          title: `Audit of ${access.project.name}`,
          area: "projects",
          crumbs: [
            { label: "Projects", href: "/" },
            { label: access.project.name, href: projectHref(access.project.id) },
            { label: "Audit" },
          ],
        });
      }, "GET"),
    );
}
