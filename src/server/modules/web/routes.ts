/**
 * The web pages: sign in and out, approve a dotenv-vault CLI login, a new
 * project or a sign-out, approve a vault CLI sign-in, and a read-only
 * project overview that never shows a value. Plain HTML forms, no
 * JavaScript; every form carries a CSRF token.
 */
import { Elysia } from "elysia";
import { projectAccess } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError, ERROR_STATUS } from "../../errors";
import { clientIp } from "../../http";
import { login, SESSION_TTL_MS } from "../auth/service";
import { summaryLine } from "../compat/routes";
import {
  createHandoffService,
  type HandoffService,
  normalizeAddress,
  REQUEST_ID,
  WrongCodeError,
} from "../handoff/service";
import { createProjectService } from "../projects/service";
import { createSecretService } from "../secrets/service";
import { type Html, html, PAGE_HEADERS, page, STYLE } from "./html";
import { browserSession, cookie, csrfFor, csrfValid, SESSION_COOKIE } from "./session";

type Session = Extract<Caller, { kind: "session" }>;
type Form = Record<string, unknown>;

const PROJECT_ID = /^vlt_[0-9a-f]{64}$/;

function redirect(location: string, headers: Record<string, string> = {}): Response {
  const { "content-type": _, ...security } = PAGE_HEADERS;
  return new Response(null, { status: 303, headers: { ...security, location, ...headers } });
}

/** Only local paths: never another origin, never `//host`. */
function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?!\/)[\x21-\x7e]*$/.test(next) && !next.includes("\\") ? next : "/";
}

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 16);

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

export function webRoutes(ctx: AppContext) {
  const handoffs = createHandoffService(ctx);
  const projects = createProjectService(ctx);
  const secrets = createSecretService(ctx);

  const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;

  /** Runs a page: the signed-in user (or a redirect to sign in), a CSRF token, and errors as pages. */
  const guarded =
    (
      handler: (args: {
        request: Request;
        session: Session;
        csrf: string;
        form: Form;
        ip: string | null;
      }) => Promise<Response>,
      method: "GET" | "POST",
    ) =>
    async ({
      request,
      body,
      server,
    }: {
      request: Request;
      body: unknown;
      server: Parameters<typeof clientIp>[2];
    }) => {
      const csrf = csrfFor(ctx, request, ctx.random);
      const extra = csrf.setCookie ? { "set-cookie": csrf.setCookie } : undefined;
      const session = await browserSession(ctx, request);
      const url = new URL(request.url);
      if (!session) {
        if (method === "POST")
          return page("Signed out", html`<p class="error">Your session ended. Sign in and start again.</p>`, {
            status: 401,
            headers: extra,
          });
        return redirect(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`, extra);
      }
      if (session.user.mustChangePassword) {
        return page(
          "Change your password first",
          html`<p>This account still has a one-time password. Change it with <code>vault login</code>, then come back.</p>`,
          {
            status: 403,
            user: session.user.email,
            headers: extra,
          },
        );
      }
      const form = (body && typeof body === "object" ? body : {}) as Form;
      if (method === "POST" && !csrfValid(ctx, request, form.csrf)) {
        return page(
          "Request refused",
          html`<p class="error">This form expired or did not come from this site.</p><p>Go back, reload the page and try again.</p>`,
          {
            status: 403,
            user: session.user.email,
            headers: extra,
          },
        );
      }
      try {
        const response = await handler({
          request,
          session,
          csrf: csrf.token,
          form,
          ip: clientIp(ctx, request, server),
        });
        if (extra) response.headers.append("set-cookie", extra["set-cookie"]);
        return response;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return page(
          "That did not work",
          html`<p class="error">${error.message}</p>${error.hint ? html`<p>${error.hint}</p>` : ""}`,
          {
            status: ERROR_STATUS[error.code],
            user: session.user.email,
            headers: extra,
          },
        );
      }
    };

  const approveForm = (
    action: string,
    csrf: string,
    fields: Record<string, string>,
    button: string,
    extra: Html | string = "",
  ) =>
    html`<form method="post" action="${action}" class="card">
${hidden("csrf", csrf)}${Object.entries(fields).map(([k, v]) => hidden(k, v))}
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
    session: Session,
    view: View,
    ip: string | null,
    kind: keyof typeof AT_STAKE,
    command: string,
    intro: Html,
    form: () => Html,
    options: { status?: number; error?: string } = {},
  ): Response => {
    const user = session.user.email;
    if (view.waiting === "poll") {
      return page(
        title,
        html`${intro}<div class="card"><p><strong>Waiting for the CLI.</strong> No <code>${command.split(" ")[0]}</code> CLI has asked for this request yet, so there is nothing to approve. This page reloads by itself every few seconds.</p><p class="muted">If it keeps waiting, this link did not come from a CLI that runs now: close it.</p></div>`,
        { user, refreshSeconds: 2 },
      );
    }
    if (view.waiting === "cli") {
      return page(
        title,
        html`<p class="error" role="alert">No vault CLI has registered this request, so it cannot be approved.</p><p>To sign in the vault CLI, run <code>vault login --browser</code> in your own terminal and open the link it prints. If someone sent you this link, ignore it.</p>`,
        { user },
      );
    }
    if (view.waiting === "old-cli") {
      return page(
        title,
        html`<p class="error" role="alert">This request came from a vault CLI too old to show a verification code, so it cannot be approved.</p><p>Update vault on the machine you sign in from, then run <code>vault login --browser</code> again.</p>`,
        { user },
      );
    }
    return page(
      title,
      html`${intro}${originCard(view, ip, kind, command, ctx.now())}${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ""}${form()}`,
      { user, status: options.status },
    );
  };

  const done = (session: Session, title: string, message: string) =>
    page(
      title,
      html`<div class="card"><p>${message}</p><p class="muted">You can close this tab and return to your terminal.</p></div>`,
      {
        user: session.user.email,
      },
    );

  /** `vault login --browser`: the code from the terminal is the confirmation. */
  const cliApprovalPage = (
    session: Session,
    csrf: string,
    ip: string | null,
    id: string,
    view: View,
    options: { status?: number; error?: string } = {},
  ) =>
    approvalPage(
      "Approve a vault CLI sign-in",
      session,
      view,
      ip,
      "cli",
      "vault login --browser",
      html`<p>The vault CLI asks to sign in as <strong>${session.user.email}</strong>. It will be able to do what you can do, for twelve hours.</p>
<p>Type the code that <code>vault login --browser</code> shows in your terminal. If you have no such code, someone else made this request: do not approve it, and never type a code someone sent you.</p>`,
      () =>
        approveForm(
          "/cli/approve",
          csrf,
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

  return new Elysia({ name: "web" })
    .get(
      "/assets/vault.css",
      () =>
        new Response(STYLE, {
          headers: { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" },
        }),
    )
    .get("/signin", ({ request, query }) => {
      const csrf = csrfFor(ctx, request, ctx.random);
      return signinPage(csrf.token, safeNext(query.next), undefined, 200, csrf.setCookie);
    })
    .post("/signin", async ({ request, body, server }) => {
      const form = (body && typeof body === "object" ? body : {}) as Form;
      const csrf = csrfFor(ctx, request, ctx.random);
      const next = safeNext(form.next);
      if (!csrfValid(ctx, request, form.csrf))
        return signinPage(csrf.token, next, "This form expired. Try again.", 403, csrf.setCookie);
      const email = typeof form.email === "string" ? form.email.slice(0, 320) : "";
      const password = typeof form.password === "string" ? form.password.slice(0, 1024) : "";
      try {
        const ip = clientIp(ctx, request, server);
        const result = await login(ctx, { email, password, ip });
        return redirect(next, {
          "set-cookie": cookie(ctx, SESSION_COOKIE, result.token, SESSION_TTL_MS / 1000),
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return signinPage(
          csrf.token,
          next,
          error.message,
          ERROR_STATUS[error.code],
          csrf.setCookie,
          error.headers,
        );
      }
    })
    .post(
      "/signout",
      guarded(async ({ session }) => {
        await ctx.appdb.tokens.revoke(session.token.id, ctx.now());
        return redirect("/signin", { "set-cookie": cookie(ctx, SESSION_COOKIE, "", 0) });
      }, "POST"),
    )
    .get(
      "/",
      guarded(async ({ session, csrf }) => {
        const list = await projects.list(session);
        const rows = list.map(
          (p) =>
            html`<tr><td><a href="/open?DOTENV_VAULT=${p.id}">${p.name}</a></td><td><code>${p.id.slice(0, 12)}…</code></td><td>${when(p.createdAt)}</td></tr>`,
        );
        return page(
          "Projects",
          html`${list.length ? html`<table><tr><th>Project</th><th>Id</th><th>Created</th></tr>${rows}</table>` : html`<p class="muted">No projects yet. Create one with <code>vault new</code> or <code>npx dotenv-vault new</code>.</p>`}
<form method="post" action="/signout">${hidden("csrf", csrf)}<button class="secondary" type="submit">Sign out</button></form>`,
          { user: session.user.email },
        );
      }, "GET"),
    )
    .get(
      "/login",
      guarded(async ({ request, session, csrf, ip }) => {
        const q = new URL(request.url).searchParams;
        const projectId = projectParam(q.get("DOTENV_VAULT"));
        const id = requestParam(q.get("requestUid"));
        const access = await projectAccess(ctx, session, projectId);
        const view = await handoffs.view("login", id);
        return approvalPage(
          "Approve a CLI login",
          session,
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
      guarded(async ({ session, form, ip }) => {
        await handoffs.approveLogin(session, requestParam(form.requestUid), projectParam(form.DOTENV_VAULT), {
          ip,
          confirmed: form.confirm === "yes",
        });
        return done(session, "Login approved", "The CLI now has a credential for this project.");
      }, "POST"),
    )
    .get(
      "/new",
      guarded(async ({ request, session, csrf, ip }) => {
        const q = new URL(request.url).searchParams;
        const id = requestParam(q.get("request_uid"));
        const name = (q.get("project_name") ?? "").slice(0, 100) || "my-project";
        const view = await handoffs.view("new", id);
        return approvalPage(
          "Create a project",
          session,
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
      guarded(async ({ session, form, ip }) => {
        const name = typeof form.project_name === "string" ? form.project_name : "";
        await handoffs.approveNew(session, requestParam(form.request_uid), name, {
          ip,
          confirmed: form.confirm === "yes",
        });
        return done(
          session,
          "Project created",
          `The project ${name.trim()} is ready; the CLI writes its id into .env.vault.`,
        );
      }, "POST"),
    )
    .get(
      "/logout",
      guarded(async ({ request, session, csrf, ip }) => {
        const q = new URL(request.url).searchParams;
        const projectId = projectParam(q.get("DOTENV_VAULT"));
        const id = requestParam(q.get("requestUid"));
        const access = await projectAccess(ctx, session, projectId);
        const view = await handoffs.view("logout", id);
        return approvalPage(
          "Sign the CLI out",
          session,
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
      guarded(async ({ session, form, ip }) => {
        const count = await handoffs.approveLogout(
          session,
          requestParam(form.requestUid),
          projectParam(form.DOTENV_VAULT),
          { ip, confirmed: form.confirm === "yes" },
        );
        return done(
          session,
          "Signed out",
          `Revoked ${count} credential${count === 1 ? "" : "s"} for this project.`,
        );
      }, "POST"),
    )
    .get(
      "/cli/approve",
      guarded(async ({ request, session, csrf, ip }) => {
        const id = requestParam(new URL(request.url).searchParams.get("request"));
        return cliApprovalPage(session, csrf, ip, id, await handoffs.view("cli", id));
      }, "GET"),
    )
    .post(
      "/cli/approve",
      guarded(async ({ session, form, csrf, ip }) => {
        const id = requestParam(form.request);
        try {
          await handoffs.approveCli(session, id, typeof form.code === "string" ? form.code : "", { ip });
        } catch (error) {
          if (!(error instanceof WrongCodeError)) throw error;
          // The form again, to type the code once more, while the request has attempts left.
          return cliApprovalPage(session, csrf, ip, id, await handoffs.view("cli", id), {
            status: ERROR_STATUS[error.code],
            error: `${error.message}: ${error.attemptsLeft} attempt${error.attemptsLeft === 1 ? "" : "s"} left, then this request is refused`,
          });
        }
        return done(session, "Sign-in approved", "The vault CLI is signed in.");
      }, "POST"),
    )
    .get(
      "/open",
      guarded(async ({ request, session }) => {
        const q = new URL(request.url).searchParams;
        const access = await projectAccess(ctx, session, projectParam(q.get("DOTENV_VAULT")));
        const selected =
          access.environments.find((e) => e.name === q.get("environment")) ??
          access.environments.find((e) => e.isMain);
        const members = await ctx.appdb.projects.members(access.project.id);
        const envRows = access.environments.map(
          (e) =>
            html`<tr><td><a href="/open?DOTENV_VAULT=${access.project.id}&amp;environment=${e.name}">${e.name}</a>${e.isMain ? html` <span class="muted">(main)</span>` : ""}</td><td>${e.head ? `v${e.head}` : "—"}</td><td>${access.permission(e.id)}</td></tr>`,
        );
        const readable = selected && access.permission(selected.id) !== "none";
        const versions = readable ? await secrets.versions(selected, { limit: 20 }) : [];
        const versionRows = versions.map(
          (v) =>
            html`<tr><td>v${v.version}</td><td>${summaryLine(v.summary)}</td><td>${v.author}</td><td>${when(v.createdAt)}</td></tr>`,
        );
        return page(
          access.project.name,
          html`<p class="muted"><code>${access.project.id}</code></p>
<h2>Environments</h2>
<table><tr><th>Environment</th><th>Version</th><th>Your access</th></tr>${envRows}</table>
${selected ? html`<h2>Versions of ${selected.name}</h2>${readable ? (versions.length ? html`<table><tr><th>Version</th><th>Change</th><th>By</th><th>When</th></tr>${versionRows}</table>` : html`<p class="muted">Nothing pushed yet.</p>`) : html`<p class="muted">You have no access to ${selected.name}.</p>`}` : ""}
<h2>Members</h2>
<table><tr><th>Member</th><th>Role</th></tr>${members.map((m) => html`<tr><td>${m.email}</td><td>${m.role}</td></tr>`)}</table>
<p class="muted">Values are never shown here. Use <code>vault pull</code> or <code>vault tui</code>.</p>`,
          { user: session.user.email },
        );
      }, "GET"),
    );

  function signinPage(
    csrf: string,
    next: string,
    error: string | undefined,
    status: number,
    setCookie?: string,
    headers?: Record<string, string>,
  ): Response {
    return page(
      "Sign in",
      html`${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<form method="post" action="/signin" class="card">
${hidden("csrf", csrf)}${hidden("next", next)}
<label for="email">Email</label><input id="email" type="email" name="email" autocomplete="username" required maxlength="320">
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Sign in</button>
</form>`,
      { status, headers: { ...headers, ...(setCookie ? { "set-cookie": setCookie } : {}) } },
    );
  }
}
