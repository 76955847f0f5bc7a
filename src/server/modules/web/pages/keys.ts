/**
 * A project's DOTENV_KEYs: each environment's key masked (a fixed mask: the
 * page holds no key), shown and copied only on request, one key at a time,
 * through the audited read the API makes (`dotenv_key.read`); a rotation
 * with a confirmation, for project owners and instance admins only (others
 * see the button disabled, with the reason). The rules are the envvault
 * service's, the API's.
 */
import { Elysia } from "elysia";
import { environmentNamed, type ProjectAccess, projectAccess, requireManage } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { createEnvVaultService } from "../../envvault/service";
import { createSecretService } from "../../secrets/service";
import {
  asksFirst,
  confirmForm,
  confirmQuestion,
  csrfField,
  noticeOf,
  notices,
  redirect,
  secretBlock,
  withNotice,
} from "../forms";
import { createGuard, type Session } from "../guard";
import { type Html, html } from "../html";
import { page } from "../layout";
import { PROJECT_LINKS, projectHref, projectIdParam } from "./projects";

PROJECT_LINKS.push({
  label: "Keys",
  path: "keys",
  rank: 30,
  describe: "each environment's DOTENV_KEY, to open .env.vault in production",
});

notices({
  "key-rotated":
    "Key rotated. Show it to copy the new key; DOTENV_KEY='<previous>,<new>' opens files built before and after.",
});

/** What the page shows in place of every key: the same for all, so it tells nothing. */
export const KEY_MASK = "dotenv://:key_••••••••••••••••@…";

export function keyPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const vault = createEnvVaultService(ctx, createSecretService(ctx));

  const keysHref = (projectId: string) => `${projectHref(projectId)}/keys`;
  const crumbs = (access: ProjectAccess, last = "Keys") => [
    { label: "Projects", href: "/" },
    { label: access.project.name, href: projectHref(access.project.id) },
    ...(last === "Keys" ? [] : [{ label: "Keys", href: keysHref(access.project.id) }]),
    { label: last },
  ];
  const load = (session: Session, projectId: unknown) =>
    projectAccess(ctx, session, projectIdParam(projectId));
  const envParam = (access: ProjectAccess, value: unknown) =>
    environmentNamed(access, typeof value === "string" ? value.slice(0, 64) : "");

  const row = (access: ProjectAccess, envName: string, envId: string, csrf: string): Html => {
    const readable = access.permission(envId) !== "none";
    const base = `${keysHref(access.project.id)}/${envName}`;
    const rotate = confirmForm({
      action: `${base}/rotate`,
      csrf,
      label: "Rotate",
      className: "small danger",
      confirm: `Rotate the DOTENV_KEY of ${envName}? Build .env.vault again and give production the new key; the previous key keeps opening files built before.`,
      confirmAction: "Rotate",
      ariaLabel: `Rotate the key of ${envName}`,
      disabled: !access.manage,
      testId: "rotate-key",
    });
    return html`<tr data-name="${envName}"><td data-label="Environment">${envName}</td><td data-label="DOTENV_KEY">${readable ? html`<code class="muted">${KEY_MASK}</code>` : html`<span class="muted">no access</span>`}</td><td data-label="Actions"><div class="actions">${
      readable
        ? html`<form method="post" action="${base}/show">${csrfField(csrf)}<button type="submit" class="small" aria-label="Show the key of ${envName}" data-testid="show-key">Show</button></form>${rotate}`
        : ""
    }</div></td></tr>`;
  };

  return new Elysia({ name: "web-keys" })
    .get(
      "/p/:projectId/keys",
      guarded(async ({ session, viewer, csrf, params, url }) => {
        const access = await load(session, params.projectId);
        return page(
          `Keys of ${access.project.name}`,
          html`<p class="muted">Each environment has its own DOTENV_KEY: production opens <code>.env.vault</code> with it (<code>vault build</code> makes the file). Showing a key is recorded in the audit log.</p>
<div class="table-wrap"><table class="stack" id="keys"><thead><tr><th scope="col">Environment</th><th scope="col">DOTENV_KEY</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${access.environments.map((e) => row(access, e.name, e.id, csrf))}</tbody></table></div>
${access.manage ? "" : html`<p class="hint">Only project owners and instance admins rotate keys.</p>`}`,
          { viewer, area: "projects", wide: true, crumbs: crumbs(access), notice: noticeOf(url) },
        );
      }, "GET"),
    )
    .post(
      "/p/:projectId/keys/:env/show",
      guarded(async ({ session, viewer, params, ip, wantsJson }) => {
        const access = await load(session, params.projectId);
        const env = envParam(access, params.env);
        const shown = await vault.show(session, access, env.name, ip);
        if (wantsJson) return Response.json(shown, { headers: { "cache-control": "no-store" } });
        return page(
          `DOTENV_KEY of ${shown.environment}`,
          html`${secretBlock("dotenv-key", `DOTENV_KEY of ${shown.environment}`, shown.key, html`Give it to production as <code>DOTENV_KEY</code>; it opens the <code>${shown.environment}</code> part of <code>.env.vault</code>. This reading was recorded in the audit log.`)}
<p><a href="${keysHref(access.project.id)}">Back to the keys</a></p>`,
          { viewer, area: "projects", crumbs: crumbs(access, shown.environment) },
        );
      }, "POST"),
    )
    .post(
      "/p/:projectId/keys/:env/rotate",
      guarded(async ({ session, viewer, csrf, form, params, ip }) => {
        const access = await load(session, params.projectId);
        const env = envParam(access, params.env);
        if (asksFirst(form)) {
          requireManage(access);
          return page(
            "Rotate a key",
            confirmQuestion({
              action: `${keysHref(access.project.id)}/${env.name}/rotate`,
              csrf,
              label: "Rotate",
              confirm: `Rotate the DOTENV_KEY of ${env.name}? Build .env.vault again and give production the new key; the previous key keeps opening files built before.`,
              back: keysHref(access.project.id),
              testId: "confirm",
            }),
            { viewer, area: "projects", crumbs: crumbs(access, "Rotate") },
          );
        }
        await vault.rotate(session, access, env, ip);
        return redirect(withNotice(keysHref(access.project.id), "key-rotated"));
      }, "POST"),
    );
}
