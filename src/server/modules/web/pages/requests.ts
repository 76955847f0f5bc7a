/**
 * Change requests of a project's protected environments (README
 * "Approvals"): the list (open ones; `?all=1` every one), a request's page
 * with its diff (names; values masked), and the forms an approver or the
 * author has: Reveal (a POST, an audited read, for approvers only: the
 * answer page alone shows the values), Approve, Reject (with a reason),
 * Withdraw, Rebase. Every rule is the requests service's, as the API's.
 */
import { Elysia } from "elysia";
import { projectAccess } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { createRequestService, REASON_MAX, type RequestView } from "../../requests/service";
import { createSecretService } from "../../secrets/service";
import { buttonForm, field, noticeOf, notices, redirect, withNotice } from "../forms";
import { createGuard, type PageArgs } from "../guard";
import { type Html, html, join } from "../html";
import { type Crumb, page } from "../layout";
import { envHref, projectHref, projectIdParam } from "../paths";
import { MASK, plural, when } from "../text";
import { PROJECT_LINKS } from "./projects";

PROJECT_LINKS.push({
  label: "Change requests",
  path: "requests",
  rank: 5,
  describe: "changes to protected environments, waiting for someone to approve them",
});

notices({
  requestopened:
    "Saved as change request #{n}: the environment is protected, so an approver must approve it.",
  approved: "Approved: the change is now version {n}.",
  rejected: "Rejected change request #{n}.",
  withdrawn: "Withdrew change request #{n}.",
  rebased: "Rebased on version {n}: it can be approved now.",
});

const STATE_WORDS: Record<RequestView["state"], string> = {
  open: "open",
  stale: "stale: the environment moved on",
  approved: "approved",
  rejected: "rejected",
  withdrawn: "withdrawn",
  applied: "approved and applied",
};

export const requestsHref = (projectId: string) => `${projectHref(projectId)}/requests`;

/** A change request's number from the URL, or the 404 of one that does not exist. */
function numberParam(value: string | undefined): number {
  if (!value || !/^[1-9][0-9]{0,9}$/.test(value))
    throw new ApiError("NOT_FOUND", "no such change request", "see the project's change requests");
  return Number(value);
}

const changes = (r: RequestView) =>
  [
    ...r.summary.added.map((n) => `+${n}`),
    ...r.summary.changed.map((n) => `~${n}`),
    ...r.summary.removed.map((n) => `-${n}`),
  ].join(" ") || "(layout only)";

export function requestPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const requests = createRequestService(ctx, createSecretService(ctx));

  const open = async (args: PageArgs) => {
    const projectId = projectIdParam(args.params.projectId);
    const access = await projectAccess(ctx, args.session, projectId);
    return { access, base: requestsHref(projectId) };
  };

  const crumbs = (project: { id: string; name: string }, last?: string): Crumb[] => [
    { label: "Projects", href: "/" },
    { label: project.name, href: projectHref(project.id) },
    ...(last
      ? [{ label: "Change requests", href: requestsHref(project.id) }, { label: last }]
      : [{ label: "Change requests" }]),
  ];

  /** The diff of a request: names, values masked unless revealed (then from -> to). */
  const diff = (r: RequestView, values?: Record<string, { from: string | null; to: string | null }>) => {
    const shown = (v: string | null | undefined, missing: string) =>
      values ? (v === null || v === undefined ? html`<span class="muted">${missing}</span>` : v) : MASK;
    const row = (
      sign: string,
      cls: string,
      word: string,
      name: string,
      from: Html | string,
      to: Html | string,
    ) =>
      html`<tr data-name="${name}"><td data-label="Change"><span class="op ${cls}" aria-hidden="true">${sign}</span><span class="sr-only">${word}</span></td><td class="name" data-label="Name">${name}</td><td class="value" data-label="Now">${from}</td><td class="value" data-label="Proposed">${to}</td></tr>`;
    const rows: Html[] = [
      ...r.summary.removed.map((n) =>
        row("-", "op-remove", "removed", n, shown(values?.[n]?.from, "missing"), "missing"),
      ),
      ...r.summary.added.map((n) =>
        row("+", "op-add", "added", n, "missing", shown(values?.[n]?.to, "missing")),
      ),
      ...r.summary.changed.map((n) =>
        row(
          "~",
          "op-change",
          "changed",
          n,
          shown(values?.[n]?.from, "missing"),
          shown(values?.[n]?.to, "missing"),
        ),
      ),
    ];
    const total = rows.length;
    return html`<p><strong>${plural(total, "change")}</strong>: ${r.summary.added.length} added, ${r.summary.changed.length} changed, ${r.summary.removed.length} removed.${values ? "" : " Values are not shown."}</p>
${total ? html`<div class="table-wrap"><table class="stack" id="request-diff"><caption class="sr-only">Proposed changes${values ? "" : "; values hidden"}</caption><thead><tr><th scope="col"><span class="sr-only">Change</span></th><th scope="col">Name</th><th scope="col">Now (v${r.baseVersion})</th><th scope="col">Proposed</th></tr></thead><tbody>${join(rows)}</tbody></table></div>` : html`<p class="muted">No key changes: only the file's layout.</p>`}`;
  };

  const requestPage = async (
    args: PageArgs,
    number: number,
    values?: Record<string, { from: string | null; to: string | null }>,
  ) => {
    const { access, base } = await open(args);
    const r = await requests.show(args.session, access, number);
    const action = `${base}/${r.number}`;
    const csrf = args.csrf;
    const openish = r.state === "open" || r.state === "stale";
    const actions: Html[] = [];
    if (openish && r.canApprove) {
      if (!values)
        actions.push(
          buttonForm({
            action: `${action}/reveal`,
            csrf,
            label: "Reveal values",
            className: "secondary",
            testId: "reveal",
          }),
        );
      if (r.state === "stale")
        actions.push(
          buttonForm({
            action: `${action}/rebase`,
            csrf,
            label: "Rebase on the latest version",
            testId: "rebase",
          }),
        );
      else
        actions.push(
          buttonForm({
            action: `${action}/approve`,
            csrf,
            label: `Approve: make version ${r.head + 1}`,
            testId: "approve",
            confirm: `Apply change request #${r.number} to ${r.environment} as version ${r.head + 1}?`,
            confirmAction: "Approve",
          }),
        );
    } else if (openish && r.canWithdraw && r.state === "stale") {
      actions.push(
        buttonForm({
          action: `${action}/rebase`,
          csrf,
          label: "Rebase on the latest version",
          testId: "rebase",
        }),
      );
    }
    if (openish && r.canWithdraw)
      actions.push(
        buttonForm({
          action: `${action}/withdraw`,
          csrf,
          label: "Withdraw",
          className: "secondary",
          testId: "withdraw",
        }),
      );
    const reject =
      openish && r.canApprove
        ? html`<form method="post" action="${action}/reject" class="card" aria-label="Reject"><input type="hidden" name="csrf" value="${csrf}"><label for="reason">Reason (shown to its author, optional)</label><input type="text" id="reason" name="reason" maxlength="${REASON_MAX}"><button type="submit" class="danger" data-testid="reject">Reject</button></form>`
        : html``;
    const why = openish
      ? r.canApprove
        ? ""
        : r.canWithdraw
          ? html`<p class="muted">You opened it: someone else must approve it.</p>`
          : html`<p class="muted">You cannot approve it: approving takes write access to ${r.environment} (or being on its list of approvers).</p>`
      : "";
    return page(
      `Change request #${r.number} for ${r.environment}`,
      html`<p class="muted">By ${r.author} · ${when(r.createdAt)} UTC · a ${r.kind} on version ${r.baseVersion} (${r.environment} is at version ${r.head}) · <strong data-testid="state">${STATE_WORDS[r.state]}</strong></p>
${r.decidedBy ? html`<p>${r.state === "withdrawn" ? "Withdrawn" : r.state === "applied" ? "Approved" : "Decided"} by ${r.decidedBy}${r.decidedAt ? html` · ${when(r.decidedAt)} UTC` : ""}${r.appliedVersion ? html` · <a href="${envHref(access.project.id, r.environment)}/history">version ${r.appliedVersion}</a>` : ""}</p>` : ""}
${r.reason ? html`<p>Reason: ${r.reason}</p>` : ""}
${r.state === "stale" ? html`<p class="notice bad">${r.environment} moved on since version ${r.baseVersion}: rebase the request on version ${r.head} before it can be approved.</p>` : ""}
${values ? html`<p class="notice" role="status">Values revealed; this read is in the audit log.</p>` : ""}
${diff(r, values)}
${why}
${actions.length ? html`<div class="row">${join(actions)}</div>` : ""}
${reject}
<p><a href="${base}">All change requests</a></p>`,
      {
        viewer: args.viewer,
        area: "projects",
        wide: true,
        crumbs: crumbs(access.project, `#${r.number}`),
        notice: noticeOf(args.url),
      },
    );
  };

  const act = (verb: "approve" | "reject" | "withdraw" | "rebase") =>
    guarded(async (args) => {
      const { access, base } = await open(args);
      const number = numberParam(args.params.number);
      const here = `${base}/${number}`;
      switch (verb) {
        case "approve": {
          const done = await requests.approve(args.session, access, number, args.ip);
          return redirect(withNotice(here, "approved", done.version));
        }
        case "reject":
          await requests.reject(
            args.session,
            access,
            number,
            field(args.form, "reason", REASON_MAX),
            args.ip,
          );
          return redirect(withNotice(here, "rejected", number));
        case "withdraw":
          await requests.withdraw(args.session, access, number, args.ip);
          return redirect(withNotice(here, "withdrawn", number));
        case "rebase": {
          const done = await requests.rebase(args.session, access, number, args.ip);
          return redirect(withNotice(here, "rebased", done.baseVersion));
        }
      }
    }, "POST");

  return new Elysia({ name: "web-requests" })
    .get(
      "/p/:projectId/requests",
      guarded(async (args) => {
        const { access, base } = await open(args);
        const all = args.url.searchParams.get("all") === "1";
        const list = await requests.list(args.session, access, { all });
        const rows = list.map(
          (r) =>
            html`<tr data-request="${r.number}"><td data-label="#"><a href="${base}/${r.number}">#${r.number}</a></td><td data-label="Environment">${r.environment}</td><td data-label="State">${STATE_WORDS[r.state]}</td><td data-label="By">${r.author}</td><td data-label="Base">v${r.baseVersion}</td><td data-label="When">${when(r.createdAt)} UTC</td><td class="name" data-label="Changes">${changes(r)}</td></tr>`,
        );
        return page(
          "Change requests",
          html`<p class="muted">A change to a protected environment waits here until someone other than its author approves it. ${all ? html`<a href="${base}">Only open ones</a>` : html`<a href="${base}?all=1">Show closed ones too</a>`}</p>
${
  list.length
    ? html`<div class="table-wrap"><table class="stack" id="requests"><thead><tr><th scope="col">#</th><th scope="col">Environment</th><th scope="col">State</th><th scope="col">By</th><th scope="col">Base</th><th scope="col">When</th><th scope="col">Changes (names)</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : html`<p class="muted">${all ? "No change requests." : "No open change requests."}</p>`
}`,
          {
            viewer: args.viewer,
            area: "projects",
            wide: true,
            crumbs: crumbs(access.project),
            notice: noticeOf(args.url),
          },
        );
      }, "GET"),
    )
    .get(
      "/p/:projectId/requests/:number",
      guarded((args) => requestPage(args, numberParam(args.params.number)), "GET"),
    )
    .post(
      "/p/:projectId/requests/:number/reveal",
      guarded(async (args) => {
        const { access } = await open(args);
        const number = numberParam(args.params.number);
        const revealed = await requests.reveal(args.session, access, number, args.ip);
        return requestPage(args, number, revealed.values);
      }, "POST"),
    )
    .post("/p/:projectId/requests/:number/approve", act("approve"))
    .post("/p/:projectId/requests/:number/reject", act("reject"))
    .post("/p/:projectId/requests/:number/withdraw", act("withdraw"))
    .post("/p/:projectId/requests/:number/rebase", act("rebase"));
}
