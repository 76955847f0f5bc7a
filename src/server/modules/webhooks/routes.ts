import { Elysia, t } from "elysia";
import { projectAccess } from "../../auth/access";
import type { AppContext } from "../../context";
import { callerOf, clientIp } from "../../http";
import { ProjectParams } from "../shapes";
import { WEBHOOK_EVENTS } from "./events";
import { createWebhookService, MAX_KEEP_PREVIOUS_HOURS } from "./service";

const WebhookParams = t.Object({
  projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }),
  webhookId: t.String({ maxLength: 64 }),
});
const DeliveryParams = t.Object({
  projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }),
  webhookId: t.String({ maxLength: 64 }),
  deliveryId: t.String({ maxLength: 64 }),
});
const Environments = t.Union([
  t.Array(t.String({ maxLength: 64 }), { minItems: 1, maxItems: 256 }),
  t.Null(),
]);
const Events = t.Union([
  t.Array(t.String({ maxLength: 64 }), { minItems: 1, maxItems: WEBHOOK_EVENTS.length * 2 }),
  t.Null(),
]);
const CreateBody = t.Object(
  {
    url: t.String({ minLength: 1, maxLength: 2048 }),
    environments: t.Optional(Environments),
    events: t.Optional(Events),
    enabled: t.Optional(t.Boolean()),
  },
  { additionalProperties: false },
);
const UpdateBody = t.Object(
  {
    url: t.Optional(t.String({ minLength: 1, maxLength: 2048 })),
    environments: t.Optional(Environments),
    events: t.Optional(Events),
    enabled: t.Optional(t.Boolean()),
  },
  { additionalProperties: false },
);
const RotateBody = t.Object(
  { keepPreviousHours: t.Optional(t.Integer({ minimum: 0, maximum: MAX_KEEP_PREVIOUS_HOURS })) },
  { additionalProperties: false },
);
const DeliveriesQuery = t.Object({ limit: t.Optional(t.String({ pattern: "^[0-9]{1,4}$" })) });

export function webhookRoutes(ctx: AppContext) {
  const webhooks = createWebhookService(ctx);
  const access = async (request: Request, projectId: string) => {
    const caller = await callerOf(ctx, request);
    return { caller, access: await projectAccess(ctx, caller, projectId) };
  };
  const base = "/projects/:projectId/webhooks";

  return new Elysia({ name: "webhooks", prefix: "/api/v1" })
    .get(
      base,
      async ({ params, request }) => ({
        webhooks: await webhooks.list((await access(request, params.projectId)).access),
      }),
      { params: ProjectParams, detail: { summary: "A project's webhooks (owners and instance admins)" } },
    )
    .post(
      base,
      async ({ params, body, request, server, set }) => {
        const found = await access(request, params.projectId);
        const created = await webhooks.create(
          found.caller,
          found.access,
          body,
          clientIp(ctx, request, server),
        );
        set.status = 201;
        return created;
      },
      {
        params: ProjectParams,
        body: CreateBody,
        detail: {
          summary:
            "Create a webhook (https only unless --webhooks-allow-http; private addresses refused); its signing secret is shown once",
        },
      },
    )
    .get(
      `${base}/:webhookId`,
      async ({ params, request }) => ({
        webhook: await webhooks.get((await access(request, params.projectId)).access, params.webhookId),
      }),
      { params: WebhookParams, detail: { summary: "A webhook (never its secret)" } },
    )
    .patch(
      `${base}/:webhookId`,
      async ({ params, body, request, server }) => {
        const found = await access(request, params.projectId);
        return {
          webhook: await webhooks.update(
            found.caller,
            found.access,
            params.webhookId,
            body,
            clientIp(ctx, request, server),
          ),
        };
      },
      {
        params: WebhookParams,
        body: UpdateBody,
        detail: { summary: "Change a webhook: enable or disable it, its URL, environments or events" },
      },
    )
    .delete(
      `${base}/:webhookId`,
      async ({ params, request, server }) => {
        const found = await access(request, params.projectId);
        await webhooks.remove(found.caller, found.access, params.webhookId, clientIp(ctx, request, server));
        return { ok: true };
      },
      { params: WebhookParams, detail: { summary: "Delete a webhook and its delivery log" } },
    )
    .post(
      `${base}/:webhookId/rotate-secret`,
      async ({ params, body, request, server }) => {
        const found = await access(request, params.projectId);
        return webhooks.rotateSecret(
          found.caller,
          found.access,
          params.webhookId,
          clientIp(ctx, request, server),
          { keepPreviousHours: body?.keepPreviousHours },
        );
      },
      {
        params: WebhookParams,
        body: t.Optional(RotateBody),
        detail: {
          summary:
            "A new signing secret (shown once); the old one stops at once, or keeps signing beside it for keepPreviousHours (at most 72)",
        },
      },
    )
    .post(
      `${base}/:webhookId/ping`,
      async ({ params, request }) => ({
        delivery: await webhooks.ping((await access(request, params.projectId)).access, params.webhookId),
      }),
      {
        params: WebhookParams,
        detail: { summary: "Send a ping now; answers with its delivery after the attempt" },
      },
    )
    .get(
      `${base}/:webhookId/deliveries`,
      async ({ params, query, request }) => ({
        deliveries: await webhooks.deliveries(
          (await access(request, params.projectId)).access,
          params.webhookId,
          Math.min(500, Math.max(1, Number(query.limit ?? 50))),
        ),
      }),
      {
        params: WebhookParams,
        query: DeliveriesQuery,
        detail: {
          summary: "A webhook's deliveries, newest first: state, attempts, last status and latency, next try",
        },
      },
    )
    .get(
      `${base}/:webhookId/deliveries/:deliveryId`,
      async ({ params, request }) =>
        webhooks.delivery(
          (await access(request, params.projectId)).access,
          params.webhookId,
          params.deliveryId,
        ),
      { params: DeliveryParams, detail: { summary: "A delivery and every attempt at it" } },
    )
    .post(
      `${base}/:webhookId/deliveries/:deliveryId/redeliver`,
      async ({ params, request, server }) => {
        const found = await access(request, params.projectId);
        return {
          delivery: await webhooks.redeliver(
            found.caller,
            found.access,
            params.webhookId,
            params.deliveryId,
            clientIp(ctx, request, server),
          ),
        };
      },
      {
        params: DeliveryParams,
        detail: { summary: "Send a delivery again now (same id and body; a fresh 24-hour retry window)" },
      },
    );
}
