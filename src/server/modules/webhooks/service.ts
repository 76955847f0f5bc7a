/**
 * A project's webhooks, for its owners and instance admins: create, list, show, change
 * (enable, disable, URL, filters), delete, rotate the signing secret, ping, the delivery log and
 * redelivery by hand. The secret is made here, shown once (on create and rotate) and stored
 * sealed by the app; the URL is stored sealed too (it may carry a credential) and only its
 * origin reaches the audit log. Creating, changing, deleting and rotating are audited.
 */
import { newId, type Webhook, type WebhookAttempt, type WebhookDelivery } from "../../../appdb";
import { environmentNamed, type ProjectAccess, requireManage } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { checkUrlText, resolveChecked, WebhookAddressError } from "./address";
import { previousSecretBinding, secretBinding, urlBinding } from "./dispatcher";
import { WEBHOOK_EVENTS, type WebhookEvent } from "./events";

type Deps = Pick<AppContext, "appdb" | "audit" | "now" | "random" | "sealer" | "webhooks">;

export const WEBHOOK_ID = /^whk_[0-9a-f]{24}$/;
export const DELIVERY_ID = /^dlv_[0-9a-f]{24}$/;
/** The longest a rotated-out secret may keep signing. */
export const MAX_KEEP_PREVIOUS_HOURS = 72;
/** Webhooks one project may have. */
export const MAX_WEBHOOKS = 20;

export interface WebhookView {
  id: string;
  url: string;
  origin: string;
  /** Environment names; null: every environment. */
  environments: string[] | null;
  /** Event types; null: every event. */
  events: WebhookEvent[] | null;
  enabled: boolean;
  /** Until when the secret before the last rotation still signs too (null: it does not). */
  previousSecretUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface DeliveryView {
  id: string;
  type: string;
  state: WebhookDelivery["state"];
  attempts: number;
  createdAt: number;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

export interface AttemptView {
  number: number;
  at: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
  excerpt: string | null;
}

export interface WebhookInput {
  url?: string;
  environments?: string[] | null;
  events?: string[] | null;
  enabled?: boolean;
}

export function deliveryView(d: WebhookDelivery): DeliveryView {
  return {
    id: d.id,
    type: d.type,
    state: d.state,
    attempts: d.attempts,
    createdAt: d.createdAt,
    nextAttemptAt: d.state === "pending" ? d.nextAttemptAt : null,
    lastStatus: d.lastStatus,
    lastLatencyMs: d.lastLatencyMs,
    lastError: d.lastError,
    deliveredAt: d.deliveredAt,
  };
}

const attemptView = (a: WebhookAttempt): AttemptView => ({
  number: a.number,
  at: a.at,
  status: a.status,
  latencyMs: a.latencyMs,
  error: a.error,
  excerpt: a.excerpt,
});

export function createWebhookService(ctx: Deps) {
  const seal = (text: string, bindingBytes: Uint8Array) =>
    Buffer.from(ctx.sealer.seal(Buffer.from(text, "utf8"), bindingBytes)).toString("base64");
  const open = (sealed: string, bindingBytes: Uint8Array) =>
    new TextDecoder().decode(ctx.sealer.open(Buffer.from(sealed, "base64"), bindingBytes));
  const newSecret = () => `whsec_${Buffer.from(ctx.random(32)).toString("hex")}`;
  const event = (caller: Caller, action: string, projectId: string, detail: object, ip: string | null) =>
    ctx.audit.event(caller, action, { projectId, ip }, detail);

  const view = (access: ProjectAccess, w: Webhook): WebhookView => {
    const byId = new Map(access.environments.map((e) => [e.id, e.name]));
    return {
      id: w.id,
      url: open(w.url, urlBinding(w.id)),
      origin: w.origin,
      environments:
        w.environments === null
          ? null
          : (JSON.parse(w.environments) as string[]).map((id) => byId.get(id) ?? "(removed)"),
      events: w.events === null ? null : (JSON.parse(w.events) as WebhookEvent[]),
      enabled: w.enabled,
      previousSecretUntil:
        w.previousSecret !== null && (w.previousSecretUntil ?? 0) > ctx.now() ? w.previousSecretUntil : null,
      createdAt: w.createdAt,
      updatedAt: w.updatedAt,
    };
  };

  /** The URL, checked: text, scheme, and every address its host resolves to (a 400 otherwise). */
  async function checkedUrl(text: string) {
    try {
      const checked = checkUrlText(text, ctx.webhooks.policy);
      await resolveChecked(checked.host, ctx.webhooks.policy, ctx.webhooks.resolve);
      return checked;
    } catch (error) {
      if (error instanceof WebhookAddressError) {
        throw new ApiError(
          error.code === "URL" ? "INVALID_REQUEST" : "WEBHOOK_URL_REFUSED",
          error.message,
          error.hint,
        );
      }
      throw error;
    }
  }

  const environmentIds = (access: ProjectAccess, names: string[] | null | undefined) =>
    names === null || names === undefined
      ? null
      : JSON.stringify([...new Set(names)].map((name) => environmentNamed(access, name).id));

  const eventList = (events: string[] | null | undefined) => {
    if (events === null || events === undefined) return null;
    for (const e of events) {
      if (!(WEBHOOK_EVENTS as readonly string[]).includes(e))
        throw new ApiError(
          "INVALID_REQUEST",
          `"${e.slice(0, 40)}" is not a webhook event`,
          `events: ${WEBHOOK_EVENTS.join(", ")}`,
        );
    }
    return JSON.stringify([...new Set(events)]);
  };

  async function hookOf(access: ProjectAccess, webhookId: string): Promise<Webhook> {
    requireManage(access);
    const hook = WEBHOOK_ID.test(webhookId) ? await ctx.appdb.webhooks.byId(webhookId) : undefined;
    if (!hook || hook.projectId !== access.project.id)
      throw new ApiError("NOT_FOUND", "no such webhook in this project", "list them: vault webhooks list");
    return hook;
  }

  async function deliveryOf(hook: Webhook, deliveryId: string): Promise<WebhookDelivery> {
    const d = DELIVERY_ID.test(deliveryId) ? await ctx.appdb.webhooks.delivery(deliveryId) : undefined;
    if (!d || d.webhookId !== hook.id)
      throw new ApiError(
        "NOT_FOUND",
        "no such delivery of this webhook",
        "list them: vault webhooks deliveries WEBHOOK",
      );
    return d;
  }

  return {
    async list(access: ProjectAccess): Promise<WebhookView[]> {
      requireManage(access);
      return (await ctx.appdb.webhooks.ofProject(access.project.id)).map((w) => view(access, w));
    },

    async create(
      caller: Caller,
      access: ProjectAccess,
      input: WebhookInput & { url: string },
      ip: string | null,
    ): Promise<{ webhook: WebhookView; secret: string }> {
      requireManage(access);
      const checked = await checkedUrl(input.url);
      const environments = environmentIds(access, input.environments);
      const events = eventList(input.events);
      if ((await ctx.appdb.webhooks.ofProject(access.project.id)).length >= MAX_WEBHOOKS)
        throw new ApiError(
          "LIMIT_EXCEEDED",
          `a project has at most ${MAX_WEBHOOKS} webhooks`,
          "remove one: vault webhooks rm ID",
        );
      const id = newId.webhook(ctx.random);
      const secret = newSecret();
      const at = ctx.now();
      const row: Webhook = {
        id,
        projectId: access.project.id,
        url: seal(checked.url, urlBinding(id)),
        origin: checked.origin,
        environments,
        events,
        secret: seal(secret, secretBinding(id)),
        previousSecret: null,
        previousSecretUntil: null,
        enabled: input.enabled ?? true,
        afterSeq: await ctx.appdb.webhooks.lastSeq(),
        createdBy: caller.kind === "service" ? null : caller.user.id,
        createdAt: at,
        updatedAt: at,
      };
      await ctx.appdb.webhooks.insert(row);
      ctx.webhooks.changed();
      const webhook = view(access, row);
      await event(
        caller,
        "webhook.create",
        access.project.id,
        { id, origin: checked.origin, environments: webhook.environments, events: webhook.events },
        ip,
      );
      return { webhook, secret };
    },

    async get(access: ProjectAccess, webhookId: string): Promise<WebhookView> {
      return view(access, await hookOf(access, webhookId));
    },

    async update(
      caller: Caller,
      access: ProjectAccess,
      webhookId: string,
      input: WebhookInput,
      ip: string | null,
    ): Promise<WebhookView> {
      const hook = await hookOf(access, webhookId);
      const patch: Parameters<typeof ctx.appdb.webhooks.update>[1] = { updatedAt: ctx.now() };
      if (input.url !== undefined) {
        const checked = await checkedUrl(input.url);
        patch.url = seal(checked.url, urlBinding(hook.id));
        patch.origin = checked.origin;
      }
      if (input.environments !== undefined) patch.environments = environmentIds(access, input.environments);
      if (input.events !== undefined) patch.events = eventList(input.events);
      if (input.enabled !== undefined) patch.enabled = input.enabled;
      // Enabled again: what happened while it was disabled is not delivered, even after a restart.
      if (input.enabled === true && !hook.enabled) patch.afterSeq = await ctx.appdb.webhooks.lastSeq();
      await ctx.appdb.webhooks.update(hook.id, patch);
      ctx.webhooks.changed();
      const next = view(access, { ...hook, ...patch });
      await event(
        caller,
        "webhook.update",
        access.project.id,
        {
          id: hook.id,
          origin: next.origin,
          enabled: next.enabled,
          environments: next.environments,
          events: next.events,
        },
        ip,
      );
      return next;
    },

    async remove(caller: Caller, access: ProjectAccess, webhookId: string, ip: string | null): Promise<void> {
      const hook = await hookOf(access, webhookId);
      await ctx.appdb.webhooks.remove(hook.id);
      ctx.webhooks.changed();
      await event(caller, "webhook.delete", access.project.id, { id: hook.id, origin: hook.origin }, ip);
    },

    /**
     * A new secret, shown once. With `keepPreviousHours`, the old one keeps signing beside it (a
     * second `v1=`) that long, so receivers can switch without a failed delivery; without it, it
     * stops at once (the choice after a leak).
     */
    async rotateSecret(
      caller: Caller,
      access: ProjectAccess,
      webhookId: string,
      ip: string | null,
      options: { keepPreviousHours?: number } = {},
    ): Promise<{ webhook: WebhookView; secret: string }> {
      const hook = await hookOf(access, webhookId);
      const keep = options.keepPreviousHours ?? 0;
      if (!Number.isInteger(keep) || keep < 0 || keep > MAX_KEEP_PREVIOUS_HOURS)
        throw new ApiError(
          "INVALID_REQUEST",
          `keepPreviousHours is a whole number of hours from 0 to ${MAX_KEEP_PREVIOUS_HOURS}`,
        );
      const secret = newSecret();
      const at = ctx.now();
      const patch = {
        secret: seal(secret, secretBinding(hook.id)),
        previousSecret:
          keep > 0 ? seal(open(hook.secret, secretBinding(hook.id)), previousSecretBinding(hook.id)) : null,
        previousSecretUntil: keep > 0 ? at + keep * 3_600_000 : null,
        updatedAt: at,
      };
      await ctx.appdb.webhooks.update(hook.id, patch);
      await event(
        caller,
        "webhook.rotate_secret",
        access.project.id,
        { id: hook.id, keepPreviousHours: keep },
        ip,
      );
      return { webhook: view(access, { ...hook, ...patch }), secret };
    },

    /** Sends a ping now and answers with its delivery (attempted once; retried like any other). */
    async ping(access: ProjectAccess, webhookId: string): Promise<DeliveryView> {
      const hook = await hookOf(access, webhookId);
      const id = await ctx.webhooks.ping(hook, { id: access.project.id, name: access.project.name });
      return deliveryView((await ctx.appdb.webhooks.delivery(id))!);
    },

    async deliveries(access: ProjectAccess, webhookId: string, limit: number): Promise<DeliveryView[]> {
      const hook = await hookOf(access, webhookId);
      return (await ctx.appdb.webhooks.deliveries(hook.id, limit)).map(deliveryView);
    },

    async delivery(
      access: ProjectAccess,
      webhookId: string,
      deliveryId: string,
    ): Promise<{ delivery: DeliveryView; attempts: AttemptView[] }> {
      const hook = await hookOf(access, webhookId);
      const d = await deliveryOf(hook, deliveryId);
      return {
        delivery: deliveryView(d),
        attempts: (await ctx.appdb.webhooks.attempts(d.id)).map(attemptView),
      };
    },

    /** Sends a delivery again now, with the same id and body and a fresh retry window. */
    async redeliver(
      caller: Caller,
      access: ProjectAccess,
      webhookId: string,
      deliveryId: string,
      ip: string | null,
    ): Promise<DeliveryView> {
      const hook = await hookOf(access, webhookId);
      const d = await deliveryOf(hook, deliveryId);
      await ctx.appdb.webhooks.redeliver(d.id, ctx.now());
      await event(caller, "webhook.redeliver", access.project.id, { id: hook.id, delivery: d.id }, ip);
      await ctx.webhooks.attemptNow(d.id);
      return deliveryView((await ctx.appdb.webhooks.delivery(d.id))!);
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
