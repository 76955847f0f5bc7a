import { Elysia, t } from "elysia";
import { CODE_PATTERN } from "../../../verification-code";
import { authenticate } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { callerOf, clientIp } from "../../http";
import { createHandoffService } from "../handoff/service";
import { createUserService } from "../users/service";
import { createSessionService, login } from "./service";

export const LoginBody = t.Object(
  {
    email: t.String({ minLength: 3, maxLength: 320 }),
    password: t.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export const PasswordBody = t.Object(
  { currentPassword: t.String({ maxLength: 1024 }), newPassword: t.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);

export function publicUser(user: { id: string; email: string; role: string; mustChangePassword: boolean }) {
  return { id: user.id, email: user.email, role: user.role, mustChangePassword: user.mustChangePassword };
}

export function authRoutes(ctx: AppContext) {
  const users = createUserService(ctx);
  const handoffs = createHandoffService(ctx);
  const sessions = createSessionService(ctx);
  return new Elysia({ name: "auth", prefix: "/api/v1" })
    .post(
      "/auth/login",
      async ({ body, request, server }) => {
        const result = await login(ctx, { ...body, ip: clientIp(ctx, request, server) });
        return { token: result.token, expiresAt: result.expiresAt, user: publicUser(result.user) };
      },
      {
        body: LoginBody,
        detail: { summary: "Sign in with email and password; returns an expiring session token" },
      },
    )
    .post(
      "/auth/logout",
      async ({ request, server }) => {
        const caller = await callerOf(ctx, request, { duringPasswordChange: true });
        await ctx.appdb.tokens.revoke(caller.token.id, ctx.now());
        await ctx.audit.event(
          caller,
          "auth.logout",
          { ip: clientIp(ctx, request, server) },
          { kind: caller.kind },
        );
        return { ok: true };
      },
      { detail: { summary: "Revoke the presented credential" } },
    )
    .post(
      "/auth/password",
      async ({ body, request, server }) => {
        const caller = await callerOf(ctx, request, { duringPasswordChange: true });
        if (caller.kind === "service") throw new ApiError("FORBIDDEN", "service tokens have no password");
        const { revoked } = await users.changePassword(caller.user, body.currentPassword, body.newPassword, {
          keepTokenId: caller.token.id,
          ip: clientIp(ctx, request, server),
        });
        return { ok: true, revoked };
      },
      {
        body: PasswordBody,
        detail: {
          summary:
            "Change the signed-in user's password; revokes their other sessions and me_ credentials (a wrong current password counts toward the lockout)",
        },
      },
    )
    .post(
      "/auth/cli-handoff",
      async ({ body, set, request, server }) => {
        const token = await handoffs.collectCli(body.request, body.secret, body.code, {
          ip: clientIp(ctx, request, server),
          userAgent: request.headers.get("user-agent"),
        });
        if (token === undefined) {
          set.status = 202;
          return { status: "pending" };
        }
        const caller = await authenticate(ctx, `Bearer ${token}`);
        if (caller.kind !== "session") throw new ApiError("NOT_FOUND", "no such request");
        return { token, expiresAt: caller.token.expiresAt, user: publicUser(caller.user) };
      },
      {
        body: t.Object(
          {
            request: t.String({ pattern: "^req_[0-9a-f]{64}$" }),
            secret: t.String({ pattern: "^[0-9a-f]{64}$" }),
            /** The verification code the CLI shows (first poll only; never in a URL). */
            code: t.Optional(t.String({ pattern: CODE_PATTERN })),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Claim (first poll: the CLI's secret and verification code) and collect the session a browser approved for `vault login --browser` (202 while pending)",
        },
      },
    )
    .get(
      "/me/sessions",
      async ({ request }) => {
        const caller = await callerOf(ctx, request, { duringPasswordChange: true });
        return { sessions: await sessions.list(caller) };
      },
      {
        detail: {
          summary:
            "The signed-in user's live sessions and me_ credentials (created, last used, expiry; the current one marked; never a token)",
        },
      },
    )
    .delete(
      "/me/sessions/:tokenId",
      async ({ params, request, server }) => {
        const caller = await callerOf(ctx, request, { duringPasswordChange: true });
        const { current } = await sessions.revoke(caller, params.tokenId, clientIp(ctx, request, server));
        return { ok: true, current };
      },
      {
        params: t.Object({ tokenId: t.String({ pattern: "^tok_[0-9a-f]{24}$" }) }),
        detail: {
          summary:
            "Revoke one of the signed-in user's sessions or me_ credentials (the current one signs out)",
        },
      },
    )
    .get(
      "/me",
      async ({ request }) => {
        const caller = await callerOf(ctx, request, { duringPasswordChange: true });
        if (caller.kind === "service") {
          return {
            kind: caller.kind,
            token: { id: caller.token.id, name: caller.token.name, canWrite: caller.canWrite },
            projectId: caller.projectId,
            user: null,
          };
        }
        return {
          kind: caller.kind,
          user: publicUser(caller.user),
          projectId: caller.kind === "me" ? caller.projectId : null,
          expiresAt: caller.token.expiresAt,
        };
      },
      { detail: { summary: "Who the presented credential belongs to" } },
    );
}
