/**
 * The editor's review and save. The review shows the draft's diff against
 * the version it is based on (names; values masked) and saves it as one
 * version, naming the draft and the revision reviewed, so that a change made
 * in another tab since is never saved unseen. The save goes through the
 * API's change path with the draft's base as baseVersion: when the
 * environment moved on, the answer is a 409 page that shows what moved (the
 * versions since, by whom, which of their names the draft touches too, what
 * reapplying would leave out) and offers to reapply the draft on the latest
 * version, to review again.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { summaryLine } from "../../compat/routes";
import { draftRows } from "../../secrets/draft-ops";
import { type Conflict, createDraftService, type OpenDraft } from "../../secrets/drafts";
import { createSecretService } from "../../secrets/service";
import { envCrumbs, type OpenEnvironment, openEnvironment } from "../env";
import { buttonForm, field, noticeOf, redirect, withNotice } from "../forms";
import { createGuard, type PageArgs } from "../guard";
import { type Html, html, join } from "../html";
import { page } from "../layout";
import { envHref } from "../paths";
import { MASK, when } from "../text";
import { nameCell, opCell, pendingWords } from "./editor";
import { requestsHref } from "./requests";

export function reviewPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const secrets = createSecretService(ctx);
  const drafts = createDraftService(ctx, secrets);

  const conflictPanel = (o: OpenEnvironment, draft: OpenDraft, c: Conflict, csrf: string): Html => {
    const base = envHref(o.project.id, o.env.name);
    const versionRows = c.versions.map(
      (v) =>
        html`<tr><td data-label="Version">v${v.version}</td><td data-label="By">${v.author}</td><td data-label="When">${when(v.createdAt)}</td><td data-label="Change">${summaryLine(v.summary)}</td></tr>`,
    );
    return html`<div class="warning" role="alert" id="conflict" data-testid="conflict"><p><strong>${o.env.name} moved on while you edited.</strong> Your changes are based on version ${c.base}; it is now at version ${c.head}. Nothing of yours was saved.</p></div>
<h2>What moved since version ${c.base}</h2>
<div class="table-wrap"><table class="stack" id="moved"><thead><tr><th scope="col">Version</th><th scope="col">By</th><th scope="col">When</th><th scope="col">Change</th></tr></thead><tbody>${versionRows}</tbody></table></div>
${
  c.collisions.length
    ? html`<p id="collisions"><strong>Changed by both of you:</strong> ${c.collisions.join(", ")}. Reapplying keeps your change of ${c.collisions.length === 1 ? "it" : "them"}.</p>`
    : html`<p id="collisions">None of the keys they changed is one you changed.</p>`
}
${
  c.dropped.length
    ? html`<p><strong>Reapplying would leave out:</strong></p><ul id="dropped">${c.dropped.map((d) => html`<li><code>${d.name}</code> ${d.reason}</li>`)}</ul>`
    : ""
}
<div class="row">${buttonForm({
      action: `${base}/reapply`,
      csrf,
      label: "Reapply on the latest version",
      fields: { draft: draft.row.id },
      testId: "reapply",
    })}<a href="${base}">Back to the editor</a></div>`;
  };

  const reviewPage = async ({ session, viewer, params, csrf, url }: PageArgs, status = 200) => {
    const o = await openEnvironment(ctx, session, params, "write");
    const base = envHref(o.project.id, o.env.name);
    const draft = await drafts.current(session, o.env);
    const crumbs = envCrumbs(o.project, o.env, "Review");
    if (!draft) {
      return page(
        "Review your changes",
        html`<p>There are no pending changes to ${o.env.name}.</p><p><a href="${base}">Back to the editor</a></p>`,
        { viewer, area: "projects", crumbs, status },
      );
    }
    const names = await drafts.namesAt(o.project, o.env, draft.base);
    const rows = draftRows(draft.ops, names).filter((r) => r.state !== "same");
    const head = (await ctx.appdb.projects.environmentById(o.env.id))?.head ?? o.env.head;
    const conflict = head !== draft.base ? await drafts.conflict(o.project, o.env, draft) : undefined;
    const valueCell = (r: (typeof rows)[number]) =>
      r.state === "removed"
        ? html`<span class="muted">deleted</span>`
        : r.state === "renamed" && !r.valueChanged
          ? html`<span class="muted">value kept</span>`
          : html`${MASK} <span class="muted">(new value)</span>`;
    const table = join(
      rows.map(
        (r) =>
          html`<tr data-name="${r.name}"><td data-label="Change">${opCell(r)}</td><td class="name" data-label="Name">${nameCell(r)}</td><td class="value" data-label="Value">${valueCell(r)}</td></tr>`,
      ),
    );
    const body = html`<p><strong>${pendingWords(rows)}</strong> to ${o.env.name}, on version ${draft.base}.</p>
<div class="table-wrap"><table class="stack" id="diff"><caption class="sr-only">Pending changes; values hidden</caption><thead><tr><th scope="col"><span class="sr-only">Change</span></th><th scope="col">Name</th><th scope="col">Value</th></tr></thead><tbody>${table}</tbody></table></div>
${
  conflict
    ? conflictPanel(o, draft, conflict, csrf)
    : html`<div class="row">${buttonForm({
        action: `${base}/save`,
        csrf,
        label: `Save as version ${draft.base + 1}`,
        fields: { draft: draft.row.id, revision: draft.row.revision },
        testId: "save",
      })}<a href="${base}">Back to the editor</a></div>`
}`;
    return page(conflict ? "Someone saved first" : "Review your changes", body, {
      viewer,
      area: "projects",
      wide: true,
      crumbs,
      status: conflict ? 409 : status,
      notice: noticeOf(url),
    });
  };

  return new Elysia({ name: "web-review" })
    .get(
      "/p/:projectId/e/:env/review",
      guarded((args) => reviewPage(args), "GET"),
    )
    .post(
      "/p/:projectId/e/:env/save",
      guarded(async (args) => {
        const o = await openEnvironment(ctx, args.session, args.params, "write");
        const revision = Number(field(args.form, "revision", 12));
        try {
          const result = await drafts.save(
            args.session,
            o.project,
            o.env,
            { id: field(args.form, "draft", 40), revision },
            args.ip,
          );
          const base = envHref(o.project.id, o.env.name);
          // A protected environment: the save became a change request (its page says what next).
          if (result.request)
            return redirect(
              withNotice(
                `${requestsHref(o.project.id)}/${result.request.number}`,
                "requestopened",
                result.request.number,
              ),
            );
          return redirect(
            result.unchanged ? withNotice(base, "unchanged") : withNotice(base, "saved", result.version),
          );
        } catch (error) {
          // Someone saved first: the review again, which now shows what moved.
          if (error instanceof ApiError && error.code === "VERSION_CONFLICT") return reviewPage(args, 409);
          throw error;
        }
      }, "POST"),
    )
    .post(
      "/p/:projectId/e/:env/reapply",
      guarded(async (args) => {
        const o = await openEnvironment(ctx, args.session, args.params, "write");
        const dropped = await drafts.reapply(args.session, o.project, o.env, field(args.form, "draft", 40));
        return redirect(
          withNotice(`${envHref(o.project.id, o.env.name)}/review`, "reapplied", dropped.length),
        );
      }, "POST"),
    );
}
