import { Elysia, t } from "elysia";
import { newId } from "../../../appdb";
import { environmentNamed, projectAccess, requireManage } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import { hashCredential, newCredential } from "../../auth/credentials";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { callerOf, clientIp } from "../../http";
import { ProjectParams } from "../shapes";

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

/** C0, DEL, C1 and the bidirectional controls: a token name is shown in terminals and pages. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A token name as stored: trimmed, 1 to 100 characters, none of them a control character. */
export function checkTokenName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || UNPRINTABLE.test(trimmed)) {
    throw new ApiError(
      "INVALID_REQUEST",
      "a token name is 1 to 100 printable characters",
      "leave out control characters (escape sequences, line breaks, tabs), like: ci-deploy",
    );
  }
  return trimmed;
}

export function tokenRoutes(ctx: AppContext) {
  const event = (caller: Caller, action: string, projectId: string, detail: object, ip: string | null) =>
    ctx.audit.event(caller, action, { projectId, ip }, detail);

  return new Elysia({ name: "tokens", prefix: "/api/v1" })
    .get(
      "/projects/:projectId/tokens",
      async ({ params, request }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        requireManage(access);
        const byId = new Map(access.environments.map((e) => [e.id, e.name]));
        const rows = await ctx.appdb.tokens.listServiceTokens(params.projectId);
        const now = ctx.now();
        return {
          tokens: rows.map((r) => ({
            id: r.id,
            name: r.name,
            environments: (JSON.parse(r.environments ?? "[]") as string[]).map(
              (id) => byId.get(id) ?? "(removed)",
            ),
            write: r.canWrite,
            createdAt: r.createdAt,
            expiresAt: r.expiresAt,
            lastUsedAt: r.lastUsedAt,
            status:
              r.revokedAt !== null
                ? "revoked"
                : r.expiresAt !== null && r.expiresAt <= now
                  ? "expired"
                  : r.creatorActive
                    ? "active"
                    : "suspended",
          })),
        };
      },
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
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        requireManage(access);
        const name = checkTokenName(body.name);
        const envs = [...new Set(body.environments)].map((env) => environmentNamed(access, env));
        const token = newCredential("service", ctx.random);
        const id = newId.token(ctx.random);
        const at = ctx.now();
        const expiresAt = body.expiresInDays ? at + body.expiresInDays * 86_400_000 : null;
        await ctx.appdb.tokens.insert({
          id,
          kind: "service",
          hash: hashCredential(ctx.appdb.credentialKey, token),
          projectId: params.projectId,
          name,
          canWrite: body.write ?? false,
          environments: JSON.stringify(envs.map((e) => e.id)),
          createdBy: caller.kind === "service" ? null : caller.user.id,
          createdAt: at,
          expiresAt,
        });
        await event(
          caller,
          "token.create",
          params.projectId,
          { id, name, environments: envs.map((e) => e.name), write: body.write ?? false },
          clientIp(ctx, request, server),
        );
        set.status = 201;
        return {
          id,
          token,
          name,
          environments: envs.map((e) => e.name),
          write: body.write ?? false,
          expiresAt,
        };
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
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        requireManage(access);
        const token = await ctx.appdb.tokens.byId(params.tokenId);
        if (!token || token.projectId !== params.projectId || token.kind !== "service") {
          throw new ApiError("NOT_FOUND", "no such token in this project");
        }
        await ctx.appdb.tokens.revoke(token.id, ctx.now());
        await event(
          caller,
          "token.revoke",
          params.projectId,
          { id: token.id, name: token.name },
          clientIp(ctx, request, server),
        );
        return { ok: true };
      },
      { params: TokenParams, detail: { summary: "Revoke a service token" } },
    )
    .post(
      "/projects/:projectId/me",
      async ({ params, request, server, set }) => {
        const caller = await callerOf(ctx, request);
        if (caller.kind !== "session")
          throw new ApiError("FORBIDDEN", "only a signed-in user can create a me_ credential");
        await projectAccess(ctx, caller, params.projectId);
        const token = newCredential("me", ctx.random);
        const id = newId.token(ctx.random);
        await ctx.appdb.tokens.insert({
          id,
          kind: "me",
          hash: hashCredential(ctx.appdb.credentialKey, token),
          userId: caller.user.id,
          projectId: params.projectId,
          name: token.slice(0, 9),
          createdAt: ctx.now(),
        });
        await event(caller, "token.create_me", params.projectId, { id }, clientIp(ctx, request, server));
        set.status = 201;
        return { id, token };
      },
      {
        params: ProjectParams,
        detail: { summary: "Create a me_ credential for the signed-in user, bound to this project" },
      },
    );
}
