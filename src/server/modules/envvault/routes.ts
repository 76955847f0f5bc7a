import { Elysia, t } from "elysia";
import { environmentNamed, projectAccess } from "../../auth/access";
import type { AppContext } from "../../context";
import { callerOf, clientIp } from "../../http";
import { createSecretService } from "../secrets/service";
import { EnvParams, ProjectParams } from "../shapes";
import { createEnvVaultService } from "./service";

export function envVaultRoutes(ctx: AppContext) {
  const vault = createEnvVaultService(ctx, createSecretService(ctx));
  return new Elysia({ name: "envvault", prefix: "/api/v1" })
    .get(
      "/projects/:projectId/vault",
      async ({ params, request, server }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        const built = await vault.build(caller, access, clientIp(ctx, request, server));
        return { dotenvVault: built.text, environments: built.environments };
      },
      {
        params: ProjectParams,
        detail: { summary: "Build a .env.vault of every environment the caller may read (latest versions)" },
      },
    )
    .get(
      "/projects/:projectId/keys",
      async ({ params, query, request, server }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        const only = query.environment ? environmentNamed(access, query.environment) : undefined;
        return { keys: await vault.keys(caller, access, only, clientIp(ctx, request, server)) };
      },
      {
        params: ProjectParams,
        query: t.Object(
          { environment: t.Optional(t.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        detail: { summary: "The DOTENV_KEYs of the environments the caller may read" },
      },
    )
    .post(
      "/projects/:projectId/environments/:env/rotate-key",
      async ({ params, request, server }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        const env = environmentNamed(access, params.env);
        return {
          environment: env.name,
          ...(await vault.rotate(caller, access, env, clientIp(ctx, request, server))),
        };
      },
      {
        params: EnvParams,
        detail: {
          summary: "Rotate an environment's DOTENV_KEY; the previous key keeps opening files built before",
        },
      },
    );
}
