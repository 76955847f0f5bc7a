/**
 * An environment's history: its versions (author, time, what changed),
 * the diff of any two (names added, changed and removed; values never
 * shown), and a rollback with a confirmation page, which makes a new
 * version equal to an old one through the same change as the API's
 * rollback (with the head it confirmed as baseVersion).
 */
import { Elysia } from "elysia";
import type { Environment } from "../../../../appdb";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { summaryLine } from "../../compat/routes";
import { createSecretService } from "../../secrets/service";
import { envCrumbs, type OpenEnvironment, openEnvironment } from "../env";
import { buttonForm, field, noticeOf, notices, redirect, withNotice } from "../forms";
import { createGuard, type PageArgs } from "../guard";
import { type Html, html, join } from "../html";
import { page } from "../layout";
import { envHref } from "../paths";
import { ACCESS_WORDS, MASK, plural, when } from "../text";
import { requestsHref } from "./requests";

export const HISTORY_PAGE = 50;

notices({ rolledback: "Rolled back: version {n} is now the latest." });

const KIND: Record<string, string> = {
  push: "push",
  merge: "merge",
  set: "edit",
  unset: "removal",
  rollback: "rollback",
};

/** A version number from a query or form field, or undefined when absent or not a number. */
function versionParam(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (!/^[0-9]{1,10}$/.test(value)) throw new ApiError("INVALID_REQUEST", "a version is a number");
  return Number(value);
}

/** The names of a diff, one list per side (values masked, never opened into the page). */
export function diffTables(
  d: { added: string[]; changed: string[]; removed: string[]; unchanged: number },
  words: { added: string; removed: string; changed: string; fromLabel: string; toLabel: string },
): Html {
  const rows: Html[] = [];
  const row = (sign: string, cls: string, word: string, name: string, from: string, to: string) =>
    html`<tr data-name="${name}"><td data-label="Change"><span class="op ${cls}" aria-hidden="true">${sign}</span><span class="sr-only">${word}</span></td><td class="name" data-label="Name">${name}</td><td class="value" data-label="${words.fromLabel}">${from}</td><td class="value" data-label="${words.toLabel}">${to}</td></tr>`;
  for (const name of [...d.removed].sort())
    rows.push(row("-", "op-remove", words.removed, name, MASK, "missing"));
  for (const name of [...d.added].sort()) rows.push(row("+", "op-add", words.added, name, "missing", MASK));
  for (const name of [...d.changed].sort()) rows.push(row("~", "op-change", words.changed, name, MASK, MASK));
  const total = d.added.length + d.removed.length + d.changed.length;
  return html`<p><strong>${plural(total, "difference")}</strong>: ${d.removed.length} ${words.removed}, ${d.added.length} ${words.added}, ${d.changed.length} ${words.changed}; ${plural(d.unchanged, "key")} the same in both. Values are not shown.</p>
${total ? html`<div class="table-wrap"><table class="stack" id="diff"><caption class="sr-only">Differences; values hidden</caption><thead><tr><th scope="col"><span class="sr-only">Change</span></th><th scope="col">Name</th><th scope="col">${words.fromLabel}</th><th scope="col">${words.toLabel}</th></tr></thead><tbody>${join(rows)}</tbody></table></div>` : ""}`;
}

export function historyPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const secrets = createSecretService(ctx);

  const versionOptions = (env: Environment, selected: number) =>
    join(
      Array.from({ length: env.head + 1 }, (_, i) => env.head - i).map(
        (v) =>
          html`<option value="${v}"${v === selected ? html` selected` : ""}>${v === 0 ? "0 (empty)" : `v${v}`}</option>`,
      ),
    );

  const compareForm = (o: OpenEnvironment, from: number, to: number) => {
    const base = envHref(o.project.id, o.env.name);
    // A select of every version stays usable up to a few thousand; beyond, numbers are typed.
    const field = (name: string, label: string, value: number) =>
      o.env.head <= 2000
        ? html`<div><label for="${name}">${label}</label><select id="${name}" name="${name}">${versionOptions(o.env, value)}</select></div>`
        : html`<div><label for="${name}">${label}</label><input type="text" inputmode="numeric" id="${name}" name="${name}" value="${value}" maxlength="10"></div>`;
    return html`<form method="get" action="${base}/diff" class="toolbar" aria-label="Compare two versions">${field("from", "From version", from)}${field("to", "To version", to)}<button type="submit" class="secondary">Show the diff</button></form>`;
  };

  const historyPage = async ({ session, viewer, params, url }: PageArgs) => {
    const o = await openEnvironment(ctx, session, params, "read");
    const { env } = o;
    const before = versionParam(url.searchParams.get("before"));
    const versions = await secrets.versions(env, { limit: HISTORY_PAGE, before });
    const base = envHref(o.project.id, env.name);
    const canWrite = o.permission === "write";
    const rows = versions.map((v) => {
      const previous = v.version - 1;
      const current = v.version === env.head;
      return html`<tr data-version="${v.version}"><td data-label="Version">v${v.version}${current ? html` <span class="badge">latest</span>` : ""}</td><td data-label="By">${v.author}</td><td data-label="When">${when(v.createdAt)} UTC</td><td data-label="What">${KIND[v.kind] ?? v.kind}: ${summaryLine(v.summary)}</td><td data-label="Actions"><div class="actions"><a class="button small secondary" href="${base}/diff?from=${previous}&amp;to=${v.version}" aria-label="Diff of version ${v.version} with version ${previous}">Diff</a>${
        current
          ? ""
          : canWrite
            ? html`<a class="button small secondary" href="${base}/rollback?to=${v.version}" aria-label="Roll back to version ${v.version}">Roll back</a>`
            : html`<button type="button" class="small secondary" disabled aria-describedby="readonly">Roll back</button>`
      }</div></td></tr>`;
    });
    const oldest = versions.at(-1)?.version;
    const more = oldest !== undefined && oldest > 1 && versions.length === HISTORY_PAGE;
    return page(
      `History of ${env.name}`,
      html`<p class="muted">${plural(env.head, "version")} · your access: ${ACCESS_WORDS[o.permission]} · <a href="${base}">Editor</a> · <a href="${base}/compare">Compare with another environment</a></p>
${canWrite ? "" : html`<p class="notice bad" id="readonly">You can read ${env.name} but not change it: rolling back is turned off. Ask a project owner for write access.</p>`}
${env.head >= 1 ? compareForm(o, Math.max(env.head - 1, 0), env.head) : ""}
${
  versions.length
    ? html`<div class="table-wrap"><table class="stack" id="versions"><thead><tr><th scope="col">Version</th><th scope="col">By</th><th scope="col">When</th><th scope="col">What changed</th><th scope="col">Actions</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : html`<p class="muted">Nothing saved yet.</p>`
}
${more ? html`<p><a href="${base}/history?before=${oldest}" rel="next">Older versions</a></p>` : ""}`,
      {
        viewer,
        area: "projects",
        wide: true,
        crumbs: envCrumbs(o.project, env, "History"),
        notice: noticeOf(url),
      },
    );
  };

  return new Elysia({ name: "web-history" })
    .get("/p/:projectId/e/:env/history", guarded(historyPage, "GET"))
    .get(
      "/p/:projectId/e/:env/diff",
      guarded(async ({ session, viewer, params, url, ip }) => {
        const o = await openEnvironment(ctx, session, params, "read");
        const { env } = o;
        // The API's defaults: from the version before the latest, to the latest.
        const from = versionParam(url.searchParams.get("from")) ?? Math.max(env.head - 1, 0);
        const to = versionParam(url.searchParams.get("to")) ?? env.head;
        const d = await secrets.diff(
          session,
          o.project,
          { env, version: from },
          { env, version: to },
          {
            reveal: false,
            ip,
          },
        );
        const base = envHref(o.project.id, env.name);
        return page(
          `${env.name}: version ${from} to ${to}`,
          html`${compareForm(o, from, to)}
${diffTables(d, { added: "added", removed: "removed", changed: "changed", fromLabel: `Version ${from}`, toLabel: `Version ${to}` })}
<p><a href="${base}/history">Back to the history</a></p>`,
          { viewer, area: "projects", wide: true, crumbs: envCrumbs(o.project, env, `v${from} to v${to}`) },
        );
      }, "GET"),
    )
    .get(
      "/p/:projectId/e/:env/rollback",
      guarded(async ({ session, viewer, params, url, csrf, ip }) => {
        const o = await openEnvironment(ctx, session, params, "write");
        const { env } = o;
        const to = versionParam(url.searchParams.get("to"));
        if (to === undefined || to < 1 || to > env.head)
          throw new ApiError(
            "NOT_FOUND",
            `${env.name} has no version ${to ?? ""}`.trim(),
            `versions run from 1 to ${env.head}`,
          );
        const d = await secrets.diff(
          session,
          o.project,
          { env },
          { env, version: to },
          { reveal: false, ip },
        );
        const base = envHref(o.project.id, env.name);
        return page(
          `Roll ${env.name} back to version ${to}?`,
          html`<p>This makes version ${env.head + 1}, equal to version ${to}. Nothing is lost: version ${env.head} stays in the history.</p>
${diffTables(d, { added: "would come back", removed: "would go", changed: "would change value", fromLabel: `Now (v${env.head})`, toLabel: `After (as v${to})` })}
<div class="row">${buttonForm({
            action: `${base}/rollback`,
            csrf,
            label: `Roll back to version ${to}`,
            className: "danger",
            fields: { to, baseVersion: env.head },
            confirm: `Make version ${env.head + 1} of ${env.name} equal to version ${to}?`,
            confirmAction: "Roll back",
            testId: "rollback",
          })}<a href="${base}/history">Cancel</a></div>`,
          { viewer, area: "projects", wide: true, crumbs: envCrumbs(o.project, env, `Roll back to v${to}`) },
        );
      }, "GET"),
    )
    .post(
      "/p/:projectId/e/:env/rollback",
      guarded(async ({ session, viewer, params, form, ip }) => {
        const o = await openEnvironment(ctx, session, params, "write");
        const to = versionParam(field(form, "to", 12));
        const baseVersion = versionParam(field(form, "baseVersion", 12));
        if (to === undefined) throw new ApiError("INVALID_REQUEST", "give the version to roll back to");
        const base = envHref(o.project.id, o.env.name);
        try {
          const result = await secrets.change(
            session,
            o.project,
            o.env,
            { kind: "rollback", to },
            { baseVersion, ip },
          );
          if (result.request)
            return redirect(
              withNotice(
                `${requestsHref(o.project.id)}/${result.request.number}`,
                "requestopened",
                result.request.number,
              ),
            );
          return redirect(withNotice(`${base}/history`, "rolledback", result.version));
        } catch (error) {
          if (!(error instanceof ApiError) || error.code !== "VERSION_CONFLICT") throw error;
          return page(
            "Someone saved first",
            html`<p class="error" role="alert">${o.env.name} moved on since the confirmation page: nothing was rolled back.</p><p><a href="${base}/rollback?to=${to}">Look at the rollback again</a> · <a href="${base}/history">History</a></p>`,
            { viewer, area: "projects", status: 409, crumbs: envCrumbs(o.project, o.env, "Roll back") },
          );
        }
      }, "POST"),
    );
}
