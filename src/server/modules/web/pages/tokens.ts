/**
 * A project's service tokens: create one (shown once, on the answer to that
 * form, never again), list them with their status and last use, revoke one
 * with a confirmation. For the project's managers, as in the API (a member
 * is refused with the API's 403, a stranger with its 404); the rules are the
 * tokens service's.
 */
import { Elysia } from "elysia";
import { type ProjectAccess, projectAccess, requireManage } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { createTokenService, TOKEN_ID, type TokenView } from "../../tokens/service";
import {
  asksFirst,
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
import { createGuard, type Session } from "../guard";
import { type Html, html } from "../html";
import { page } from "../layout";
import { when } from "../text";
import { PROJECT_LINKS, projectHref, projectIdParam } from "./projects";

PROJECT_LINKS.push({
  label: "Service tokens",
  path: "tokens",
  rank: 20,
  manage: true,
  describe: "read-only (or write) tokens for CI, shown once",
});

notices({ "token-revoked": "Token revoked: it stops working at once." });

export function tokenPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const tokens = createTokenService(ctx);

  const tokensHref = (projectId: string) => `${projectHref(projectId)}/tokens`;
  const crumbs = (access: ProjectAccess, last = "Service tokens") => [
    { label: "Projects", href: "/" },
    { label: access.project.name, href: projectHref(access.project.id) },
    ...(last === "Service tokens" ? [] : [{ label: "Service tokens", href: tokensHref(access.project.id) }]),
    { label: last },
  ];
  const load = (session: Session, projectId: unknown) =>
    projectAccess(ctx, session, projectIdParam(projectId));
  const tokenIdParam = (value: unknown): string => {
    if (typeof value !== "string" || !TOKEN_ID.test(value))
      throw new ApiError("NOT_FOUND", "no such token in this project");
    return value;
  };

  const row = (access: ProjectAccess, t: TokenView, csrf: string): Html =>
    html`<tr data-name="${t.name ?? ""}"><td data-label="Name">${t.name ?? ""}</td><td data-label="Environments">${t.environments.join(", ")}</td><td data-label="Access">${t.write ? "read and write" : "read only"}</td><td data-label="Status"><span class="badge">${t.status}</span></td><td data-label="Created">${when(t.createdAt)}</td><td data-label="Expires">${t.expiresAt === null ? "never" : when(t.expiresAt)}</td><td data-label="Last used">${t.lastUsedAt === null ? html`<span class="muted">never</span>` : when(t.lastUsedAt)}</td><td data-label="Actions">${
      t.status === "revoked"
        ? ""
        : confirmForm({
            action: `${tokensHref(access.project.id)}/${t.id}/revoke`,
            csrf,
            label: "Revoke",
            className: "small danger",
            confirm: `Revoke the token ${t.name ?? ""}? Whatever uses it stops working at once.`,
            confirmAction: "Revoke",
            ariaLabel: `Revoke ${t.name ?? "the token"}`,
            testId: "revoke-token",
          })
    }</td></tr>`;

  const createForm = (access: ProjectAccess, csrf: string): Html =>
    html`<h2 id="create">Create a token</h2>
<form method="post" action="${tokensHref(access.project.id)}" class="card" data-testid="create-token">
${csrfField(csrf)}
<label for="token-name">Name</label><input id="token-name" type="text" name="name" required maxlength="100" placeholder="ci-deploy" autocomplete="off">
<fieldset class="card"><legend>Environments it may use</legend>
${access.environments.map((e) => html`<label class="check"><input type="checkbox" name="env_${e.name}" value="yes"${e.name === "ci" ? html` checked` : ""}> ${e.name}</label>`)}
</fieldset>
<label class="check"><input type="checkbox" name="write" value="yes"> Write too (push); without it the token only reads</label>
<label for="token-expires">Expires after (days, empty for never)</label><input id="token-expires" type="text" inputmode="numeric" pattern="[0-9]{0,4}" name="expiresInDays" maxlength="4" autocomplete="off">
<button type="submit">Create token</button>
</form>`;

  return new Elysia({ name: "web-tokens" })
    .get(
      "/p/:projectId/tokens",
      guarded(async ({ session, viewer, csrf, params, url }) => {
        const access = await load(session, params.projectId);
        const list = await tokens.list(access);
        return page(
          `Service tokens of ${access.project.name}`,
          html`<p class="muted">A service token reads (or writes) chosen environments of this project, for CI. It is shown once, when it is made; a token whose creator was disabled is suspended.</p>
${
  list.length
    ? html`<div class="table-wrap"><table class="stack" id="tokens"><thead><tr><th scope="col">Name</th><th scope="col">Environments</th><th scope="col">Access</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${list.map((t) => row(access, t, csrf))}</tbody></table></div>`
    : html`<p class="muted">No service tokens yet.</p>`
}
${createForm(access, csrf)}`,
          { viewer, area: "projects", wide: true, crumbs: crumbs(access), notice: noticeOf(url) },
        );
      }, "GET"),
    )
    .post(
      "/p/:projectId/tokens",
      guarded(async ({ session, viewer, form, params, ip }) => {
        const access = await load(session, params.projectId);
        const days = field(form, "expiresInDays", 16).trim();
        if (days !== "" && !/^[1-9][0-9]{0,3}$/.test(days))
          throw new ApiError(
            "INVALID_REQUEST",
            "the expiry is a number of days, 1 to 3650, or empty for never",
          );
        if (Number(days) > 3650)
          throw new ApiError("INVALID_REQUEST", "a token expires after at most 3650 days");
        const created = await tokens.create(
          session,
          access,
          {
            name: field(form, "name", 100),
            environments: access.environments
              .filter((e) => form[`env_${e.name}`] === "yes")
              .map((e) => e.name),
            write: form.write === "yes",
            expiresInDays: days === "" ? undefined : Number(days),
          },
          ip,
        );
        // The one answer that holds the token: not a redirect, never cached.
        return page(
          "Token created",
          html`<p>The token <strong>${created.name}</strong> ${created.write ? "reads and writes" : "reads"} ${created.environments.join(", ")}${created.expiresAt ? html`, until ${when(created.expiresAt)} UTC` : ""}.</p>
${secretBlock("new-token", "Service token", created.token, html`Shown only now: store it in your CI's secrets, as <code>VAULT_TOKEN</code>. It cannot be shown again; revoke it and make another if it is lost.`)}
<p><a href="${tokensHref(access.project.id)}">Back to the tokens</a></p>`,
          { viewer, area: "projects", crumbs: crumbs(access, "Created") },
        );
      }, "POST"),
    )
    .post(
      "/p/:projectId/tokens/:tokenId/revoke",
      guarded(async ({ session, viewer, csrf, form, params, ip }) => {
        const access = await load(session, params.projectId);
        const tokenId = tokenIdParam(params.tokenId);
        if (asksFirst(form)) {
          requireManage(access);
          const token = (await tokens.list(access)).find((t) => t.id === tokenId);
          if (!token) throw new ApiError("NOT_FOUND", "no such token in this project");
          return page(
            "Revoke a token",
            confirmQuestion({
              action: `${tokensHref(access.project.id)}/${tokenId}/revoke`,
              csrf,
              label: "Revoke",
              confirm: `Revoke the token ${token.name ?? ""}? Whatever uses it stops working at once.`,
              back: tokensHref(access.project.id),
              testId: "confirm",
            }),
            { viewer, area: "projects", crumbs: crumbs(access, "Revoke") },
          );
        }
        await tokens.revoke(session, access, tokenId, ip);
        return redirect(withNotice(tokensHref(access.project.id), "token-revoked"));
      }, "POST"),
    );
}
