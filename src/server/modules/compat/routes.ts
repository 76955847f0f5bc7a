/**
 * The dotenv-vault CLI's protocol at the server root (PROTOCOL.md section 2):
 * `POST /push`, `/pull`, `/build`, `/keys`, `/rotatekey`, `/versions`,
 * `/whoami`, `/vault`, `/check`. The project id and the `me_` credential
 * travel in the body (both spellings accepted); answers are
 * `{ data: {...} }`, failures `{ errors: [{ code, message, suggestions }] }`.
 * The verbs map onto the same services, permissions and audit as the native
 * API, and a `me_` credential reaches only its own project.
 */
import { Elysia } from "elysia";
import type { Environment } from "../../../appdb";
import { environmentNamed, type ProjectAccess, projectAccess, requirePermission } from "../../auth/access";
import { authenticate, type Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError, ERROR_STATUS, type ErrorCode } from "../../errors";
import { clientIp } from "../../http";
import { createEnvVaultService, envFileName } from "../envvault/service";
import { createHandoffService } from "../handoff/service";
import { createSecretService, type Summary } from "../secrets/service";

const PROJECT_ID = /^vlt_[0-9a-f]{64}$/;
const ME = /^me_[0-9a-f]{64}$/;
const ENV_AT_VERSION = /^([a-z][a-z0-9_]{0,31})(?:@v?(\d{1,9}))?$/;

/**
 * A refusal in the dotenv-vault protocol's own words (its code, one
 * suggestion), with its HTTP status from the API's one table by the kind
 * of refusal it is.
 */
class ProtocolError extends Error {
  constructor(
    readonly kind: ErrorCode,
    readonly code: string,
    message: string,
    readonly suggestion: string,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.kind];
  }
}

function protocolAnswer(error: unknown): Response {
  if (error instanceof ProtocolError) {
    return Response.json(
      { errors: [{ code: error.code, message: error.message, suggestions: [error.suggestion] }] },
      { status: error.status },
    );
  }
  if (error instanceof ApiError) {
    return Response.json(
      { errors: [{ code: error.code, message: error.message, suggestions: error.hint ? [error.hint] : [] }] },
      { status: ERROR_STATUS[error.code], headers: error.headers },
    );
  }
  throw error;
}

type Body = Record<string, unknown>;

function field(body: Body, names: readonly string[], what: string, pattern?: RegExp): string {
  for (const name of names) {
    const value = body[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string")
      throw new ProtocolError("INVALID_REQUEST", "INVALID_FIELD", `${name} must be a string`, `send ${what}`);
    if (pattern && !pattern.test(value))
      throw new ProtocolError(
        "INVALID_REQUEST",
        `INVALID_${names[0]!.toUpperCase()}`,
        `${name} is not ${what}`,
        `check ${what}`,
      );
    return value;
  }
  throw new ProtocolError(
    "INVALID_REQUEST",
    `MISSING_${names[0]!.toUpperCase()}`,
    `missing ${names.join(" or ")}`,
    `send ${what}`,
  );
}

function optionalString(body: Body, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string")
    throw new ProtocolError(
      "INVALID_REQUEST",
      "INVALID_FIELD",
      `${name} must be a string`,
      `send ${name} as text`,
    );
  return value;
}

export function summaryLine(s: Summary): string {
  const parts = [
    s.added.length ? `added ${s.added.join(", ")}` : "",
    s.changed.length ? `changed ${s.changed.join(", ")}` : "",
    s.removed.length ? `removed ${s.removed.join(", ")}` : "",
  ].filter(Boolean);
  const line = parts.join("; ") || "no changes";
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

export function compatRoutes(ctx: AppContext) {
  const secrets = createSecretService(ctx);
  const vault = createEnvVaultService(ctx, secrets);
  const handoffs = createHandoffService(ctx);

  /** The caller behind the body's `me_` credential, and its project (which must be the body's). */
  async function project(body: Body): Promise<{ caller: Caller; access: ProjectAccess }> {
    const projectId = field(
      body,
      ["DOTENV_VAULT", "projectUid", "vaultUid"],
      "the project id (vlt_...) from .env.vault",
      PROJECT_ID,
    );
    const me = field(body, ["DOTENV_ME", "meUid"], "your credential (me_...) from .env.me", ME);
    let caller: Caller;
    try {
      caller = await authenticate(ctx, `Bearer ${me}`);
    } catch {
      throw new ProtocolError(
        "UNAUTHENTICATED",
        "INVALID_DOTENV_ME",
        "the credential in .env.me is not valid here",
        "run dotenv-vault login",
      );
    }
    if (caller.kind !== "me") {
      throw new ProtocolError(
        "UNAUTHENTICATED",
        "INVALID_DOTENV_ME",
        "the credential in .env.me is not valid here",
        "run dotenv-vault login",
      );
    }
    if (caller.projectId !== projectId) {
      throw new ProtocolError(
        "NOT_FOUND",
        "PROJECT_NOT_FOUND",
        "no such project for this credential",
        "check DOTENV_VAULT in .env.vault, then run dotenv-vault login",
      );
    }
    return { caller, access: await projectAccess(ctx, caller, projectId) };
  }

  const mainOf = (access: ProjectAccess): Environment =>
    access.environments.find((e) => e.isMain) ?? access.environments[0]!;

  function environment(
    access: ProjectAccess,
    name: string | undefined,
  ): { env: Environment; version?: number } {
    if (name === undefined || name === "undefined") return { env: mainOf(access) };
    const m = ENV_AT_VERSION.exec(name);
    if (!m) {
      throw new ProtocolError(
        "INVALID_REQUEST",
        "INVALID_ENVIRONMENT",
        `"${name.slice(0, 40)}" is not an environment`,
        "use a name like production, or production@3",
      );
    }
    return { env: environmentNamed(access, m[1]!), version: m[2] === undefined ? undefined : Number(m[2]) };
  }

  const verb =
    (handler: (body: Body, request: Request, ip: string | null) => Promise<object>) =>
    async ({
      body,
      request,
      server,
    }: {
      body: unknown;
      request: Request;
      server: Parameters<typeof clientIp>[2];
    }) => {
      try {
        if (body === null || typeof body !== "object" || Array.isArray(body)) {
          throw new ProtocolError(
            "INVALID_REQUEST",
            "INVALID_BODY",
            "the body must be a JSON object",
            "send JSON with content-type application/json",
          );
        }
        return { data: await handler(body as Body, request, clientIp(ctx, request, server)) };
      } catch (error) {
        return protocolAnswer(error);
      }
    };

  /**
   * The `.env.vault` a push or pull answers with. Its values are resolved, so it can be refused
   * (a part that would hold what someone who opens it may not read, a broken reference): then
   * the answer says what was done and why the file was not built.
   */
  const built = async (caller: Caller, access: ProjectAccess, ip: string | null, done?: string) => {
    try {
      return (await vault.build(caller, access, ip)).text;
    } catch (error) {
      if (done && error instanceof ApiError && (error.code === "FORBIDDEN" || error.code === "CONFLICT")) {
        throw new ApiError(error.code, `${done}, but .env.vault was not built: ${error.message}`, error.hint);
      }
      throw error;
    }
  };

  const app = new Elysia({ name: "compat" })
    .post(
      "/push",
      verb(async (body, _request, ip) => {
        const { caller, access } = await project(body);
        const { env } = environment(access, optionalString(body, "environment"));
        requirePermission(access, env, "write");
        const text = field(body, ["dotenv"], "the file's text");
        const result = await secrets.change(caller, access.project, env, { kind: "push", text }, { ip });
        if (result.request) {
          // A protected environment: no version was made. The CLI prints this as an error (exit 2).
          throw new ProtocolError(
            "CONFLICT",
            "CHANGE_REQUEST_OPENED",
            `${env.name} is protected: change request #${result.request.number} was opened instead of a new version; an approver must approve it`,
            `vault requests show ${result.request.number}`,
          );
        }
        const fresh = await projectAccess(ctx, caller, access.project.id);
        return {
          environment: env.name,
          envName: envFileName(env),
          dotenvVault: await built(caller, fresh, ip, `pushed ${env.name} version ${result.version}`),
        };
      }),
    )
    .post(
      "/pull",
      verb(async (body, _request, ip) => {
        const requested = optionalString(body, "environment");
        if (requested === "example") return pullExample(body, ip);
        const { caller, access } = await project(body);
        const { env, version } = environment(access, requested);
        requirePermission(access, env, "read");
        const file = await secrets.read(caller, access.project, env, { version, format: "dotenv", ip });
        return {
          environment: env.name,
          envName: envFileName(env),
          dotenv: file.dotenv ?? "",
          dotenvVault: await built(caller, access, ip, `pulled ${env.name}`),
        };
      }),
    )
    .post(
      "/build",
      verb(async (body, _request, ip) => {
        const { caller, access } = await project(body);
        return { envName: ".env.vault", dotenv: await built(caller, access, ip) };
      }),
    )
    .post(
      "/keys",
      verb(async (body, _request, ip) => {
        const { caller, access } = await project(body);
        const name = optionalString(body, "environment");
        const only = name === undefined ? undefined : environment(access, name).env;
        return { keys: await vault.keys(caller, access, only, ip) };
      }),
    )
    .post(
      "/rotatekey",
      verb(async (body, _request, ip) => {
        const { caller, access } = await project(body);
        const name = optionalString(body, "environment");
        if (name === undefined)
          throw new ProtocolError(
            "INVALID_REQUEST",
            "MISSING_ENVIRONMENT",
            "which environment?",
            "run dotenv-vault rotatekey production",
          );
        const { env } = environment(access, name);
        const rotated = await vault.rotate(caller, access, env, ip);
        return { DOTENV_KEY: rotated.key, PREVIOUS_DOTENV_KEY: rotated.previousKey };
      }),
    )
    .post(
      "/versions",
      verb(async (body) => {
        const { access } = await project(body);
        const { env } = environment(access, optionalString(body, "environment"));
        requirePermission(access, env, "read");
        const rows = await secrets.versions(env, { limit: 100 });
        const versions = rows.map((v) => ({
          version: v.version,
          change: summaryLine(v.summary),
          by: v.author,
          when: new Date(v.createdAt).toISOString(),
        }));
        // The CLI reads versions[0]: never answer an empty list.
        if (versions.length === 0)
          versions.push({ version: 0, change: "nothing pushed yet", by: "", when: "" });
        return { environment: env.name, versions };
      }),
    )
    .post(
      "/whoami",
      verb(async (body) => {
        const { caller } = await project(body);
        return { email: caller.kind === "me" ? caller.user.email : "" };
      }),
    )
    .post(
      "/vault",
      verb(async (body, request, ip) => {
        const id = field(body, ["requestUid"], "the request id (req_...)");
        await handoffs.recordPoll(id, { ip, userAgent: request.headers.get("user-agent") });
        const vaultUid = await handoffs.collect("new", id);
        if (vaultUid === undefined)
          throw new ProtocolError(
            "NOT_FOUND",
            "PENDING",
            "not approved yet",
            "approve the new project in your browser",
          );
        return { vaultUid };
      }),
    )
    .post(
      "/check",
      verb(async (body, request, ip) => {
        const url = new URL(request.url);
        const id = optionalString(body, "requestUid") ?? url.searchParams.get("requestUid") ?? "";
        const projectId =
          optionalString(body, "vaultUid") ??
          optionalString(body, "DOTENV_VAULT") ??
          url.searchParams.get("DOTENV_VAULT") ??
          "";
        if (!PROJECT_ID.test(projectId))
          throw new ProtocolError(
            "INVALID_REQUEST",
            "INVALID_DOTENV_VAULT",
            "no project id",
            "check DOTENV_VAULT in .env.vault",
          );
        // The first poll says where the request came from (its approval page shows it).
        await handoffs.recordPoll(id, { ip, userAgent: request.headers.get("user-agent") });
        const row = /^req_[0-9a-f]{64}$/.test(id) ? await ctx.appdb.handoffs.get(id) : undefined;
        const kind = row?.kind === "logout" ? "logout" : "login";
        const meUid = await handoffs.collect(kind, id, projectId);
        if (meUid === undefined)
          throw new ProtocolError("NOT_FOUND", "PENDING", "not approved yet", "approve in your browser");
        return { meUid };
      }),
    );

  /** `pull example`: no credential; the project's `example` environment, if the team made one. */
  async function pullExample(body: Body, ip: string | null) {
    const projectId = field(body, ["DOTENV_VAULT", "projectUid"], "the project id (vlt_...)", PROJECT_ID);
    const project = await ctx.appdb.projects.byId(projectId);
    if (!project)
      throw new ProtocolError(
        "NOT_FOUND",
        "PROJECT_NOT_FOUND",
        "no such project",
        "check DOTENV_VAULT in .env.vault",
      );
    const env = await ctx.appdb.projects.environment(projectId, "example");
    const dotenv = env ? await secrets.readPublic(project, env, ip) : "";
    return { environment: "example", envName: ".env.example", dotenv };
  }

  return app;
}
