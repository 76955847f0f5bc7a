/**
 * The approval pages of the browser hand-offs: a dotenv-vault CLI login,
 * a new project and a sign-out (`/login`, `/new`, `/logout`), and a vault
 * CLI sign-in (`/cli/approve`, with the code from the terminal). Each shows
 * where the request came from beside this browser's address; the rules are
 * the hand-off service's.
 */
import { Elysia } from "elysia";
import { projectAccess } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { ApiError, ERROR_STATUS } from "../../../errors";
import {
  createHandoffService,
  type HandoffService,
  normalizeAddress,
  REQUEST_ID,
  WrongCodeError,
} from "../../handoff/service";
import { csrfField, hidden } from "../forms";
import { createGuard } from "../guard";
import { type Html, html } from "../html";
import { page, type Viewer } from "../layout";
import { PROJECT_ID, when } from "../text";

/** How long ago, in words a person reads at a glance. */
export function ago(ms: number): string {
  if (ms < 60_000) return "less than a minute ago";
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"} ago`;
  return `${Math.floor(minutes / 60)} hours ago`;
}

/** Whether the request and the browser came from one address: undefined when either is unknown. */
export function sameAddress(request: string | null, browser: string | null): boolean | undefined {
  const a = normalizeAddress(request);
  const b = normalizeAddress(browser);
  return a === null || b === null ? undefined : a === b;
}

type View = Awaited<ReturnType<HandoffService["view"]>>;

/** What approving would hand over, per kind of request, for the warnings. */
const AT_STAKE = {
  login: "a credential for this project in your name",
  new: "the id of a new project in your name",
  logout: "the revocation of your CLI credentials for this project",
  cli: "a session that can do everything you can, for twelve hours",
} as const;

/**
 * Where and when a request came from (its first poll), beside this browser's own address, and
 * a prominent warning when the two differ: the page every approval shows above its form.
 */
export function originCard(
  view: View,
  browserIp: string | null,
  kind: keyof typeof AT_STAKE,
  command: string,
  now: number,
): Html {
  const origin = view.origin;
  if (!origin) return html``;
  const requestIp = normalizeAddress(origin.ip);
  const browser = normalizeAddress(browserIp);
  const same = sameAddress(requestIp, browser);
  const verdict =
    same === false
      ? html`<p class="warning" role="alert"><strong>This request did not come from this browser's address.</strong> It was made from <code>${requestIp}</code>, and this browser is at <code>${browser}</code>. Approve only if you ran <code>${command}</code> yourself on that machine (over SSH, for example). If someone sent you this link, do not approve: they would get ${AT_STAKE[kind]}.</p>`
      : same === true
        ? html`<p class="muted">Same address as this browser. A shared network looks the same from here, so approve only a request you started yourself.</p>`
        : html`<p class="muted">The server cannot tell ${requestIp === null ? "where the request came from" : "this browser's address"} (a unix socket, or a proxy that does not pass it on), so approve only a request you started yourself.</p>`;
  return html`<div class="card origin">
<h2>Where this request came from</h2>
<dl class="facts">
<dt>Made from</dt><dd><code>${requestIp ?? "unknown"}</code></dd>
<dt>When</dt><dd>${ago(Math.max(0, now - origin.seenAt))} (${when(origin.seenAt)} UTC)</dd>
${origin.userAgent ? html`<dt>Program</dt><dd><code>${origin.userAgent}</code></dd>` : ""}
<dt>This browser</dt><dd><code>${browser ?? "unknown"}</code></dd>
</dl>
${verdict}
</div>`;
}

/** The explicit confirmation the pages of the stock dotenv-vault CLI ask for (it shows no code to type). */
const confirmBox = (command: string) =>
  html`<label class="check"><input type="checkbox" name="confirm" value="yes" required> I ran <code>${command}</code> myself just now, from the address shown above</label>`;

export function handoffPages(ctx: AppContext) {
  const handoffs = createHandoffService(ctx);
  const guarded = createGuard(ctx);

  const approveForm = (
    action: string,
    csrf: string,
    fields: Record<string, string>,
    button: string,
    extra: Html | string = "",
  ) =>
    html`<form method="post" action="${action}" class="card">
${csrfField(csrf)}${Object.entries(fields).map(([k, v]) => hidden(k, v))}
${extra}
<div class="row"><button type="submit">${button}</button><a class="muted" href="/">Cancel</a></div>
</form>`;

  /**
   * An approval page: nothing to approve while the request waits for its CLI (the stock
   * CLI's pages reload themselves until its first poll arrives), else where the request came
   * from and the form.
   */
  const approvalPage = (
    title: string,
    viewer: Viewer,
    view: View,
    ip: string | null,
    kind: keyof typeof AT_STAKE,
    command: string,
    intro: Html,
    form: () => Html,
    options: { status?: number; error?: string } = {},
  ): Response => {
    if (view.waiting === "poll") {
      return page(
        title,
        html`${intro}<div class="card"><p><strong>Waiting for the CLI.</strong> No <code>${command.split(" ")[0]}</code> CLI has asked for this request yet, so there is nothing to approve. This page reloads by itself every few seconds.</p><p class="muted">If it keeps waiting, this link did not come from a CLI that runs now: close it.</p></div>`,
        { viewer, refreshSeconds: 2 },
      );
    }
    if (view.waiting === "cli") {
      return page(
        title,
        html`<p class="error" role="alert">No vault CLI has registered this request, so it cannot be approved.</p><p>To sign in the vault CLI, run <code>vault login --browser</code> in your own terminal and open the link it prints. If someone sent you this link, ignore it.</p>`,
        { viewer },
      );
    }
    if (view.waiting === "old-cli") {
      return page(
        title,
        html`<p class="error" role="alert">This request came from a vault CLI too old to show a verification code, so it cannot be approved.</p><p>Update vault on the machine you sign in from, then run <code>vault login --browser</code> again.</p>`,
        { viewer },
      );
    }
    return page(
      title,
      html`${intro}${originCard(view, ip, kind, command, ctx.now())}${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ""}${form()}`,
      { viewer, status: options.status },
    );
  };

  const done = (viewer: Viewer, title: string, message: string) =>
    page(
      title,
      html`<div class="card"><p>${message}</p><p class="muted">You can close this tab and return to your terminal.</p></div>`,
      { viewer },
    );

  /** `vault login --browser`: the code from the terminal is the confirmation. */
  const cliApprovalPage = (
    viewer: Viewer,
    ip: string | null,
    id: string,
    view: View,
    options: { status?: number; error?: string } = {},
  ) =>
    approvalPage(
      "Approve a vault CLI sign-in",
      viewer,
      view,
      ip,
      "cli",
      "vault login --browser",
      html`<p>The vault CLI asks to sign in as <strong>${viewer.email}</strong>. It will be able to do what you can do, for twelve hours.</p>
<p>Type the code that <code>vault login --browser</code> shows in your terminal. If you have no such code, someone else made this request: do not approve it, and never type a code someone sent you.</p>`,
      () =>
        approveForm(
          "/cli/approve",
          viewer.csrf,
          { request: id },
          "Approve",
          html`<label for="code">Code from your terminal</label><input id="code" type="text" name="code" placeholder="XXXX-XXXX" maxlength="20" autocomplete="off" autocapitalize="characters" spellcheck="false" required>
<p class="muted">${view.attemptsLeft} attempt${view.attemptsLeft === 1 ? "" : "s"} left; then this request is refused.</p>`,
        ),
      options,
    );

  const projectParam = (value: unknown): string => {
    if (typeof value !== "string" || !PROJECT_ID.test(value)) {
      throw new ApiError(
        "INVALID_REQUEST",
        "this link names no valid project (DOTENV_VAULT)",
        "start again from your terminal",
      );
    }
    return value;
  };
  const requestParam = (value: unknown): string => {
    if (typeof value !== "string" || !REQUEST_ID.test(value)) {
      throw new ApiError(
        "INVALID_REQUEST",
        "this link has no valid request id",
        "start again from your terminal",
      );
    }
    return value;
  };

  return new Elysia({ name: "web-handoff" })
    .get(
      "/login",
      guarded(async ({ request, session, viewer, csrf, ip }) => {
        const q = new URL(request.url).searchParams;
        const projectId = projectParam(q.get("DOTENV_VAULT"));
        const id = requestParam(q.get("requestUid"));
        const access = await projectAccess(ctx, session, projectId);
        const view = await handoffs.view("login", id);
        return approvalPage(
          "Approve a CLI login",
          viewer,
          view,
          ip,
          "login",
          "dotenv-vault login",
          html`<p>The dotenv-vault CLI asks to sign in as <strong>${session.user.email}</strong> for the project <strong>${access.project.name}</strong>. It will get a credential for this project (saved as <code>.env.me</code>).</p>`,
          () =>
            approveForm(
              "/login",
              csrf,
              { DOTENV_VAULT: projectId, requestUid: id },
              "Approve",
              confirmBox("dotenv-vault login"),
            ),
        );
      }, "GET"),
    )
    .post(
      "/login",
      guarded(async ({ session, viewer, form, ip }) => {
        await handoffs.approveLogin(session, requestParam(form.requestUid), projectParam(form.DOTENV_VAULT), {
          ip,
          confirmed: form.confirm === "yes",
        });
        return done(viewer, "Login approved", "The CLI now has a credential for this project.");
      }, "POST"),
    )
    .get(
      "/new",
      guarded(async ({ request, viewer, csrf, ip }) => {
        const q = new URL(request.url).searchParams;
        const id = requestParam(q.get("request_uid"));
        const name = (q.get("project_name") ?? "").slice(0, 100) || "my-project";
        const view = await handoffs.view("new", id);
        return approvalPage(
          "Create a project",
          viewer,
          view,
          ip,
          "new",
          "dotenv-vault new",
          html`<p>The dotenv-vault CLI asks to create a new project. It gets the four environments development, ci, staging and production, and you become its owner.</p>`,
          () =>
            approveForm(
              "/new",
              csrf,
              { request_uid: id },
              "Create project",
              html`<label for="name">Project name</label><input id="name" type="text" name="project_name" value="${name}" maxlength="100" required>
${confirmBox("dotenv-vault new")}`,
            ),
        );
      }, "GET"),
    )
    .post(
      "/new",
      guarded(async ({ session, viewer, form, ip }) => {
        const name = typeof form.project_name === "string" ? form.project_name : "";
        await handoffs.approveNew(session, requestParam(form.request_uid), name, {
          ip,
          confirmed: form.confirm === "yes",
        });
        return done(
          viewer,
          "Project created",
          `The project ${name.trim()} is ready; the CLI writes its id into .env.vault.`,
        );
      }, "POST"),
    )
    .get(
      "/logout",
      guarded(async ({ request, session, viewer, csrf, ip }) => {
        const q = new URL(request.url).searchParams;
        const projectId = projectParam(q.get("DOTENV_VAULT"));
        const id = requestParam(q.get("requestUid"));
        const access = await projectAccess(ctx, session, projectId);
        const view = await handoffs.view("logout", id);
        return approvalPage(
          "Sign the CLI out",
          viewer,
          view,
          ip,
          "logout",
          "dotenv-vault logout",
          html`<p>Revoke your CLI credentials (<code>.env.me</code>) for the project <strong>${access.project.name}</strong>? Every machine that uses one will need <code>dotenv-vault login</code> again.</p>`,
          () =>
            approveForm(
              "/logout",
              csrf,
              { DOTENV_VAULT: projectId, requestUid: id },
              "Revoke",
              confirmBox("dotenv-vault logout"),
            ),
        );
      }, "GET"),
    )
    .post(
      "/logout",
      guarded(async ({ session, viewer, form, ip }) => {
        const count = await handoffs.approveLogout(
          session,
          requestParam(form.requestUid),
          projectParam(form.DOTENV_VAULT),
          { ip, confirmed: form.confirm === "yes" },
        );
        return done(
          viewer,
          "Signed out",
          `Revoked ${count} credential${count === 1 ? "" : "s"} for this project.`,
        );
      }, "POST"),
    )
    .get(
      "/cli/approve",
      guarded(async ({ request, viewer, ip }) => {
        const id = requestParam(new URL(request.url).searchParams.get("request"));
        return cliApprovalPage(viewer, ip, id, await handoffs.view("cli", id));
      }, "GET"),
    )
    .post(
      "/cli/approve",
      guarded(async ({ session, viewer, form, ip }) => {
        const id = requestParam(form.request);
        try {
          await handoffs.approveCli(session, id, typeof form.code === "string" ? form.code : "", { ip });
        } catch (error) {
          if (!(error instanceof WrongCodeError)) throw error;
          // The form again, to type the code once more, while the request has attempts left.
          return cliApprovalPage(viewer, ip, id, await handoffs.view("cli", id), {
            status: ERROR_STATUS[error.code],
            error: `${error.message}: ${error.attemptsLeft} attempt${error.attemptsLeft === 1 ? "" : "s"} left, then this request is refused`,
          });
        }
        return done(viewer, "Sign-in approved", "The vault CLI is signed in.");
      }, "POST"),
    );
}
