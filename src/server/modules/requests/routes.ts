import { Elysia, t } from "elysia";
import { projectAccess } from "../../auth/access";
import type { AppContext } from "../../context";
import { callerOf, clientIp } from "../../http";
import { createSecretService } from "../secrets/service";
import { EnvParams, ProjectParams } from "../shapes";
import { createRequestService, REASON_MAX } from "./service";

const RequestParams = t.Object({
  projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }),
  number: t.String({ pattern: "^[1-9][0-9]{0,9}$" }),
});
const Email = t.String({ minLength: 3, maxLength: 254 });

export function requestRoutes(ctx: AppContext) {
  const requests = createRequestService(ctx, createSecretService(ctx));
  const open = async (request: Request, projectId: string) => {
    const caller = await callerOf(ctx, request);
    return { caller, access: await projectAccess(ctx, caller, projectId) };
  };
  const req = "/projects/:projectId/requests/:number";
  return new Elysia({ name: "requests", prefix: "/api/v1" })
    .get(
      "/projects/:projectId/protections",
      async ({ params, request }) => {
        const { access } = await open(request, params.projectId);
        return { protections: await requests.protections(access) };
      },
      {
        params: ProjectParams,
        detail: { summary: "The project's protected environments and their approvers" },
      },
    )
    .put(
      "/projects/:projectId/environments/:env/protection",
      async ({ params, body, request, server }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.protect(caller, access, params.env, body, clientIp(ctx, request, server));
      },
      {
        params: EnvParams,
        body: t.Object(
          {
            /** Emails of the users who may approve; absent or empty: every member with write. */
            approvers: t.Optional(t.Array(Email, { maxItems: 100 })),
            allowTokenBypass: t.Optional(t.Boolean()),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Protect an environment (owners): every change becomes a change request that someone else must approve",
        },
      },
    )
    .delete(
      "/projects/:projectId/environments/:env/protection",
      async ({ params, request, server }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.unprotect(caller, access, params.env, clientIp(ctx, request, server));
      },
      { params: EnvParams, detail: { summary: "Stop protecting an environment (owners; audited)" } },
    )
    .get(
      "/projects/:projectId/requests",
      async ({ params, query, request }) => {
        const { caller, access } = await open(request, params.projectId);
        return {
          requests: await requests.list(caller, access, {
            env: query.env,
            all: query.all === "true",
            limit: query.limit === undefined ? undefined : Number(query.limit),
          }),
        };
      },
      {
        params: ProjectParams,
        query: t.Object(
          {
            env: t.Optional(t.String({ maxLength: 64 })),
            all: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])),
            limit: t.Optional(t.String({ pattern: "^([1-9][0-9]{0,2}|1000)$" })),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary: "Change requests, newest first: open ones (all=true: every one); names, never values",
        },
      },
    )
    .get(
      req,
      async ({ params, request }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.show(caller, access, Number(params.number));
      },
      {
        params: RequestParams,
        detail: { summary: "A change request: who, base version, the names it changes" },
      },
    )
    .post(
      `${req}/reveal`,
      async ({ params, request, server }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.reveal(caller, access, Number(params.number), clientIp(ctx, request, server));
      },
      {
        params: RequestParams,
        detail: {
          summary: "The proposed values, and those at the base version (approvers; an audited read)",
        },
      },
    )
    .post(
      `${req}/approve`,
      async ({ params, request, server }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.approve(caller, access, Number(params.number), clientIp(ctx, request, server));
      },
      {
        params: RequestParams,
        detail: { summary: "Approve a change request (not its author): it becomes the next version" },
      },
    )
    .post(
      `${req}/reject`,
      async ({ params, body, request, server }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.reject(
          caller,
          access,
          Number(params.number),
          body?.reason,
          clientIp(ctx, request, server),
        );
      },
      {
        params: RequestParams,
        body: t.Optional(
          t.Object(
            { reason: t.Optional(t.String({ maxLength: REASON_MAX })) },
            { additionalProperties: false },
          ),
        ),
        detail: { summary: "Reject a change request (approvers), with an optional reason" },
      },
    )
    .post(
      `${req}/withdraw`,
      async ({ params, request, server }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.withdraw(caller, access, Number(params.number), clientIp(ctx, request, server));
      },
      { params: RequestParams, detail: { summary: "Withdraw your own change request" } },
    )
    .post(
      `${req}/rebase`,
      async ({ params, request, server }) => {
        const { caller, access } = await open(request, params.projectId);
        return requests.rebase(caller, access, Number(params.number), clientIp(ctx, request, server));
      },
      {
        params: RequestParams,
        detail: {
          summary:
            "Reapply a stale change request's key operations on the latest version (its author or an approver)",
        },
      },
    );
}
