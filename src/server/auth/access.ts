/**
 * Access decisions, in one place. Deny by default: a member sees a project
 * only through a grant (or as its owner), and an environment only with a
 * grant on it. A project the caller cannot see is 404, never 403.
 */
import type { AppDb, Environment, Permission, Project } from "../../appdb";
import { ApiError } from "../errors";
import { type Caller, isInstanceAdmin } from "./caller";

export interface ProjectAccess {
  project: Project;
  environments: Environment[];
  /** Manage members, tokens, keys, environments: instance owners/admins and project owners. */
  manage: boolean;
  permission(environmentId: string): Permission;
}

export const projectNotFound = () =>
  new ApiError("NOT_FOUND", "no such project", "check the project id, or ask its owner for access");

/**
 * Access decisions of the last moments, by credential and project, so that
 * a hot client does not cost several queries a request. Every write to
 * projects, environments, memberships, grants or credentials in this process
 * clears it (see createAppContext); a new version only moves the head of its
 * environment in the cached entries, so that pushes do not make every
 * caller's next request decide again. Another process's change takes effect
 * within the TTL.
 */
export interface AccessCache {
  get(key: string): ProjectAccess | undefined;
  put(key: string, access: ProjectAccess): void;
  /** An environment's new head, committed in this process: cached entries show it at once. */
  moved(environmentId: string, head: number): void;
  clear(): void;
}

export const ACCESS_TTL_MS = 2_000;

export function createAccessCache(now: () => number, ttlMs = ACCESS_TTL_MS): AccessCache {
  const entries = new Map<string, { access: ProjectAccess; at: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry || now() - entry.at > ttlMs) return undefined;
      return entry.access;
    },
    put(key, access) {
      if (entries.size >= 10_000) entries.clear();
      entries.set(key, { access, at: now() });
    },
    moved(environmentId, head) {
      for (const { access } of entries.values()) {
        for (const env of access.environments) {
          if (env.id === environmentId && env.head < head) env.head = head;
        }
      }
    },
    clear: () => entries.clear(),
  };
}

export async function projectAccess(
  ctx: { appdb: AppDb; access?: AccessCache },
  caller: Caller,
  projectId: string,
): Promise<ProjectAccess> {
  if ((caller.kind === "service" || caller.kind === "me") && caller.projectId !== projectId)
    throw projectNotFound();
  const key = `${caller.token.id}:${projectId}`;
  const cached = ctx.access?.get(key);
  if (cached) return cached;
  const decided = await decideAccess(ctx, caller, projectId);
  ctx.access?.put(key, decided);
  return decided;
}

async function decideAccess(
  ctx: { appdb: AppDb },
  caller: Caller,
  projectId: string,
): Promise<ProjectAccess> {
  const project = await ctx.appdb.projects.byId(projectId);
  if (!project) throw projectNotFound();
  const environments = await ctx.appdb.projects.environments(projectId);
  if (caller.kind === "service") {
    const allowed = new Set(caller.environmentIds);
    const level: Permission = caller.canWrite ? "write" : "read";
    return { project, environments, manage: false, permission: (id) => (allowed.has(id) ? level : "none") };
  }
  if (isInstanceAdmin(caller)) return { project, environments, manage: true, permission: () => "write" };
  const membership = await ctx.appdb.projects.membership(projectId, caller.user.id);
  if (membership?.role === "owner") return { project, environments, manage: true, permission: () => "write" };
  const grants = await ctx.appdb.projects.grantsOf(projectId, caller.user.id);
  if (grants.size === 0) throw projectNotFound();
  return { project, environments, manage: false, permission: (id) => grants.get(id) ?? "none" };
}

export function environmentNamed(access: ProjectAccess, name: string): Environment {
  const env = access.environments.find((e) => e.name === name);
  if (!env) {
    throw new ApiError(
      "NOT_FOUND",
      `no environment "${name}" in this project`,
      `environments: ${access.environments.map((e) => e.name).join(", ")}`,
    );
  }
  return env;
}

export function requirePermission(access: ProjectAccess, env: Environment, needed: "read" | "write"): void {
  const has = access.permission(env.id);
  if (has === "write" || has === needed) return;
  throw new ApiError(
    "FORBIDDEN",
    `no ${needed} access to ${env.name}`,
    has === "read" ? "this credential is read-only here" : "ask a project owner to grant access",
  );
}

export function requireManage(access: ProjectAccess): void {
  if (!access.manage) {
    throw new ApiError(
      "FORBIDDEN",
      "only project owners and instance admins can do this",
      "ask a project owner",
    );
  }
}
