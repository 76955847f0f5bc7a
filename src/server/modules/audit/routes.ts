import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { callerOf } from "../../http";
import { createAuditService } from "./service";

const Query = t.Object(
  {
    project: t.Optional(t.String({ pattern: "^vlt_[0-9a-f]{64}$" })),
    actor: t.Optional(t.String({ maxLength: 64 })),
    action: t.Optional(t.String({ maxLength: 64 })),
    since: t.Optional(t.String({ pattern: "^[0-9]{1,15}$" })),
    until: t.Optional(t.String({ pattern: "^[0-9]{1,15}$" })),
    before: t.Optional(t.String({ pattern: "^[0-9]{1,15}$" })),
    limit: t.Optional(t.String({ pattern: "^([1-9][0-9]{0,2}|1000)$" })),
  },
  { additionalProperties: false },
);

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

export function auditRoutes(ctx: AppContext) {
  const audit = createAuditService(ctx);
  return new Elysia({ name: "audit", prefix: "/api/v1" })
    .get(
      "/audit",
      async ({ query, request }) => {
        const caller = await callerOf(ctx, request);
        return {
          events: await audit.list(caller, {
            project: query.project,
            actor: query.actor,
            action: query.action,
            since: num(query.since),
            until: num(query.until),
            before: num(query.before),
            limit: num(query.limit) ?? 100,
          }),
        };
      },
      {
        query: Query,
        detail: { summary: "Audit events, newest first (filters: project, actor, action, since, until)" },
      },
    )
    .get("/audit/verify", async ({ request }) => audit.verify(await callerOf(ctx, request)), {
      detail: { summary: "Walk the audit hash chain and name the first broken row" },
    });
}
