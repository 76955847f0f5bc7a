/**
 * A project's webhooks: add one (its signing secret shown once, on the answer to that form),
 * list them, and per webhook its delivery log with ping, redeliver, enable/disable, rotate the
 * secret and delete (the last two with a confirmation). For the project's managers, as in the
 * API (a member is refused with the API's 403, a stranger with its 404); the rules are the
 * webhooks service's.
 */
import { Elysia } from "elysia";
import { type ProjectAccess, projectAccess } from "../../../auth/access";
import type { AppContext } from "../../../context";
import { ApiError } from "../../../errors";
import { WEBHOOK_EVENTS } from "../../webhooks/events";
import {
  createWebhookService,
  DELIVERY_ID,
  type DeliveryView,
  WEBHOOK_ID,
  type WebhookView,
} from "../../webhooks/service";
import {
  asksFirst,
  buttonForm,
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
  label: "Webhooks",
  path: "webhooks",
  rank: 35,
  manage: true,
  describe: "tell other programs when something changes, signed",
});

notices({
  "webhook-pinged": "Ping sent: see its delivery below.",
  "webhook-redelivered": "Delivery sent again: see its state below.",
  "webhook-enabled": "Webhook enabled: new events are delivered.",
  "webhook-disabled": "Webhook disabled: events meanwhile are not queued.",
  "webhook-removed": "Webhook removed, with its delivery log.",
});

export function webhookPages(ctx: AppContext) {
  const guarded = createGuard(ctx);
  const webhooks = createWebhookService(ctx);

  const listHref = (projectId: string) => `${projectHref(projectId)}/webhooks`;
  const hookHref = (projectId: string, id: string) => `${listHref(projectId)}/${id}`;
  const crumbs = (access: ProjectAccess, last?: string) => [
    { label: "Projects", href: "/" },
    { label: access.project.name, href: projectHref(access.project.id) },
    ...(last === undefined ? [] : [{ label: "Webhooks", href: listHref(access.project.id) }]),
    { label: last ?? "Webhooks" },
  ];
  const load = (session: Session, projectId: unknown) =>
    projectAccess(ctx, session, projectIdParam(projectId));
  const idParam = (value: unknown, pattern: RegExp, what: string): string => {
    if (typeof value !== "string" || !pattern.test(value)) throw new ApiError("NOT_FOUND", `no such ${what}`);
    return value;
  };

  const filters = (w: WebhookView) =>
    html`${w.events?.join(", ") ?? "every event"} on ${w.environments?.join(", ") ?? "every environment"}`;

  const row = (access: ProjectAccess, w: WebhookView): Html =>
    html`<tr><td data-label="URL"><a href="${hookHref(access.project.id, w.id)}">${w.origin}</a></td><td data-label="Events">${w.events?.join(", ") ?? "all"}</td><td data-label="Environments">${w.environments?.join(", ") ?? "all"}</td><td data-label="State"><span class="badge">${w.enabled ? "enabled" : "disabled"}</span></td><td data-label="Created">${when(w.createdAt)}</td></tr>`;

  const createForm = (access: ProjectAccess, csrf: string): Html =>
    html`<h2 id="create">Add a webhook</h2>
<form method="post" action="${listHref(access.project.id)}" class="card" data-testid="create-webhook">
${csrfField(csrf)}
<label for="webhook-url">URL (https://)</label><input id="webhook-url" type="url" name="url" required maxlength="2048" placeholder="https://deploy.example.com/hooks/vault" autocomplete="off">
<fieldset class="card"><legend>Environments (none checked: every environment)</legend>
${access.environments.map((e) => html`<label class="check"><input type="checkbox" name="env_${e.name}" value="yes"> ${e.name}</label>`)}
</fieldset>
<fieldset class="card"><legend>Events (none checked: every event)</legend>
${WEBHOOK_EVENTS.map((e) => html`<label class="check"><input type="checkbox" name="event_${e}" value="yes"> <code>${e}</code></label>`)}
</fieldset>
<button type="submit">Add webhook</button>
</form>`;

  const deliveryRow = (access: ProjectAccess, w: WebhookView, d: DeliveryView, csrf: string): Html =>
    html`<tr><td data-label="Delivery"><code>${d.id}</code></td><td data-label="Type">${d.type}</td><td data-label="State"><span class="badge">${d.state}</span></td><td data-label="Attempts">${d.attempts}</td><td data-label="Last">${d.lastStatus === null ? (d.lastError ?? "-") : `${d.lastStatus}${d.lastError ? ` ${d.lastError}` : ""}`}</td><td data-label="Latency">${d.lastLatencyMs === null ? "-" : `${d.lastLatencyMs} ms`}</td><td data-label="Queued">${when(d.createdAt)}</td><td data-label="Next try">${d.nextAttemptAt === null ? "-" : when(d.nextAttemptAt)}</td><td data-label="Actions">${buttonForm(
      {
        action: `${hookHref(access.project.id, w.id)}/deliveries/${d.id}/redeliver`,
        csrf,
        label: "Redeliver",
        className: "small secondary",
        ariaLabel: `Redeliver ${d.id}`,
        testId: "redeliver",
      },
    )}</td></tr>`;

  return new Elysia({ name: "web-webhooks" })
    .get(
      "/p/:projectId/webhooks",
      guarded(async ({ session, viewer, csrf, params, url }) => {
        const access = await load(session, params.projectId);
        const list = await webhooks.list(access);
        return page(
          `Webhooks of ${access.project.name}`,
          html`<p class="muted">A webhook gets a signed POST (ids, versions and key names, never a value) when something changes in this project: a new version, a rollback, a rotated key, a member or a token. Delivery is at least once, retried for a day.</p>
${
  list.length
    ? html`<div class="table-wrap"><table class="stack" id="webhooks"><thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Environments</th><th scope="col">State</th><th scope="col">Created</th></tr></thead><tbody>${list.map((w) => row(access, w))}</tbody></table></div>`
    : html`<p class="muted">No webhooks yet.</p>`
}
${createForm(access, csrf)}`,
          { viewer, area: "projects", wide: true, crumbs: crumbs(access), notice: noticeOf(url) },
        );
      }, "GET"),
    )
    .post(
      "/p/:projectId/webhooks",
      guarded(async ({ session, viewer, form, params, ip }) => {
        const access = await load(session, params.projectId);
        const environments = access.environments
          .filter((e) => form[`env_${e.name}`] === "yes")
          .map((e) => e.name);
        const events = WEBHOOK_EVENTS.filter((e) => form[`event_${e}`] === "yes");
        const made = await webhooks.create(
          session,
          access,
          {
            url: field(form, "url", 2048).trim(),
            environments: environments.length ? environments : null,
            events: events.length ? events : null,
          },
          ip,
        );
        const w = made.webhook;
        // The one answer that holds the secret: not a redirect, never cached.
        return page(
          "Webhook added",
          html`<p>Deliveries to <strong>${w.origin}</strong>: ${filters(w)}.</p>
${secretBlock("webhook-secret", "Signing secret", made.secret, html`Shown only now: give it to the receiver, which checks each delivery's <code>Vault-Signature</code> with it (see the README). It cannot be shown again; rotate it if it is lost.`)}
<p><a href="${hookHref(access.project.id, w.id)}">To the webhook</a></p>`,
          { viewer, area: "projects", crumbs: crumbs(access, "Added") },
        );
      }, "POST"),
    )
    .get(
      "/p/:projectId/webhooks/:webhookId",
      guarded(async ({ session, viewer, csrf, params, url }) => {
        const access = await load(session, params.projectId);
        const id = idParam(params.webhookId, WEBHOOK_ID, "webhook in this project");
        const w = await webhooks.get(access, id);
        const log = await webhooks.deliveries(access, id, 100);
        const href = hookHref(access.project.id, id);
        return page(
          `Webhook to ${w.origin}`,
          html`<div class="card"><p><strong>URL</strong> <code>${w.url}</code></p><p>${filters(w)}; <span class="badge">${w.enabled ? "enabled" : "disabled"}</span></p>
<div class="row">${buttonForm({ action: `${href}/ping`, csrf, label: "Send a ping", className: "small", testId: "ping" })}${buttonForm(
            {
              action: `${href}/${w.enabled ? "disable" : "enable"}`,
              csrf,
              label: w.enabled ? "Disable" : "Enable",
              className: "small secondary",
              testId: "toggle",
            },
          )}${confirmForm({
            action: `${href}/rotate-secret`,
            csrf,
            label: "Rotate secret",
            className: "small secondary",
            confirm: "Give this webhook a new signing secret? The old one stops verifying at once.",
            confirmAction: "Rotate",
            testId: "rotate",
          })}${confirmForm({
            action: `${href}/delete`,
            csrf,
            label: "Delete",
            className: "small danger",
            confirm: `Delete the webhook to ${w.origin}, with its delivery log?`,
            confirmAction: "Delete",
            testId: "delete",
          })}</div></div>
<h2>Deliveries</h2>
${
  log.length
    ? html`<div class="table-wrap"><table class="stack" id="deliveries"><thead><tr><th scope="col">Delivery</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last</th><th scope="col">Latency</th><th scope="col">Queued</th><th scope="col">Next try</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${log.map((d) => deliveryRow(access, w, d, csrf))}</tbody></table></div>`
    : html`<p class="muted">No deliveries yet: send a ping.</p>`
}`,
          { viewer, area: "projects", wide: true, crumbs: crumbs(access, w.origin), notice: noticeOf(url) },
        );
      }, "GET"),
    )
    .post(
      "/p/:projectId/webhooks/:webhookId/ping",
      guarded(async ({ session, params }) => {
        const access = await load(session, params.projectId);
        const id = idParam(params.webhookId, WEBHOOK_ID, "webhook in this project");
        await webhooks.ping(access, id);
        return redirect(withNotice(hookHref(access.project.id, id), "webhook-pinged"));
      }, "POST"),
    )
    .post(
      "/p/:projectId/webhooks/:webhookId/:toggle",
      guarded(async ({ session, viewer, csrf, form, params, ip }) => {
        const access = await load(session, params.projectId);
        const id = idParam(params.webhookId, WEBHOOK_ID, "webhook in this project");
        const href = hookHref(access.project.id, id);
        const action = params.toggle;
        if (action === "enable" || action === "disable") {
          await webhooks.update(session, access, id, { enabled: action === "enable" }, ip);
          return redirect(withNotice(href, `webhook-${action}d`));
        }
        if (action !== "rotate-secret" && action !== "delete")
          throw new ApiError("NOT_FOUND", "no such page");
        const w = await webhooks.get(access, id);
        if (asksFirst(form)) {
          const rotate = action === "rotate-secret";
          return page(
            rotate ? "Rotate a webhook's secret" : "Delete a webhook",
            confirmQuestion({
              action: `${href}/${action}`,
              csrf,
              label: rotate ? "Rotate" : "Delete",
              confirm: rotate
                ? "Give this webhook a new signing secret? The old one stops verifying at once."
                : `Delete the webhook to ${w.origin}, with its delivery log?`,
              back: href,
              testId: "confirm",
            }),
            { viewer, area: "projects", crumbs: crumbs(access, rotate ? "Rotate" : "Delete") },
          );
        }
        if (action === "delete") {
          await webhooks.remove(session, access, id, ip);
          return redirect(withNotice(listHref(access.project.id), "webhook-removed"));
        }
        const rotated = await webhooks.rotateSecret(session, access, id, ip);
        return page(
          "Secret rotated",
          html`<p>A new signing secret for the webhook to <strong>${rotated.webhook.origin}</strong>; deliveries are signed with it from now on.</p>
${secretBlock("webhook-secret", "Signing secret", rotated.secret, "Shown only now: give it to the receiver. It cannot be shown again.")}
<p><a href="${href}">Back to the webhook</a></p>`,
          { viewer, area: "projects", crumbs: crumbs(access, "Secret") },
        );
      }, "POST"),
    )
    .post(
      "/p/:projectId/webhooks/:webhookId/deliveries/:deliveryId/redeliver",
      guarded(async ({ session, params, ip }) => {
        const access = await load(session, params.projectId);
        const id = idParam(params.webhookId, WEBHOOK_ID, "webhook in this project");
        const delivery = idParam(params.deliveryId, DELIVERY_ID, "delivery of this webhook");
        await webhooks.redeliver(session, access, id, delivery, ip);
        return redirect(withNotice(hookHref(access.project.id, id), "webhook-redelivered"));
      }, "POST"),
    );
}
