/**
 * The projects list (each with the caller's access) and a project's page:
 * its environments (version, last change and who, the caller's access),
 * its members, and links to the pages that manage it. Names only: nothing
 * here opens a value. The decisions are projectAccess's, as in the API.
 * dotenv-vault's `open` lands on the editor of the environment it names.
 */
import { Elysia } from "elysia";
import type { Environment } from "../../../../appdb";
import { type ProjectAccess, projectAccess } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { summaryLine } from "../../compat/routes";
import { createProjectService } from "../../projects/service";
import { createSecretService } from "../../secrets/service";
import { redirect } from "../forms";
import { createGuard } from "../guard";
import { type Html, html } from "../html";
import { page } from "../layout";
import { envHref, projectHref, projectIdParam } from "../paths";
import { ACCESS_WORDS, when } from "../text";

/** A page that manages one side of a project (members, tokens, keys): listed on the project page. */
export interface ProjectLink {
  label: string;
  /** The page's path under /p/:projectId. */
  path: string;
  /** Only for those who manage the project (project owners, instance admins). */
  manage?: boolean;
  describe: string;
  /** Where it goes in the list: lower first (pages register in any order). */
  rank?: number;
}

/** The project page's links to its management pages: only pages that exist are listed (pages/*.ts add theirs). */
export const PROJECT_LINKS: ProjectLink[] = [];

export { projectHref, projectIdParam };

/** What a caller may do in a project, in a few words (the projects list). */
export function accessSummary(access: ProjectAccess): string {
  if (access.manage) return "manage, read and write every environment";
  const by = { write: [] as string[], read: [] as string[] };
  for (const env of access.environments) {
    const p = access.permission(env.id);
    if (p !== "none") by[p].push(env.name);
  }
  const parts = [
    by.write.length ? `write ${by.write.join(", ")}` : "",
    by.read.length ? `read ${by.read.join(", ")}` : "",
  ].filter(Boolean);
  return parts.join("; ") || "no environment";
}

export function projectPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const projects = createProjectService(ctx);
  const secrets = createSecretService(ctx);

  /** An environment's name, a link to its editor for those who may read it. */
  const envCell = (projectId: string, env: Environment, readable: boolean): Html => {
    const name = html`${env.name}${env.isMain ? html` <span class="muted">(main)</span>` : ""}`;
    return readable
      ? html`<a href="${envHref(projectId, env.name)}" data-testid="env-${env.name}">${name}</a>`
      : name;
  };

  return new Elysia({ name: "web-projects" })
    .get(
      "/",
      guarded(async ({ session, viewer }) => {
        const list = await projects.list(session);
        const rows = await Promise.all(
          list.map(async (p) => {
            const access = await projectAccess(ctx, session, p.id);
            return html`<tr data-name="${p.name}"><td data-label="Project"><a href="${projectHref(p.id)}">${p.name}</a></td><td data-label="Your access">${accessSummary(access)}</td><td data-label="Id"><code>${p.id.slice(0, 12)}…</code></td><td data-label="Created">${when(p.createdAt)}</td></tr>`;
          }),
        );
        return page(
          "Projects",
          list.length
            ? html`<div class="table-wrap"><table class="stack"><thead><tr><th scope="col">Project</th><th scope="col">Your access</th><th scope="col">Id</th><th scope="col">Created</th></tr></thead><tbody>${rows}</tbody></table></div>`
            : html`<p class="muted">No projects yet. Create one with <code>vault new</code> or <code>npx dotenv-vault new</code>.</p>`,
          { viewer, area: "projects", wide: true },
        );
      }, "GET"),
    )
    .get(
      "/p/:projectId",
      guarded(async ({ session, viewer, params }) => {
        const access = await projectAccess(ctx, session, projectIdParam(params.projectId));
        const { project } = access;
        const [members, latest] = await Promise.all([
          ctx.appdb.projects.members(project.id),
          Promise.all(
            access.environments.map(async (env) =>
              access.permission(env.id) === "none" || env.head === 0
                ? undefined
                : (await secrets.versions(env, { limit: 1 }))[0],
            ),
          ),
        ]);
        const envRows = access.environments.map((env, i) => {
          const permission = access.permission(env.id);
          const last = latest[i];
          const change =
            permission === "none"
              ? html`<span class="muted">—</span>`
              : last
                ? html`${summaryLine(last.summary)} <span class="muted">(${when(last.createdAt)})</span>`
                : html`<span class="muted">nothing pushed yet</span>`;
          return html`<tr data-name="${env.name}"><td data-label="Environment">${envCell(project.id, env, permission !== "none")}</td><td data-label="Version">${env.head ? `v${env.head}` : "—"}</td><td data-label="Last change">${change}</td><td data-label="By">${last?.author ?? ""}</td><td data-label="Your access">${ACCESS_WORDS[permission]}</td></tr>`;
        });
        const links = PROJECT_LINKS.filter((l) => !l.manage || access.manage)
          .sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0))
          .map(
            (l) =>
              html`<li><a href="${projectHref(project.id)}/${l.path}">${l.label}</a> <span class="muted">${l.describe}</span></li>`,
          );
        return page(
          project.name,
          html`<p class="muted">Project id <code>${project.id}</code></p>
<h2>Environments</h2>
<div class="table-wrap"><table class="stack" id="environments"><thead><tr><th scope="col">Environment</th><th scope="col">Version</th><th scope="col">Last change</th><th scope="col">By</th><th scope="col">Your access</th></tr></thead><tbody>${envRows}</tbody></table></div>
${links.length ? html`<h2>Manage</h2><ul>${links}</ul>` : ""}
<h2>Members</h2>
<div class="table-wrap"><table class="stack" id="members"><thead><tr><th scope="col">Member</th><th scope="col">Role</th></tr></thead><tbody>${members.map((m) => html`<tr><td data-label="Member">${m.email}</td><td data-label="Role">${m.role}</td></tr>`)}</tbody></table></div>
<p class="muted">Values are never shown on this page.</p>`,
          {
            viewer,
            area: "projects",
            wide: true,
            crumbs: [{ label: "Projects", href: "/" }, { label: project.name }],
          },
        );
      }, "GET"),
    )
    .get(
      "/open",
      guarded(async ({ url, session }) => {
        // dotenv-vault's `open`: the editor of the environment named (else the main one), when
        // the caller may read it; else the project's page.
        const access = await projectAccess(
          ctx,
          session,
          projectIdParam(url.searchParams.get("DOTENV_VAULT")),
        );
        const named = url.searchParams.get("environment");
        const env =
          access.environments.find((e) => e.name === named) ?? access.environments.find((e) => e.isMain);
        if (env && access.permission(env.id) !== "none")
          return redirect(envHref(access.project.id, env.name));
        return redirect(projectHref(access.project.id));
      }, "GET"),
    );
}
