import { Elysia, t } from "elysia";
import { environmentNamed, projectAccess, requirePermission } from "../../auth/access";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { callerOf, clientIp } from "../../http";
import { EnvParams, ProjectParams, VersionNumber, VersionQuery } from "../shapes";
import { LIMITS } from "./limits";
import { createSecretService } from "./service";

const FileBody = t.Object(
  {
    // Bounded by the request body limit; the 2 MiB file limit itself is checkFile's, which answers
    // 413 LIMIT_EXCEEDED with a hint instead of a schema message.
    dotenv: t.String({ maxLength: 3 * LIMITS.fileBytes }),
    baseVersion: t.Optional(VersionNumber),
    merge: t.Optional(t.Boolean()),
  },
  { additionalProperties: false },
);
const KeysBody = t.Object(
  {
    set: t.Optional(
      t.Record(t.String({ maxLength: LIMITS.nameLength }), t.String({ maxLength: LIMITS.valueBytes }), {
        maxProperties: LIMITS.keysPerEnvironment,
      }),
    ),
    unset: t.Optional(
      t.Array(t.String({ maxLength: LIMITS.nameLength }), { maxItems: LIMITS.keysPerEnvironment }),
    ),
    /** Old name -> new name: the key keeps its value and its line in the file. */
    rename: t.Optional(
      t.Record(t.String({ maxLength: LIMITS.nameLength }), t.String({ maxLength: LIMITS.nameLength }), {
        maxProperties: LIMITS.keysPerEnvironment,
      }),
    ),
    baseVersion: t.Optional(VersionNumber),
  },
  { additionalProperties: false },
);
const RollbackBody = t.Object(
  { version: VersionNumber, baseVersion: t.Optional(VersionNumber) },
  { additionalProperties: false },
);
const DiffQuery = t.Object(
  {
    from: t.Optional(t.String({ pattern: "^[0-9]{1,10}$" })),
    to: t.Optional(t.String({ pattern: "^[0-9]{1,10}$" })),
    other: t.Optional(t.String({ maxLength: 64 })),
    otherVersion: t.Optional(t.String({ pattern: "^[0-9]{1,10}$" })),
    reveal: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])),
  },
  { additionalProperties: false },
);

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

export function secretRoutes(ctx: AppContext) {
  const secrets = createSecretService(ctx);
  const open = async (request: Request, projectId: string, envName: string, needed: "read" | "write") => {
    const caller = await callerOf(ctx, request);
    const access = await projectAccess(ctx, caller, projectId);
    const env = environmentNamed(access, envName);
    requirePermission(access, env, needed);
    return { caller, access, env };
  };
  const base = "/projects/:projectId/environments/:env";
  return new Elysia({ name: "secrets", prefix: "/api/v1" })
    .get(
      `${base}/secrets`,
      async ({ params, query, request, server }) => {
        const { caller, access, env } = await open(request, params.projectId, params.env, "read");
        const format = query.format ?? "dotenv";
        const result = await secrets.read(caller, access.project, env, {
          version: num(query.version),
          format,
          ip: clientIp(ctx, request, server),
          names: query.key ? [query.key] : undefined,
          // Values (run, export, get) resolve unless asked not to; a file only when asked.
          resolve: query.resolve === undefined ? format === "json" : query.resolve === "true",
          written: query.written === "true",
        });
        if (query.key && result.values && !(query.key in result.values)) {
          throw new ApiError("NOT_FOUND", `${env.name} has no key ${query.key}`);
        }
        // A cached version's file is already a JSON string: the hot pull answers without escaping it again.
        if (result.dotenvJson !== undefined) {
          return new Response(
            `{"environment":${JSON.stringify(env.name)},"version":${result.version},"dotenv":${result.dotenvJson}}`,
            { headers: { "content-type": "application/json;charset=utf-8" } },
          );
        }
        return {
          environment: env.name,
          version: result.version,
          dotenv: result.dotenv,
          values: result.values,
          ...(result.written ? { written: result.written } : {}),
          ...(result.personal ? { personal: result.personal } : {}),
        };
      },
      {
        params: EnvParams,
        query: t.Object(
          {
            version: VersionQuery,
            format: t.Optional(t.Union([t.Literal("dotenv"), t.Literal("json")])),
            key: t.Optional(t.String({ maxLength: LIMITS.nameLength })),
            resolve: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])),
            written: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Pull the latest or a given version, as the dotenv file (as written; resolve=true resolves references) or as JSON values (resolved, with your personal overrides; resolve=false: as written), one key with ?key=",
        },
      },
    )
    .put(
      `${base}/secrets`,
      async ({ params, body, request, server, set: reply }) => {
        const { caller, access, env } = await open(request, params.projectId, params.env, "write");
        const result = await secrets.change(
          caller,
          access.project,
          env,
          { kind: body.merge ? "merge" : "push", text: body.dotenv },
          { baseVersion: body.baseVersion, ip: clientIp(ctx, request, server) },
        );
        if (result.request) reply.status = 202; // held as a change request (protected environment)
        return { environment: env.name, ...result };
      },
      {
        params: EnvParams,
        body: FileBody,
        detail: { summary: "Push a whole dotenv file (or merge its keys) as a new version" },
      },
    )
    .patch(
      `${base}/secrets`,
      async ({ params, body, request, server, set: reply }) => {
        const { caller, access, env } = await open(request, params.projectId, params.env, "write");
        const ip = clientIp(ctx, request, server);
        const set = new Map(Object.entries((body.set ?? {}) as Record<string, string>));
        const unset = body.unset ?? [];
        const rename = new Map(Object.entries((body.rename ?? {}) as Record<string, string>));
        if (set.size === 0 && unset.length === 0 && rename.size === 0) {
          throw new ApiError(
            "INVALID_REQUEST",
            "give set, unset, rename or several",
            "one call makes one version",
          );
        }
        const change =
          set.size > 0 || rename.size > 0
            ? ({ kind: "set", set, unset, rename } as const)
            : ({ kind: "unset", unset } as const);
        const result = await secrets.change(caller, access.project, env, change, {
          baseVersion: body.baseVersion,
          ip,
        });
        if (result.request) reply.status = 202; // held as a change request (protected environment)
        return { environment: env.name, ...result };
      },
      {
        params: EnvParams,
        body: KeysBody,
        detail: {
          summary:
            "Set, unset and rename keys, as one new version (the file's layout is kept; a renamed key keeps its line and value)",
        },
      },
    )
    .get(
      `${base}/explain`,
      async ({ params, query, request, server }) => {
        const { caller, access, env } = await open(request, params.projectId, params.env, "read");
        return secrets.explain(caller, access.project, env, query.key, {
          reveal: query.reveal === "true",
          ip: clientIp(ctx, request, server),
        });
      },
      {
        params: EnvParams,
        query: t.Object(
          {
            key: t.String({ minLength: 1, maxLength: LIMITS.nameLength }),
            reveal: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Which layer gives a key its value (personal override, the environment, a parent), and what each reference in it points at, with versions; the value only with reveal=true",
        },
      },
    )
    .patch(
      `${base}/overrides`,
      async ({ params, body, request, server }) => {
        const { caller, access, env } = await open(request, params.projectId, params.env, "read");
        const ip = clientIp(ctx, request, server);
        const set = new Map(Object.entries((body.set ?? {}) as Record<string, string>));
        const unset = body.unset ?? [];
        if (set.size === 0 && unset.length === 0)
          throw new ApiError("INVALID_REQUEST", "give set, unset or both");
        for (const name of unset) {
          if (set.has(name)) throw new ApiError("INVALID_REQUEST", `${name} is both set and unset`);
        }
        const setNames =
          set.size > 0 ? await secrets.overrides.set(caller, access.project, env, set, ip) : [];
        const unsetNames =
          unset.length > 0 ? await secrets.overrides.unset(caller, access.project, env, unset, ip) : [];
        return {
          environment: env.name,
          set: setNames,
          unset: unsetNames,
          names: await secrets.overrides.names(caller, env),
        };
      },
      {
        params: EnvParams,
        body: t.Object(
          {
            set: t.Optional(
              t.Record(
                t.String({ maxLength: LIMITS.nameLength }),
                t.String({ maxLength: LIMITS.valueBytes }),
                { maxProperties: 100 },
              ),
            ),
            unset: t.Optional(t.Array(t.String({ maxLength: LIMITS.nameLength }), { maxItems: 100 })),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Set or remove your personal overrides of an environment you can read (applied to your own resolved reads only)",
        },
      },
    )
    .get(
      "/projects/:projectId/overrides",
      async ({ params, request }) => {
        const caller = await callerOf(ctx, request);
        const access = await projectAccess(ctx, caller, params.projectId);
        const rows = await secrets.overrides.list(caller, access.project);
        const names = new Map(access.environments.map((e) => [e.id, e.name]));
        return {
          overrides: rows
            .filter((r) => access.permission(r.environmentId) !== "none")
            .map((r) => ({
              environment: names.get(r.environmentId) ?? "",
              name: r.name,
              updatedAt: r.updatedAt,
            })),
        };
      },
      {
        params: ProjectParams,
        detail: { summary: "The names of your personal overrides in the project (never values)" },
      },
    )
    .get(
      `${base}/versions`,
      async ({ params, query, request }) => {
        const { env } = await open(request, params.projectId, params.env, "read");
        const versions = await secrets.versions(env, {
          limit: Number(query.limit ?? 100),
          before: num(query.before),
        });
        return { environment: env.name, head: env.head, versions };
      },
      {
        params: EnvParams,
        query: t.Object(
          { limit: t.Optional(t.String({ pattern: "^([1-9][0-9]{0,2}|1000)$" })), before: VersionQuery },
          { additionalProperties: false },
        ),
        detail: { summary: "Versions, newest first: number, author, time, change summary" },
      },
    )
    .get(
      `${base}/diff`,
      async ({ params, query, request, server }) => {
        const { caller, access, env } = await open(request, params.projectId, params.env, "read");
        const otherEnv = query.other ? environmentNamed(access, query.other) : env;
        if (otherEnv !== env) requirePermission(access, otherEnv, "read");
        const a = query.other
          ? { env, version: num(query.from) }
          : { env, version: num(query.from) ?? Math.max(env.head - 1, 0) };
        const b = query.other
          ? { env: otherEnv, version: num(query.otherVersion) }
          : { env, version: num(query.to) };
        const diff = await secrets.diff(caller, access.project, a, b, {
          reveal: query.reveal === "true",
          ip: clientIp(ctx, request, server),
        });
        return diff;
      },
      {
        params: EnvParams,
        query: DiffQuery,
        detail: {
          summary:
            "Diff two versions of an environment, or two environments; values masked unless reveal=true",
        },
      },
    )
    .post(
      `${base}/rollback`,
      async ({ params, body, request, server, set: reply }) => {
        const { caller, access, env } = await open(request, params.projectId, params.env, "write");
        const result = await secrets.change(
          caller,
          access.project,
          env,
          { kind: "rollback", to: body.version },
          { baseVersion: body.baseVersion, ip: clientIp(ctx, request, server) },
        );
        if (result.request) reply.status = 202; // held as a change request (protected environment)
        return { environment: env.name, rolledBackTo: body.version, ...result };
      },
      {
        params: EnvParams,
        body: RollbackBody,
        detail: { summary: "Make a new version equal to an old one" },
      },
    );
}
