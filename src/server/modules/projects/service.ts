/**
 * Projects and their environments. A new project gets the four default
 * environments (`development` is the main one), each with its own
 * DOTENV_KEY, sealed by the app and stored in the keeper like any value.
 */
import { type Environment, newId, type Project } from "../../../appdb";
import { type Caller, isInstanceAdmin } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { MAX_CHAIN } from "../secrets/views";

export const DEFAULT_ENVIRONMENTS = ["development", "ci", "staging", "production"] as const;
export const MAIN_ENVIRONMENT = "development";
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9_]{0,31}$/;
export const PROJECT_NAME_MAX = 100;

export function checkProjectName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > PROJECT_NAME_MAX || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new ApiError("INVALID_REQUEST", "a project name is 1 to 100 printable characters");
  }
  return trimmed;
}

export function checkEnvironmentName(name: string): void {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new ApiError(
      "INVALID_REQUEST",
      `"${name.slice(0, 40)}" is not an environment name`,
      "use a lowercase letter, then up to 31 lowercase letters, digits or _ (like staging_eu)",
    );
  }
}

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now" | "random" | "snapshots">;

/** Seals new DOTENV_KEYs for environments and stores them in the keeper in one round trip. */
export async function sealDotenvKeys(ctx: Deps, projectId: string, envIds: string[]): Promise<Buffer[]> {
  const blobs = envIds.map((envId) =>
    ctx.sealer.seal(ctx.random(32), binding("dotenv-key", projectId, envId)),
  );
  const refs = await ctx.keeper.put(blobs);
  return refs.map((r) => Buffer.from(r));
}

export function createProjectService(ctx: Deps) {
  const event = (
    caller: Caller,
    action: string,
    projectId: string | null,
    environmentId: string | null,
    detail: object,
    ip: string | null,
  ) => ctx.audit.event(caller, action, { projectId, environmentId, ip }, detail);

  return {
    async create(
      caller: Caller,
      name: string,
      ip: string | null,
    ): Promise<{ project: Project; environments: Environment[] }> {
      if (caller.kind !== "session") {
        throw new ApiError(
          "FORBIDDEN",
          "only a signed-in user can create projects",
          "vault login, then vault new",
        );
      }
      const projectName = checkProjectName(name);
      const at = ctx.now();
      const project: Project = {
        id: newId.project(ctx.random),
        name: projectName,
        createdBy: caller.user.id,
        createdAt: at,
      };
      const ids = DEFAULT_ENVIRONMENTS.map(() => newId.environment(ctx.random));
      const keyRefs = await sealDotenvKeys(ctx, project.id, ids);
      const environments: Environment[] = DEFAULT_ENVIRONMENTS.map((envName, i) => ({
        id: ids[i]!,
        projectId: project.id,
        name: envName,
        isMain: envName === MAIN_ENVIRONMENT,
        head: 0,
        dotenvKeyRef: keyRefs[i]!,
        previousDotenvKeyRef: null,
        createdAt: at,
        parentId: null,
      }));
      try {
        await ctx.appdb.projects.create(project, environments, { userId: caller.user.id, at });
      } catch (error) {
        await ctx.keeper.delete(keyRefs).catch(() => 0);
        throw error;
      }
      await event(caller, "project.create", project.id, null, { name: projectName }, ip);
      return { project, environments };
    },

    async list(caller: Caller): Promise<Project[]> {
      if (caller.kind === "service" || caller.kind === "me") {
        const project = await ctx.appdb.projects.byId(caller.projectId);
        if (!project) return [];
        if (caller.kind === "service") return [project];
      }
      if (isInstanceAdmin(caller)) {
        const all = await ctx.appdb.projects.all();
        return caller.kind === "me" ? all.filter((p) => p.id === caller.projectId) : all;
      }
      const visible = await ctx.appdb.projects.visibleTo(caller.user.id);
      return caller.kind === "me" ? visible.filter((p) => p.id === caller.projectId) : visible;
    },

    async rename(caller: Caller, project: Project, name: string, ip: string | null): Promise<void> {
      const next = checkProjectName(name);
      await ctx.appdb.projects.rename(project.id, next);
      await event(caller, "project.rename", project.id, null, { from: project.name, to: next }, ip);
    },

    async remove(caller: Caller, project: Project, confirm: string, ip: string | null): Promise<void> {
      if (confirm !== project.name) {
        throw new ApiError(
          "INVALID_REQUEST",
          "the confirmation does not match the project name",
          "send confirm: <the project's exact name>",
        );
      }
      const envs = await ctx.appdb.projects.environments(project.id);
      const refs = await ctx.appdb.versions.refsOfEnvironments(envs.map((e) => e.id));
      await ctx.appdb.projects.delete(project.id);
      for (const env of envs) ctx.snapshots.forget(env.id);
      await ctx.appdb.versions.forgetRefs(envs.map((e) => e.id));
      await event(
        caller,
        "project.delete",
        project.id,
        null,
        { name: project.name, values: refs.length },
        ip,
      );
      // After the commit: a crash here leaves orphans for the collector, never a name without a value.
      await deleteInBatches(ctx, refs);
    },

    /**
     * A new environment; with `parent`, a branch of that environment of the project: it starts
     * with every key of its parent and stores only its own changes (at most MAX_CHAIN parents
     * above it; `example`, which anyone with the project id may pull, is never a branch).
     */
    async addEnvironment(
      caller: Caller,
      project: Project,
      name: string,
      ip: string | null,
      parentName?: string,
    ): Promise<Environment> {
      checkEnvironmentName(name);
      if (await ctx.appdb.projects.environment(project.id, name)) {
        throw new ApiError("CONFLICT", `the environment ${name} already exists`);
      }
      let parent: Environment | undefined;
      if (parentName !== undefined) {
        parent = await ctx.appdb.projects.environment(project.id, parentName);
        if (!parent) {
          const names = (await ctx.appdb.projects.environments(project.id)).map((e) => e.name);
          throw new ApiError(
            "NOT_FOUND",
            `no environment "${parentName.slice(0, 40)}" to branch from`,
            `environments: ${names.join(", ")}`,
          );
        }
        if (name === "example") {
          throw new ApiError(
            "INVALID_REQUEST",
            "example cannot be a branch: anyone with the project id may pull it, and a branch holds its parent's values",
            "add example as an environment of its own, with placeholders",
          );
        }
        let depth = 1;
        for (let up = parent; up.parentId !== null; depth++) {
          const next = await ctx.appdb.projects.environmentById(up.parentId);
          if (!next || depth >= MAX_CHAIN) {
            throw new ApiError(
              "INVALID_REQUEST",
              `${parent.name} already has ${MAX_CHAIN} parents above it`,
              "branch from an environment nearer the top",
            );
          }
          up = next;
        }
      }
      const id = newId.environment(ctx.random);
      const [keyRef] = await sealDotenvKeys(ctx, project.id, [id]);
      const env: Environment = {
        id,
        projectId: project.id,
        name,
        isMain: false,
        head: 0,
        dotenvKeyRef: keyRef!,
        previousDotenvKeyRef: null,
        createdAt: ctx.now(),
        parentId: parent?.id ?? null,
      };
      try {
        await ctx.appdb.projects.addEnvironment(env);
      } catch (error) {
        await ctx.keeper.delete([keyRef!]).catch(() => 0);
        throw error;
      }
      await event(
        caller,
        "environment.add",
        project.id,
        id,
        { name, ...(parent ? { parent: parent.name } : {}) },
        ip,
      );
      return env;
    },

    async removeEnvironment(
      caller: Caller,
      project: Project,
      env: Environment,
      ip: string | null,
    ): Promise<void> {
      if (env.isMain) {
        throw new ApiError(
          "INVALID_REQUEST",
          `${env.name} is the project's main environment and cannot be removed`,
        );
      }
      const branches = await ctx.appdb.projects.branchesOf(env.id);
      if (branches.length > 0) {
        const names = branches.map((b) => b.name);
        throw new ApiError(
          "CONFLICT",
          `${env.name} has branches (${names.join(", ")}), which read their keys from it`,
          `remove them first: ${names.map((n) => `vault envs rm ${n}`).join("; ")}`,
        );
      }
      const refs = await ctx.appdb.versions.refsOfEnvironments([env.id]);
      await ctx.appdb.projects.deleteEnvironment(env.id);
      ctx.snapshots.forget(env.id);
      await ctx.appdb.versions.forgetRefs([env.id]);
      await event(
        caller,
        "environment.remove",
        project.id,
        env.id,
        { name: env.name, values: refs.length },
        ip,
      );
      await deleteInBatches(ctx, refs);
    },
  };
}

async function deleteInBatches(ctx: Pick<AppContext, "keeper">, refs: Buffer[]): Promise<void> {
  for (let i = 0; i < refs.length; i += 5_000) {
    await ctx.keeper.delete(refs.slice(i, i + 5_000)).catch(() => 0);
  }
}

export type ProjectService = ReturnType<typeof createProjectService>;
