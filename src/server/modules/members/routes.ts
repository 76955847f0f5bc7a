import { Elysia, t } from "elysia";
import type { Permission as PermissionLevel } from "../../../appdb";
import { environmentNamed, projectAccess, requireManage } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { callerOf, clientIp } from "../../http";
import { ProjectParams } from "../shapes";

const MemberParams = t.Object({
  projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }),
  userId: t.String({ pattern: "^usr_[0-9a-f]{24}$" }),
});
const Permission = t.Union([t.Literal("none"), t.Literal("read"), t.Literal("write")]);
const AddBody = t.Object(
  {
    email: t.String({ minLength: 3, maxLength: 320 }),
    role: t.Optional(t.Union([t.Literal("owner"), t.Literal("member")])),
    permissions: t.Optional(t.Record(t.String({ maxLength: 64 }), Permission, { maxProperties: 256 })),
  },
  { additionalProperties: false },
);
const GrantBody = t.Object(
  { permissions: t.Record(t.String({ maxLength: 64 }), Permission, { maxProperties: 256 }) },
  { additionalProperties: false },
);

export function memberRoutes(ctx: AppContext) {
  const list = async (projectId: string) => {
    const [members, grants, envs] = await Promise.all([
      ctx.appdb.projects.members(projectId),
      ctx.appdb.projects.projectGrants(projectId),
      ctx.appdb.projects.environments(projectId),
    ]);
    return {
      members: members.map((m) => ({
        userId: m.userId,
        email: m.email,
        role: m.role,
        permissions: Object.fromEntries(
          envs.map((e) => [
            e.name,
            m.role === "owner"
              ? "write"
              : (grants.find((g) => g.userId === m.userId && g.environmentId === e.id)?.permission ?? "none"),
          ]),
        ),
      })),
    };
  };
  const manage = async (request: Request, projectId: string) => {
    const caller = await callerOf(ctx, request);
    const access = await projectAccess(ctx, caller, projectId);
    requireManage(access);
    return { caller, access };
  };
  const event = (caller: Caller, action: string, projectId: string, detail: object, ip: string | null) =>
    ctx.audit.event(caller, action, { projectId, ip }, detail);

  return new Elysia({ name: "members", prefix: "/api/v1" })
    .get(
      "/projects/:projectId/members",
      async ({ params, request }) => {
        const caller = await callerOf(ctx, request);
        await projectAccess(ctx, caller, params.projectId);
        // A CI token needs values, not the team: it never sees who the members are.
        if (caller.kind === "service")
          throw new ApiError(
            "FORBIDDEN",
            "a service token cannot list the project's members",
            "list them as a member: vault members list",
          );
        return list(params.projectId);
      },
      {
        params: ProjectParams,
        detail: { summary: "Members and their permission per environment (not for service tokens)" },
      },
    )
    .post(
      "/projects/:projectId/members",
      async ({ params, body, request, server, set }) => {
        const { caller, access } = await manage(request, params.projectId);
        const user = await ctx.appdb.users.byEmail(body.email);
        if (!user)
          throw new ApiError(
            "NOT_FOUND",
            `no user ${body.email}`,
            "an admin creates users: vault admin user add EMAIL",
          );
        const envs = Object.entries((body.permissions ?? {}) as Record<string, PermissionLevel>).map(
          ([name, p]) => [environmentNamed(access, name), p] as const,
        );
        await ctx.appdb.projects.addMember({
          projectId: params.projectId,
          userId: user.id,
          role: body.role ?? "member",
          createdAt: ctx.now(),
        });
        for (const [env, permission] of envs) await ctx.appdb.projects.setGrant(env.id, user.id, permission);
        await event(
          caller,
          "member.add",
          params.projectId,
          { email: user.email, role: body.role ?? "member", permissions: body.permissions ?? {} },
          clientIp(ctx, request, server),
        );
        set.status = 201;
        return list(params.projectId);
      },
      {
        params: ProjectParams,
        body: AddBody,
        detail: { summary: "Add a member (sees nothing until granted)" },
      },
    )
    .delete(
      "/projects/:projectId/members/:userId",
      async ({ params, request, server }) => {
        const { caller } = await manage(request, params.projectId);
        const member = await ctx.appdb.projects.membership(params.projectId, params.userId);
        if (!member) throw new ApiError("NOT_FOUND", "no such member");
        await ctx.appdb.projects.removeMember(params.projectId, params.userId);
        await event(
          caller,
          "member.remove",
          params.projectId,
          { userId: params.userId },
          clientIp(ctx, request, server),
        );
        return list(params.projectId);
      },
      { params: MemberParams, detail: { summary: "Remove a member and their grants" } },
    )
    .put(
      "/projects/:projectId/members/:userId/permissions",
      async ({ params, body, request, server }) => {
        const { caller, access } = await manage(request, params.projectId);
        const member = await ctx.appdb.projects.membership(params.projectId, params.userId);
        if (!member) throw new ApiError("NOT_FOUND", "no such member", "add them first: POST .../members");
        const envs = Object.entries(body.permissions as Record<string, PermissionLevel>).map(
          ([name, p]) => [environmentNamed(access, name), p] as const,
        );
        for (const [env, permission] of envs)
          await ctx.appdb.projects.setGrant(env.id, params.userId, permission);
        await event(
          caller,
          "member.grant",
          params.projectId,
          { userId: params.userId, permissions: body.permissions },
          clientIp(ctx, request, server),
        );
        return list(params.projectId);
      },
      {
        params: MemberParams,
        body: GrantBody,
        detail: { summary: "Set a member's permission per environment (none, read, write)" },
      },
    );
}
