/**
 * Two environments side by side: the keys missing on either side and the
 * values that differ, masked. The same diff service as the API's
 * `diff?other=` (and the same checks: read access to both).
 */
import { Elysia } from "elysia";
import { environmentNamed, requirePermission } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { createSecretService } from "../../secrets/service";
import { envCrumbs, openEnvironment } from "../env";
import { createGuard } from "../guard";
import { html } from "../html";
import { page } from "../layout";
import { envHref } from "../paths";
import { diffTables } from "./history";

export function comparePages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const secrets = createSecretService(ctx);

  return new Elysia({ name: "web-compare" }).get(
    "/p/:projectId/e/:env/compare",
    guarded(async ({ session, viewer, params, url, ip }) => {
      const o = await openEnvironment(ctx, session, params, "read");
      const { access, env } = o;
      const others = access.environments.filter((e) => e.id !== env.id && access.permission(e.id) !== "none");
      const named = url.searchParams.get("with");
      const other = named ? environmentNamed(access, named) : others[0];
      if (other) requirePermission(access, other, "read");
      const base = envHref(o.project.id, env.name);
      const picker = html`<form method="get" action="${base}/compare" class="toolbar" aria-label="Choose the environment to compare with"><div><label for="with">Compare ${env.name} with</label><select id="with" name="with">${others.map(
        (e) => html`<option value="${e.name}"${e.id === other?.id ? html` selected` : ""}>${e.name}</option>`,
      )}</select></div><button type="submit" class="secondary">Compare</button></form>`;
      if (!other || other.id === env.id) {
        return page(
          `Compare ${env.name}`,
          html`${others.length ? picker : html`<p class="muted">There is no other environment you can read to compare with.</p>`}`,
          { viewer, area: "projects", wide: true, crumbs: envCrumbs(o.project, env, "Compare") },
        );
      }
      const d = await secrets.diff(session, o.project, { env }, { env: other }, { reveal: false, ip });
      return page(
        `${env.name} and ${other.name}`,
        html`${picker}
<p class="muted">${env.name} at version ${d.from.version}, ${other.name} at version ${d.to.version}.</p>
${diffTables(d, {
  removed: `only in ${env.name}`,
  added: `only in ${other.name}`,
  changed: "with different values",
  fromLabel: env.name,
  toLabel: other.name,
})}
<p><a href="${base}">Back to the editor of ${env.name}</a> · <a href="${envHref(o.project.id, other.name)}">Editor of ${other.name}</a></p>`,
        {
          viewer,
          area: "projects",
          wide: true,
          crumbs: envCrumbs(o.project, env, `Compare with ${other.name}`),
        },
      );
    }, "GET"),
  );
}
