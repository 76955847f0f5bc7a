import { Elysia, t } from "elysia";
import type { Permission as PermissionLevel } from "../../../appdb";
import { projectAccess } from "../../auth/access";
import type { AppContext } from "../../context";
import { callerOf, clientIp } from "../../http";
import { ProjectParams } from "../shapes";
import { createMemberService } from "./service";

const MemberParams = t.Object({
  projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }),
  userId: t.String({ pattern: "^usr_[0-9a-f]{24}$" }),
});
const Permission = t.Union([t.Literal("none"), t.Literal("read"), t.Literal("write")]);
const Permissions = t.Record(t.String({ maxLength: 64 }), Permission, { maxProperties: 256 });
const AddBody = t.Object(
  {
    email: t.String({ minLength: 3, maxLength: 320 }),
    role: t.Optional(t.Union([t.Literal("owner"), t.Literal("member")])),
    permissions: t.Optional(Permissions),
    /** Create the user when there is none (instance owners and admins, signed in). */
    create: t.Optional(t.Boolean()),
  },
  { additionalProperties: false },
);
const GrantBody = t.Object({ permissions: Permissions }, { additionalProperties: false });

export function memberRoutes(ctx: AppContext) {
  const members = createMemberService(ctx);
  const access = async (request: Request, projectId: string) => {
    const caller = await callerOf(ctx, request);
    return { caller, access: await projectAccess(ctx, caller, projectId) };
  };

  return new Elysia({ name: "members", prefix: "/api/v1" })
    .get(
      "/projects/:projectId/members",
      async ({ params, request }) => {
        const found = await access(request, params.projectId);
        return { members: await members.list(found.caller, found.access) };
      },
      {
        params: ProjectParams,
        detail: { summary: "Members and their permission per environment (not for service tokens)" },
      },
    )
    .post(
      "/projects/:projectId/members",
      async ({ params, body, request, server, set }) => {
        const found = await access(request, params.projectId);
        const added = await members.add(
          found.caller,
          found.access,
          { ...body, permissions: body.permissions as Record<string, PermissionLevel> | undefined },
          clientIp(ctx, request, server),
        );
        set.status = 201;
        return added;
      },
      {
        params: ProjectParams,
        body: AddBody,
        detail: {
          summary:
            "Add a member (sees nothing until granted); with create, an instance owner or admin creates a user who has no account, and the answer holds their one-time password, once",
        },
      },
    )
    .delete(
      "/projects/:projectId/members/:userId",
      async ({ params, request, server }) => {
        const found = await access(request, params.projectId);
        return {
          members: await members.remove(
            found.caller,
            found.access,
            params.userId,
            clientIp(ctx, request, server),
          ),
        };
      },
      { params: MemberParams, detail: { summary: "Remove a member and their grants" } },
    )
    .put(
      "/projects/:projectId/members/:userId/permissions",
      async ({ params, body, request, server }) => {
        const found = await access(request, params.projectId);
        return {
          members: await members.grant(
            found.caller,
            found.access,
            params.userId,
            body.permissions as Record<string, PermissionLevel>,
            clientIp(ctx, request, server),
          ),
        };
      },
      {
        params: MemberParams,
        body: GrantBody,
        detail: { summary: "Set a member's permission per environment (none, read, write)" },
      },
    );
}
