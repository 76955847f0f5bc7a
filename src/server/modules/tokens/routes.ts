import { Elysia, t } from "elysia";
import { projectAccess } from "../../auth/access";
import type { AppContext } from "../../context";
import { callerOf, clientIp } from "../../http";
import { ProjectParams } from "../shapes";
import { createTokenService } from "./service";

const TokenParams = t.Object({
  projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }),
  tokenId: t.String({ pattern: "^tok_[0-9a-f]{24}$" }),
});
const CreateBody = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 100 }),
    environments: t.Array(t.String({ maxLength: 64 }), { minItems: 1, maxItems: 256 }),
    write: t.Optional(t.Boolean()),
    expiresInDays: t.Optional(t.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export function tokenRoutes(ctx: AppContext) {
  const tokens = createTokenService(ctx);
  const access = async (request: Request, projectId: string) => {
    const caller = await callerOf(ctx, request);
    return { caller, access: await projectAccess(ctx, caller, projectId) };
  };

  return new Elysia({ name: "tokens", prefix: "/api/v1" })
    .get(
      "/projects/:projectId/tokens",
      async ({ params, request }) => ({
        tokens: await tokens.list((await access(request, params.projectId)).access),
      }),
      {
        params: ProjectParams,
        detail: {
          summary:
            "Service tokens of a project (never the tokens themselves); `suspended`: its creator is disabled, so it does not work",
        },
      },
    )
    .post(
      "/projects/:projectId/tokens",
      async ({ params, body, request, server, set }) => {
        const found = await access(request, params.projectId);
        const created = await tokens.create(found.caller, found.access, body, clientIp(ctx, request, server));
        set.status = 201;
        return created;
      },
      {
        params: ProjectParams,
        body: CreateBody,
        detail: { summary: "Create a service token (shown once; read-only unless write)" },
      },
    )
    .delete(
      "/projects/:projectId/tokens/:tokenId",
      async ({ params, request, server }) => {
        const found = await access(request, params.projectId);
        await tokens.revoke(found.caller, found.access, params.tokenId, clientIp(ctx, request, server));
        return { ok: true };
      },
      { params: TokenParams, detail: { summary: "Revoke a service token" } },
    )
    .post(
      "/projects/:projectId/me",
      async ({ params, request, server, set }) => {
        const caller = await callerOf(ctx, request);
        const created = await tokens.createMe(caller, params.projectId, clientIp(ctx, request, server));
        set.status = 201;
        return created;
      },
      {
        params: ProjectParams,
        detail: { summary: "Create a me_ credential for the signed-in user, bound to this project" },
      },
    );
}
