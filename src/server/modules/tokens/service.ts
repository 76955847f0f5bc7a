/**
 * Service tokens (one project, chosen environments, read-only unless asked,
 * optional expiry) and `me_` credentials: one code path for the API and the
 * web pages. A token is shown once, when it is made; only a keyed hash of it
 * is stored. Service tokens are managed by project owners and instance
 * admins.
 */
import { newId } from "../../../appdb";
import { environmentNamed, type ProjectAccess, projectAccess, requireManage } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import { hashCredential, newCredential } from "../../auth/credentials";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";

type Deps = Pick<AppContext, "appdb" | "audit" | "now" | "random"> & Partial<Pick<AppContext, "access">>;

/** C0, DEL, C1 and the bidirectional controls: a token name is shown in terminals and pages. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A token name as stored: trimmed, 1 to 100 characters, none of them a control character. */
export function checkTokenName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 100 || UNPRINTABLE.test(trimmed)) {
    throw new ApiError(
      "INVALID_REQUEST",
      "a token name is 1 to 100 printable characters",
      "leave out control characters (escape sequences, line breaks, tabs), like: ci-deploy",
    );
  }
  return trimmed;
}

export type TokenStatus = "active" | "expired" | "revoked" | "suspended";

/** A service token as listed: never the token itself, nor its hash. */
export interface TokenView {
  id: string;
  name: string | null;
  environments: string[];
  write: boolean;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** `suspended`: its creator is disabled, so it does not work. */
  status: TokenStatus;
}

export interface CreateToken {
  name: string;
  environments: string[];
  write?: boolean;
  expiresInDays?: number;
}

export interface CreatedToken {
  id: string;
  /** The token: shown once, here, and never again. */
  token: string;
  name: string;
  environments: string[];
  write: boolean;
  expiresAt: number | null;
}

export const TOKEN_ID = /^tok_[0-9a-f]{24}$/;

export function createTokenService(ctx: Deps) {
  const event = (caller: Caller, action: string, projectId: string, detail: object, ip: string | null) =>
    ctx.audit.event(caller, action, { projectId, ip }, detail);

  return {
    /** The project's service tokens, newest first (managers only). */
    async list(access: ProjectAccess): Promise<TokenView[]> {
      requireManage(access);
      const byId = new Map(access.environments.map((e) => [e.id, e.name]));
      const rows = await ctx.appdb.tokens.listServiceTokens(access.project.id);
      const now = ctx.now();
      return rows.map((r) => ({
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
      }));
    },

    /** A new service token, returned once (managers only). */
    async create(
      caller: Caller,
      access: ProjectAccess,
      input: CreateToken,
      ip: string | null,
    ): Promise<CreatedToken> {
      requireManage(access);
      const name = checkTokenName(input.name);
      const envs = [...new Set(input.environments)].map((env) => environmentNamed(access, env));
      if (envs.length === 0)
        throw new ApiError(
          "INVALID_REQUEST",
          "a token needs at least one environment",
          "choose ci, for example",
        );
      const write = input.write ?? false;
      const token = newCredential("service", ctx.random);
      const id = newId.token(ctx.random);
      const at = ctx.now();
      const expiresAt = input.expiresInDays ? at + input.expiresInDays * 86_400_000 : null;
      await ctx.appdb.tokens.insert({
        id,
        kind: "service",
        hash: hashCredential(ctx.appdb.credentialKey, token),
        projectId: access.project.id,
        name,
        canWrite: write,
        environments: JSON.stringify(envs.map((e) => e.id)),
        createdBy: caller.kind === "service" ? null : caller.user.id,
        createdAt: at,
        expiresAt,
      });
      await event(
        caller,
        "token.create",
        access.project.id,
        { id, name, environments: envs.map((e) => e.name), write },
        ip,
      );
      return { id, token, name, environments: envs.map((e) => e.name), write, expiresAt };
    },

    /** Revokes one of the project's service tokens (managers only); returns its name. */
    async revoke(
      caller: Caller,
      access: ProjectAccess,
      tokenId: string,
      ip: string | null,
    ): Promise<{ id: string; name: string | null }> {
      requireManage(access);
      const token = TOKEN_ID.test(tokenId) ? await ctx.appdb.tokens.byId(tokenId) : undefined;
      if (!token || token.projectId !== access.project.id || token.kind !== "service") {
        throw new ApiError("NOT_FOUND", "no such token in this project");
      }
      await ctx.appdb.tokens.revoke(token.id, ctx.now());
      await event(caller, "token.revoke", access.project.id, { id: token.id, name: token.name }, ip);
      return { id: token.id, name: token.name };
    },

    /** A `me_` credential for the signed-in user, bound to a project they can see; returned once. */
    async createMe(
      caller: Caller,
      projectId: string,
      ip: string | null,
    ): Promise<{ id: string; token: string }> {
      if (caller.kind !== "session")
        throw new ApiError("FORBIDDEN", "only a signed-in user can create a me_ credential");
      const access = await projectAccess(ctx, caller, projectId);
      const token = newCredential("me", ctx.random);
      const id = newId.token(ctx.random);
      await ctx.appdb.tokens.insert({
        id,
        kind: "me",
        hash: hashCredential(ctx.appdb.credentialKey, token),
        userId: caller.user.id,
        projectId: access.project.id,
        name: token.slice(0, 9),
        createdAt: ctx.now(),
      });
      await event(caller, "token.create_me", access.project.id, { id }, ip);
      return { id, token };
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
