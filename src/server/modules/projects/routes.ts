import { Elysia, t } from "elysia";
import { environmentNamed, projectAccess, requireManage } from "../../auth/access";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { callerOf, clientIp } from "../../http";
import { Confirm, EnvParams, ProjectParams } from "../shapes";
import { createProjectService } from "./service";

const NameBody = t.Object(
  { name: t.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);
const EnvNameBody = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 64 }),
    /** Make a branch of this environment of the project (it inherits every key of it). */
    parent: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export function projectRoutes(ctx: AppContext) {
  const projects = createProjectService(ctx);
  const describe = async (request: Request, projectId: string) => {
    const caller = await callerOf(ctx, request);
    const access = await projectAccess(ctx, caller, projectId);
    return {
      id: access.project.id,
      name: access.project.name,
      createdAt: access.project.createdAt,
      canManage: access.manage,
      environments: access.environments.map((e) => {
        const parent = e.parentId === null ? undefined : access.environments.find((p) => p.id === e.parentId);
        return {
          name: e.name,
          main: e.isMain,
          version: e.head,
          permission: access.permission(e.id),
          ...(parent ? { parent: parent.name } : {}),
        };
      }),
    };
  };
  return new Elysia({ name: "projects", prefix: "/api/v1" })
    .get(
      "/projects",
      async ({ request }) => {
        const caller = await callerOf(ctx, request);
        const list = await projects.list(caller);
        return { projects: list.map((p) => ({ id: p.id, name: p.name, createdAt: p.createdAt })) };
      },
      { detail: { summary: "Projects the caller can see" } },
    )
    .post(
      "/projects",
      async ({ body, request, server, set }) => {
        const caller = await callerOf(ctx, request);
        const { project } = await projects.create(caller, body.name, clientIp(ctx, request, server));
        set.status = 201;
        return describe(request, project.id);
      },
      { body: NameBody, detail: { summary: "Create a project with the default environments" } },
    )
    .get("/projects/:projectId", ({ params, request }) => describe(request, params.projectId), {
      params: ProjectParams,
      detail: { summary: "A project, its environments and the caller's permissions" },
    })
    .patch(
      "/projects/:projectId",
      async ({ params, body, request, server }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        requireManage(access);
        await projects.rename(caller, access.project, body.name, clientIp(ctx, request, server));
        return describe(request, params.projectId);
      },
      { params: ProjectParams, body: NameBody, detail: { summary: "Rename a project" } },
    )
    .delete(
      "/projects/:projectId",
      async ({ params, body, request, server }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        requireManage(access);
        await projects.remove(caller, access.project, body.confirm, clientIp(ctx, request, server));
        return { ok: true };
      },
      {
        params: ProjectParams,
        body: Confirm,
        detail: { summary: "Delete a project and every value in it (confirm by name)" },
      },
    )
    .post(
      "/projects/:projectId/environments",
      async ({ params, body, request, server, set }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        requireManage(access);
        await projects.addEnvironment(
          caller,
          access.project,
          body.name,
          clientIp(ctx, request, server),
          body.parent,
        );
        set.status = 201;
        return describe(request, params.projectId);
      },
      {
        params: ProjectParams,
        body: EnvNameBody,
        detail: { summary: "Add an environment (with parent: a branch of that environment)" },
      },
    )
    .delete(
      "/projects/:projectId/environments/:env",
      async ({ params, body, request, server }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        requireManage(access);
        const env = environmentNamed(access, params.env);
        if (body.confirm !== env.name) {
          throw new ApiError(
            "INVALID_REQUEST",
            "the confirmation does not match the environment name",
            "send confirm: <the environment's name>",
          );
        }
        await projects.removeEnvironment(caller, access.project, env, clientIp(ctx, request, server));
        return describe(request, params.projectId);
      },
      {
        params: EnvParams,
        body: Confirm,
        detail: { summary: "Remove an environment and its values (confirm by name)" },
      },
    );
}
