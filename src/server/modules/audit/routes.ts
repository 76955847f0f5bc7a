import { Elysia, t } from "elysia";
import { projectAccess, requireManage } from "../../auth/access";
import { type Caller, isInstanceAdmin } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { callerOf } from "../../http";

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

/**
 * Who sees the instance's whole log: an instance owner or admin through a
 * session. A `me_` credential is bound to one project, even an admin's: it
 * never lists other projects' events nor the instance's (sign-ins, users).
 */
const instanceWide = (caller: Caller) => caller.kind === "session" && isInstanceAdmin(caller);

/**
 * Names for the ids an event holds, looked up once per answer: the
 * environment's and project's names ("(removed)" once deleted), a label for
 * an actor recorded without one, and the email of the user an event is
 * about (`detail.userId`, as member.grant and member.remove record it).
 */
function namesFor(ctx: AppContext) {
  const memo = new Map<string, Promise<string | null>>();
  const once = (key: string, find: () => Promise<string | null>) => {
    let found = memo.get(key);
    if (!found) {
      found = find().catch(() => null);
      memo.set(key, found);
    }
    return found;
  };
  return {
    environment: (id: string | null) =>
      id === null
        ? null
        : once(`e:${id}`, async () => (await ctx.appdb.projects.environmentById(id))?.name ?? "(removed)"),
    project: (id: string | null) =>
      id === null
        ? null
        : once(`p:${id}`, async () => (await ctx.appdb.projects.byId(id))?.name ?? "(removed)"),
    user: (id: string) => once(`u:${id}`, async () => (await ctx.appdb.users.byId(id))?.email ?? null),
    token: (id: string) =>
      once(`t:${id}`, async () => {
        const token = await ctx.appdb.tokens.byId(id);
        return token ? `token:${token.name ?? token.id}` : null;
      }),
  };
}

export function auditRoutes(ctx: AppContext) {
  return new Elysia({ name: "audit", prefix: "/api/v1" })
    .get(
      "/audit",
      async ({ query, request }) => {
        const caller = await callerOf(ctx, request);
        if (!instanceWide(caller)) {
          if (!query.project) {
            throw new ApiError(
              "FORBIDDEN",
              "only instance owners and admins, signed in, read the whole audit log",
              caller.kind === "me"
                ? `add ?project=${caller.projectId}: this credential is bound to that project`
                : "add ?project=vlt_... for a project you own",
            );
          }
          // A me_ credential or service token reaches only its own project (else 404), and only as a manager.
          requireManage(await projectAccess(ctx, caller, query.project));
        }
        const rows = await ctx.appdb.audit.list({
          projectId: query.project,
          actorId: query.actor,
          action: query.action,
          since: num(query.since),
          until: num(query.until),
          before: num(query.before),
          limit: num(query.limit) ?? 100,
        });
        const names = namesFor(ctx);
        return {
          events: await Promise.all(
            rows.map(async (r) => {
              const detail = r.detail ? (JSON.parse(r.detail) as unknown) : null;
              const userId = (detail as { userId?: unknown } | null)?.userId;
              const label =
                r.actorLabel ??
                (r.actorId === null
                  ? null
                  : r.actorKind === "service"
                    ? await names.token(r.actorId)
                    : await names.user(r.actorId));
              return {
                seq: r.seq,
                at: r.at,
                action: r.action,
                actor: { kind: r.actorKind, id: r.actorId, label: label ?? r.actorId ?? r.actorKind },
                projectId: r.projectId,
                project: await names.project(r.projectId),
                environmentId: r.environmentId,
                environment: await names.environment(r.environmentId),
                /** The email of the user the event is about (detail.userId), if any. */
                subject: typeof userId === "string" ? await names.user(userId) : null,
                detail,
                ip: r.ip,
              };
            }),
          ),
        };
      },
      {
        query: Query,
        detail: { summary: "Audit events, newest first (filters: project, actor, action, since, until)" },
      },
    )
    .get(
      "/audit/verify",
      async ({ request }) => {
        const caller = await callerOf(ctx, request);
        if (!instanceWide(caller))
          throw new ApiError(
            "FORBIDDEN",
            "only instance owners and admins, signed in, verify the audit log",
            "sign in: vault login",
          );
        await ctx.audit.flush();
        return ctx.appdb.audit.verify();
      },
      { detail: { summary: "Walk the audit hash chain and name the first broken row" } },
    );
}
