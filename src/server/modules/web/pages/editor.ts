/**
 * The environment editor. The table is built from the shown version's names
 * only (app.db's entries: no value is opened to draw it), every value drawn
 * as the same mask. Edits (add, edit over several lines, rename, delete,
 * undo, import a pasted .env) go into this session's draft (secrets/drafts.ts),
 * one form post each; the review shows the draft's diff (names, values
 * masked) and saves it as one version with the draft's base as baseVersion,
 * through the API's change path. A save that finds the environment moved on
 * shows what moved (pages/review.ts). One value is revealed only on request
 * (a POST, audited as a read of that key); the download is the environment
 * as a .env file (audited). Read-only access shows every control disabled,
 * with the reason. 10,000 keys: 200 a page, filtered on the server (the
 * script filters the shown page as you type). Layers: a reveal shows the
 * value resolved (references followed, your personal override on top) and,
 * on its page, what is written when that differs; keys you hold a personal
 * override of are marked in the table.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { parseFile } from "../../secrets/document";
import { countsOf, type DraftRow, draftRows, type Edit, emptyOps } from "../../secrets/draft-ops";
import { createDraftService, type OpenDraft } from "../../secrets/drafts";
import { checkFile, checkValues, LIMITS } from "../../secrets/limits";
import { createSecretService } from "../../secrets/service";
import { envCrumbs, type OpenEnvironment, openEnvironment } from "../env";
import {
  buttonForm,
  csrfField,
  type Form,
  field,
  hidden,
  noticeOf,
  notices,
  redirect,
  withNotice,
} from "../forms";
import { createGuard, type PageArgs } from "../guard";
import { type Html, html, join } from "../html";
import { PAGE_HEADERS, page } from "../layout";
import { envHref } from "../paths";
import { ACCESS_WORDS, MASK, plural } from "../text";

export const PAGE_SIZE = 200;

notices({
  added: "Added to your pending changes. Review them to save.",
  changed: "Changed in your pending changes. Review them to save.",
  renamed: "Renamed in your pending changes. Review them to save.",
  removed: "Deleted in your pending changes. Review them to save.",
  undone: "Undone.",
  imported: "Imported {n} keys into your pending changes. Review them to save.",
  discarded: "Your pending changes were discarded.",
  saved: "Saved as version {n}.",
  unchanged: "Nothing was saved: your changes match the current version.",
  reapplied:
    "Your changes were reapplied on the latest version ({n} of them could not be, as the previous page said). Review them again before saving.",
});

/** What the editor's address says it shows: the filter and the page. */
export interface View {
  q: string;
  page: number;
}

export function viewOf(source: URLSearchParams | Form): View {
  const get = (name: string) =>
    source instanceof URLSearchParams ? (source.get(name) ?? "") : field(source as Form, name, 300);
  const page = Number(get("page"));
  return { q: get("q").slice(0, LIMITS.nameLength), page: Number.isInteger(page) && page > 1 ? page : 1 };
}

export function viewQuery(view: View): string {
  const parts = [
    view.q ? `q=${encodeURIComponent(view.q)}` : "",
    view.page > 1 ? `page=${view.page}` : "",
  ].filter(Boolean);
  return parts.length ? `?${parts.join("&")}` : "";
}

const viewFields = (view: View) =>
  html`${view.q ? hidden("q", view.q) : ""}${view.page > 1 ? hidden("page", view.page) : ""}`;

const byName = (a: DraftRow, b: DraftRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const OP: Record<DraftRow["state"], { sign: string; word: string; cls: string }> = {
  same: { sign: "", word: "", cls: "" },
  added: { sign: "+", word: "added", cls: "op-add" },
  changed: { sign: "~", word: "changed", cls: "op-change" },
  renamed: { sign: "»", word: "renamed", cls: "op-rename" },
  removed: { sign: "-", word: "deleted", cls: "op-remove" },
};

export const opCell = (row: DraftRow): Html =>
  row.state === "same"
    ? html``
    : html`<span class="op ${OP[row.state].cls}" aria-hidden="true">${OP[row.state].sign}</span><span class="sr-only">${OP[row.state].word}</span>`;

export const nameCell = (row: DraftRow): Html =>
  row.state === "renamed"
    ? html`<del>${row.stored}</del> → ${row.name}`
    : row.state === "removed"
      ? html`<del>${row.name}</del>`
      : html`${row.name}`;

/** How many keys a change set touches, in words. */
export function pendingWords(rows: readonly DraftRow[]): string {
  const c = countsOf(rows);
  const parts = [
    c.added ? `${c.added} added` : "",
    c.changed ? `${c.changed} changed` : "",
    c.renamed ? `${c.renamed} renamed` : "",
    c.removed ? `${c.removed} deleted` : "",
  ].filter(Boolean);
  return `${plural(c.total, "pending change")}: ${parts.join(", ")}`;
}

export function editorPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const secrets = createSecretService(ctx);
  const drafts = createDraftService(ctx, secrets);

  /** The rows of this session's view of an environment: its draft's, or the head's. */
  const rowsOf = async (opened: OpenEnvironment, draft: OpenDraft | undefined) => {
    const version = draft?.base ?? opened.env.head;
    const names = await drafts.namesAt(opened.project, opened.env, version);
    return { version, rows: draftRows(draft?.ops ?? emptyOps(), names) };
  };

  const readOnlyNote = (o: OpenEnvironment) =>
    html`<p class="notice bad" id="readonly">You can read ${o.env.name} but not change it (your access: ${ACCESS_WORDS[o.permission]}). Editing is turned off; ask a project owner for write access.</p>`;

  /** After an edit: back to the editor as it was shown, with a notice (or JSON for the script). */
  const back = (args: PageArgs, o: OpenEnvironment, code: string, n?: number) =>
    args.wantsJson
      ? Response.json({ ok: true }, { headers: { "cache-control": "no-store" } })
      : redirect(withNotice(`${envHref(o.project.id, o.env.name)}${viewQuery(viewOf(args.form))}`, code, n));

  const edit = async (args: PageArgs, change: (o: OpenEnvironment) => Edit, code: string) => {
    const o = await openEnvironment(ctx, args.session, args.params, "write");
    await drafts.edit(args.session, o.project, o.env, change(o));
    return back(args, o, code);
  };

  /** A typed value: line ends as a browser sends a textarea's (CRLF) become LF; then the API's checks. */
  const typedValue = (form: Form, name: string): string => {
    const raw = form.value;
    if (typeof raw !== "string") throw new ApiError("INVALID_REQUEST", "give a value (it may be empty)");
    const value = raw.replace(/\r\n/g, "\n");
    checkValues(new Map([[name, value]]));
    return value;
  };
  const nameField = (form: Form, key = "name") => {
    const name = field(form, key, LIMITS.nameLength + 1).trim();
    if (!name) throw new ApiError("INVALID_REQUEST", "give a key name");
    return name;
  };

  const editorPage = async ({ session, viewer, params, url, csrf }: PageArgs) => {
    const o = await openEnvironment(ctx, session, params, "read");
    const { project, env } = o;
    const canWrite = o.permission === "write";
    // Pending changes are for those who may save them (one who lost write access sees the stored keys).
    const draft = canWrite ? await drafts.current(session, env) : undefined;
    const { version, rows } = await rowsOf(o, draft);
    const personal = new Set(await secrets.overrides.names(session, env));
    const base = envHref(project.id, env.name);
    const view = viewOf(url.searchParams);
    const needle = view.q.toLowerCase();
    const sorted = [...rows].sort(byName);
    const matching = needle
      ? sorted.filter(
          (r) => r.name.toLowerCase().includes(needle) || (r.stored?.toLowerCase().includes(needle) ?? false),
        )
      : sorted;
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    const pageNo = Math.min(view.page, pages);
    const shown = matching.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
    const counts = countsOf(rows);
    const keys = rows.filter((r) => r.state !== "removed").length;
    const disabled = canWrite ? html`` : html` disabled aria-describedby="readonly"`;
    const q = viewQuery({ q: view.q, page: pageNo });
    const amp = q ? `&${q.slice(1)}` : "";

    // Row actions address the editor's pages relative to it (`development/edit`): a 200-row page is
    // half as large as with every address written out.
    const rel = encodeURIComponent(env.name);
    const actions = (row: DraftRow, i: number): Html => {
      const parts: Html[] = [];
      if (row.stored !== undefined) {
        const saved = row.state !== "same";
        parts.push(
          html`<button type="submit" class="small secondary" formaction="${rel}/reveal" name="name" value="${row.stored}" data-action="reveal" data-target="value-${i}" aria-label="Reveal${saved ? " saved" : ""} value of ${row.stored}">Reveal${saved ? " saved" : ""}</button>`,
        );
      }
      if (row.state !== "removed") {
        const link = (what: string, label: string) =>
          canWrite
            ? html`<a class="button small secondary" href="${rel}/${what}?name=${encodeURIComponent(row.name)}${amp}" data-action="${what}" data-name="${row.name}" aria-label="${label} ${row.name}">${label}</a>`
            : html`<button type="button" class="small secondary" disabled aria-describedby="readonly">${label}</button>`;
        parts.push(link("edit", "Edit"), link("rename", "Rename"));
        parts.push(
          html`<button type="submit" class="small danger" formaction="${rel}/delete" name="name" value="${row.name}" data-action="delete" data-confirm="Delete ${row.name}? It stays a pending change until you save." data-confirm-action="Delete" aria-label="Delete ${row.name}"${disabled}>Delete</button>`,
        );
      }
      if (row.state !== "same") {
        parts.push(
          html`<button type="submit" class="small secondary" formaction="${rel}/undo" name="name" value="${row.name}" data-action="undo" aria-label="Undo the change of ${row.name}"${disabled}>Undo</button>`,
        );
      }
      return html`<div class="actions">${parts}</div>`;
    };

    const tableRows = join(
      shown.map(
        (row, i) =>
          html`<tr data-name="${row.name}"${row.state === "same" ? "" : html` class="pending"`}><td data-label="Change">${opCell(row)}</td><td class="name" data-label="Name">${nameCell(row)}${personal.has(row.name) ? html` <span class="badge" title="your personal override: your reveal shows it, nobody else sees it">personal</span>` : ""}</td><td class="value" data-label="Value" id="value-${i}">${row.state === "removed" ? "—" : MASK}</td><td data-label="Actions">${actions(row, i)}</td></tr>`,
      ),
    );

    const stale = draft && draft.base !== env.head;
    const pendingBar =
      counts.total > 0 && draft
        ? html`<div class="card row" id="pending" data-testid="pending"><p class="grow"><strong>${pendingWords(rows)}</strong>${stale ? html` · <span class="error">based on version ${draft.base}; ${env.name} is now at version ${env.head}</span>` : ""}</p><a class="button" href="${base}/review" data-testid="review">Review and save</a>${buttonForm(
            {
              action: `${base}/discard`,
              csrf,
              label: "Discard",
              className: "secondary",
              fields: { draft: draft.row.id },
              confirm: `Discard your ${plural(counts.total, "pending change")} to ${env.name}?`,
              confirmAction: "Discard",
            },
          )}</div>`
        : html`<div id="pending" hidden></div>`;

    const pager = (label: string) =>
      pages > 1
        ? html`<nav class="pager" aria-label="${label}"><span>Keys ${(pageNo - 1) * PAGE_SIZE + 1}–${Math.min(pageNo * PAGE_SIZE, matching.length)} of ${matching.length.toLocaleString("en")}</span>${pageNo > 1 ? html`<a href="${base}${viewQuery({ q: view.q, page: pageNo - 1 })}" rel="prev">Previous</a>` : ""}<span>Page ${pageNo} of ${pages}</span>${pageNo < pages ? html`<a href="${base}${viewQuery({ q: view.q, page: pageNo + 1 })}" rel="next">Next</a>` : ""}</nav>`
        : html``;

    const table = shown.length
      ? html`<form method="post" action="${base}/reveal" id="rows">${csrfField(csrf)}${hidden("version", version)}${viewFields({ q: view.q, page: pageNo })}<div class="table-wrap"><table class="stack keys" id="keys"><caption class="sr-only">Keys of ${env.name} at version ${version}; values hidden</caption><thead><tr><th scope="col"><span class="sr-only">Change</span></th><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Actions</th></tr></thead><tbody>${tableRows}</tbody></table></div></form>`
      : html`<p class="muted" id="keys">${view.q ? html`No key matches “${view.q}”.` : canWrite ? "No keys yet. Add one below, or import a .env file." : "No keys yet."}</p>`;

    const body = html`<p class="muted">Version ${version}${version !== env.head ? html` (the environment is at version ${env.head})` : ""} · ${plural(keys, "key")} · your access: ${ACCESS_WORDS[o.permission]} · <a href="${base}/history">History</a> · <a href="${base}/compare">Compare</a> · <a href="${base}/download" data-testid="download">Download .env</a></p>
${canWrite ? "" : readOnlyNote(o)}
${personal.size > 0 ? html`<p class="muted" id="personal">Your personal overrides here (only your own reveals and runs see them): ${[...personal].join(", ")}. Change them with <code>vault set --personal</code>.</p>` : ""}
${pendingBar}
<div class="grid2 editors"><details class="card" id="add"${counts.total === 0 && keys === 0 && canWrite ? html` open` : ""}><summary>Add a key</summary>
<form method="post" action="${base}/add">${csrfField(csrf)}${viewFields(view)}<fieldset class="plain"${disabled}>
<label for="add-name">Name</label><input type="text" id="add-name" name="name" required maxlength="256" autocomplete="off" spellcheck="false" aria-describedby="add-name-hint"><p class="hint" id="add-name-hint">A letter or _, then letters, digits, _, . or -.</p>
<label for="add-value">Value</label><textarea id="add-value" name="value" rows="3" autocomplete="off" spellcheck="false" aria-describedby="add-value-hint"></textarea><p class="hint" id="add-value-hint">Several lines are fine. What you type is not shown again.</p>
<button type="submit">Add to pending changes</button></fieldset></form></details><details class="card" id="import"><summary>Import a .env file</summary>
<form method="post" action="${base}/import">${csrfField(csrf)}${viewFields(view)}<fieldset class="plain"${disabled}>
<label for="import-text">Paste the file</label><textarea id="import-text" name="dotenv" rows="8" autocomplete="off" spellcheck="false" aria-describedby="import-hint"></textarea><p class="hint" id="import-hint">Each key becomes a pending change (added, or changed if it exists); keys not in the file are kept. Nothing is saved before you review.</p>
<button type="submit">Import into pending changes</button></fieldset></form></details></div>
<div class="toolbar"><form method="get" action="${base}" role="search"><div><label for="q">Filter names</label><input type="search" id="q" name="q" value="${view.q}" maxlength="256" data-filter="keys" data-count="filter-count" autocomplete="off" spellcheck="false"></div><button type="submit" class="secondary">Filter</button>${view.q ? html`<a href="${base}">Clear</a>` : ""}</form><span id="filter-count" class="muted" aria-live="polite"></span></div>
<div id="editor-body">${pager("Pages")}${table}${pager("Pages, again")}</div>`;
    return page(env.name, body, {
      viewer,
      area: "projects",
      wide: true,
      crumbs: envCrumbs(project, env),
      notice: noticeOf(url),
    });
  };

  return new Elysia({ name: "web-editor" })
    .get("/p/:projectId/e/:env", guarded(editorPage, "GET"))
    .post(
      "/p/:projectId/e/:env/reveal",
      guarded(async ({ session, viewer, params, form, ip, wantsJson }) => {
        const o = await openEnvironment(ctx, session, params, "read");
        const name = nameField(form);
        const requested = Number(field(form, "version", 12));
        const version = Number.isInteger(requested) && requested >= 1 ? requested : o.env.head;
        // Resolved as `vault run` sees it (references followed, this user's personal override on top).
        const result = await secrets.read(session, o.project, o.env, {
          version,
          format: "json",
          names: [name],
          ip,
          reason: "reveal",
          resolve: true,
          written: true,
        });
        const value = result.values?.[name];
        if (value === undefined)
          throw new ApiError("NOT_FOUND", `version ${version} of ${o.env.name} has no key ${name}`);
        const personal = result.personal?.includes(name) ?? false;
        const written = result.written?.[name];
        if (wantsJson)
          return Response.json(
            {
              name,
              version,
              value,
              ...(written !== undefined ? { written } : {}),
              ...(personal ? { personal } : {}),
            },
            { headers: { "cache-control": "no-store", pragma: "no-cache" } },
          );
        const base = envHref(o.project.id, o.env.name);
        return page(
          `${name}`,
          html`<p class="muted">The value of ${name} in ${o.env.name} at version ${version}${personal ? ": your personal override (nobody else sees it)" : written !== undefined ? ", with its references resolved" : ""}. This read is in the audit log; the browser keeps no copy of this page.</p>
<pre class="value" id="revealed" data-testid="revealed">${value}</pre>
${written !== undefined && written !== null ? html`<p class="muted">As written in ${o.env.name}:</p><pre class="value" id="written" data-testid="written">${written}</pre>` : ""}
<div class="row"><button type="button" class="secondary" data-copy="revealed" hidden>Copy</button><a class="button" href="${base}${viewQuery(viewOf(form))}">Back to the editor</a></div>`,
          { viewer, area: "projects", wide: true, crumbs: envCrumbs(o.project, o.env, name) },
        );
      }, "POST"),
    )
    .get(
      "/p/:projectId/e/:env/edit",
      guarded(async ({ session, viewer, params, url, csrf }) => {
        const o = await openEnvironment(ctx, session, params, "write");
        const name = url.searchParams.get("name") ?? "";
        const { rows } = await rowsOf(o, await drafts.current(session, o.env));
        const row = rows.find((r) => r.name === name && r.state !== "removed");
        if (!row) throw new ApiError("NOT_FOUND", `${o.env.name} has no key ${name.slice(0, 64)}`);
        const base = envHref(o.project.id, o.env.name);
        const view = viewOf(url.searchParams);
        return page(
          `Edit ${name}`,
          html`<form method="post" action="${base}/edit" class="card">${csrfField(csrf)}${hidden("name", name)}${viewFields(view)}
<label for="value">New value of ${name}</label><textarea id="value" name="value" rows="8" autocomplete="off" spellcheck="false" aria-describedby="value-hint" autofocus></textarea>
<p class="hint" id="value-hint">The saved value is not shown here: type the whole new value (several lines are fine). It becomes a pending change until you review and save.</p>
<div class="row"><button type="submit">Keep as a pending change</button><a href="${base}${viewQuery(view)}">Cancel</a></div></form>`,
          { viewer, area: "projects", crumbs: envCrumbs(o.project, o.env, `Edit ${name}`) },
        );
      }, "GET"),
    )
    .post(
      "/p/:projectId/e/:env/edit",
      guarded(
        (args) =>
          edit(
            args,
            () => {
              const name = nameField(args.form);
              return { op: "edit", name, value: typedValue(args.form, name) };
            },
            "changed",
          ),
        "POST",
      ),
    )
    .post(
      "/p/:projectId/e/:env/add",
      guarded(
        (args) =>
          edit(
            args,
            () => {
              const name = nameField(args.form);
              return { op: "add", name, value: typedValue(args.form, name) };
            },
            "added",
          ),
        "POST",
      ),
    )
    .get(
      "/p/:projectId/e/:env/rename",
      guarded(async ({ session, viewer, params, url, csrf }) => {
        const o = await openEnvironment(ctx, session, params, "write");
        const name = url.searchParams.get("name") ?? "";
        const { rows } = await rowsOf(o, await drafts.current(session, o.env));
        if (!rows.some((r) => r.name === name && r.state !== "removed"))
          throw new ApiError("NOT_FOUND", `${o.env.name} has no key ${name.slice(0, 64)}`);
        const base = envHref(o.project.id, o.env.name);
        const view = viewOf(url.searchParams);
        return page(
          `Rename ${name}`,
          html`<form method="post" action="${base}/rename" class="card">${csrfField(csrf)}${hidden("from", name)}${viewFields(view)}
<label for="to">New name</label><input type="text" id="to" name="to" value="${name}" required maxlength="256" autocomplete="off" spellcheck="false" aria-describedby="to-hint" autofocus>
<p class="hint" id="to-hint">The key keeps its value and its line in the file. A letter or _, then letters, digits, _, . or -.</p>
<div class="row"><button type="submit">Keep as a pending change</button><a href="${base}${viewQuery(view)}">Cancel</a></div></form>`,
          { viewer, area: "projects", crumbs: envCrumbs(o.project, o.env, `Rename ${name}`) },
        );
      }, "GET"),
    )
    .post(
      "/p/:projectId/e/:env/rename",
      guarded(
        (args) =>
          edit(
            args,
            () => ({ op: "rename", from: nameField(args.form, "from"), to: nameField(args.form, "to") }),
            "renamed",
          ),
        "POST",
      ),
    )
    .post(
      "/p/:projectId/e/:env/delete",
      guarded((args) => edit(args, () => ({ op: "delete", name: nameField(args.form) }), "removed"), "POST"),
    )
    .post(
      "/p/:projectId/e/:env/undo",
      guarded((args) => edit(args, () => ({ op: "undo", name: nameField(args.form) }), "undone"), "POST"),
    )
    .post(
      "/p/:projectId/e/:env/import",
      guarded(async (args) => {
        const o = await openEnvironment(ctx, args.session, args.params, "write");
        const text = typeof args.form.dotenv === "string" ? args.form.dotenv : "";
        checkFile(text);
        const { values } = parseFile(text.replace(/\r\n/g, "\n"));
        if (values.size === 0)
          throw new ApiError(
            "INVALID_REQUEST",
            "the pasted text holds no keys",
            "paste lines like NAME=value",
          );
        checkValues(values);
        await drafts.edit(args.session, o.project, o.env, { op: "import", values });
        return back(args, o, "imported", values.size);
      }, "POST"),
    )
    .post(
      "/p/:projectId/e/:env/discard",
      guarded(async (args) => {
        const o = await openEnvironment(ctx, args.session, args.params, "write");
        await drafts.discard(args.session, o.env);
        return back(args, o, "discarded");
      }, "POST"),
    )
    .get(
      "/p/:projectId/e/:env/download",
      guarded(async ({ session, params, ip }) => {
        const o = await openEnvironment(ctx, session, params, "read");
        const result = await secrets.read(session, o.project, o.env, {
          format: "dotenv",
          ip,
          reason: "download",
        });
        const { "content-type": _, ...security } = PAGE_HEADERS;
        return new Response(result.dotenv ?? "", {
          headers: {
            ...security,
            "content-type": "text/plain; charset=utf-8",
            "content-disposition": `attachment; filename=".env.${o.env.name}"`,
          },
        });
      }, "GET"),
    );
}
