/**
 * Instance users, for instance owners and admins signed in: list, add with a
 * one-time password (shown once), disable, enable, reset a password, change a role.
 * The rules are the users service's, the same as `vault admin` on the host.
 */
import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { callerOf, clientIp } from "../../http";
import { createUserService, requireUserAdmin, USER_ID, userView } from "./service";

const Role = t.Union([t.Literal("owner"), t.Literal("admin"), t.Literal("member")]);
const UserParams = t.Object({ userId: t.String({ pattern: USER_ID.source }) });
const AddBody = t.Object(
  { email: t.String({ minLength: 3, maxLength: 320 }), role: t.Optional(Role) },
  { additionalProperties: false },
);
const RoleBody = t.Object({ role: Role }, { additionalProperties: false });

export function userRoutes(ctx: AppContext) {
  const users = createUserService(ctx);
  /** The acting admin and the client's address, or 403. */
  const admin = async (request: Request, server: Parameters<typeof clientIp>[2]) => ({
    actor: requireUserAdmin(await callerOf(ctx, request)),
    ip: clientIp(ctx, request, server),
  });
  return new Elysia({ name: "users", prefix: "/api/v1" })
    .get(
      "/users",
      async ({ request, server }) => {
        await admin(request, server);
        const at = ctx.now();
        return { users: (await users.list()).map((u) => userView(u, at)) };
      },
      { detail: { summary: "Instance users (instance owners and admins, signed in)" } },
    )
    .post(
      "/users",
      async ({ body, request, server, set }) => {
        const acting = await admin(request, server);
        const { user, oneTimePassword } = await users.add({
          email: body.email,
          role: body.role ?? "member",
          ...acting,
        });
        set.status = 201;
        return { user: userView(user, ctx.now()), oneTimePassword };
      },
      {
        body: AddBody,
        detail: {
          summary:
            "Add a user with a one-time password, shown once, to be changed at first sign-in (only an owner adds an owner)",
        },
      },
    )
    .post(
      "/users/:userId/disable",
      async ({ params, request, server }) => {
        await users.disable(params.userId, await admin(request, server));
        return { user: userView(await users.find(params.userId), ctx.now()) };
      },
      {
        params: UserParams,
        detail: {
          summary:
            "Disable a user: revokes their sessions and credentials, suspends the service tokens they created (not yourself, not the last owner)",
        },
      },
    )
    .post(
      "/users/:userId/enable",
      async ({ params, request, server }) => {
        await users.enable(params.userId, await admin(request, server));
        return { user: userView(await users.find(params.userId), ctx.now()) };
      },
      {
        params: UserParams,
        detail: {
          summary:
            "Enable a disabled user: they sign in again, and the service tokens they created work again (not yourself)",
        },
      },
    )
    .post(
      "/users/:userId/reset-password",
      async ({ params, request, server }) => {
        const oneTimePassword = await users.resetPassword(params.userId, await admin(request, server));
        return { user: userView(await users.find(params.userId), ctx.now()), oneTimePassword };
      },
      {
        params: UserParams,
        detail: {
          summary:
            "Set a new one-time password (shown once), clear a lockout and sign the user out everywhere (not yourself)",
        },
      },
    )
    .put(
      "/users/:userId/role",
      async ({ params, body, request, server }) => {
        await users.setRole(params.userId, body.role, await admin(request, server));
        return { user: userView(await users.find(params.userId), ctx.now()) };
      },
      {
        params: UserParams,
        body: RoleBody,
        detail: {
          summary:
            "Change a user's instance role (only an owner makes or demotes owners; the last active owner stays one)",
        },
      },
    );
}
