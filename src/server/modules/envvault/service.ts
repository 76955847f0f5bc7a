/**
 * `.env.vault` files and DOTENV_KEYs. Every environment has its own key,
 * stored like a value: sealed by the app (bound to its project and
 * environment) and then by the keeper. A rotation keeps the previous key, so
 * `DOTENV_KEY='<old>,<new>'` opens both the previous and the new file.
 *
 * A build holds each environment's values resolved (references followed, a
 * branch merged over its parents; never anyone's personal overrides). Whoever
 * can read an environment can read its DOTENV_KEY and so open its part of
 * the file: a part may hold values from another environment (through a
 * reference or a parent) only if everyone who can open it may read that
 * environment too (members with a grant, service tokens, the project's
 * owners; instance admins read everything). Otherwise the build is refused
 * (403, naming both environments), rather than publish production's value to
 * whoever holds development's key.
 */

import type { Environment, Project } from "../../../appdb";
import { buildEnvVault, formatDotenvKey } from "../../../dotenv";
import type { ProjectAccess } from "../../auth/access";
import { environmentNamed, requireManage, requirePermission } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding, SealError } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { serialized } from "../../serialize";
import type { TouchedRead } from "../secrets/layers";
import type { SecretService } from "../secrets/service";
import { integrityError } from "../secrets/snapshot";

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now" | "random" | "config">;

type Readers = Awaited<ReturnType<AppContext["appdb"]["projects"]["readers"]>> & {
  tokens: { name: string; environments: Set<string> }[];
};

export interface EnvironmentKey {
  environment: string;
  key: string;
}

export function createEnvVaultService(ctx: Deps, secrets: SecretService) {
  const host = () => new URL(ctx.config.publicUrl).host;

  /** Who can read what in a project (active users' grants, its owners, its live service tokens). */
  const readersOf = async (projectId: string): Promise<Readers> => {
    const [readers, tokens] = await Promise.all([
      ctx.appdb.projects.readers(projectId),
      ctx.appdb.tokens.listServiceTokens(projectId),
    ]);
    const now = ctx.now();
    return {
      ...readers,
      tokens: tokens
        .filter((t) => t.creatorActive && t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now))
        .map((t) => ({
          name: t.name ?? t.id,
          environments: new Set(JSON.parse(t.environments ?? "[]") as string[]),
        })),
    };
  };

  /** Refuses a part of `env` holding values of `from` that someone who can open it may not read. */
  const checkAudience = async (
    project: Project,
    env: Environment,
    reads: readonly TouchedRead[],
    memo: Map<string, Promise<Readers>>,
  ) => {
    const readers = (id: string) => {
      let found = memo.get(id);
      if (!found) {
        found = readersOf(id);
        memo.set(id, found);
      }
      return found;
    };
    const here = await readers(project.id);
    const admins = new Set(here.granted.filter((g) => g.role !== "member").map((g) => g.userId));
    const owners = new Set(here.owners);
    const users = new Set(
      here.granted
        .filter((g) => g.environmentId === env.id && !admins.has(g.userId) && !owners.has(g.userId))
        .map((g) => g.userId),
    );
    const tokens = here.tokens.filter((t) => t.environments.has(env.id));
    for (const read of reads) {
      if (read.env.id === env.id) continue;
      const refuse = (who: string) =>
        new ApiError(
          "FORBIDDEN",
          `.env.vault: the part of ${env.name} would hold values of ${read.project.id === project.id ? read.env.name : `${read.project.id}/${read.env.name}`} (${read.reason === "branch" ? "its parent" : "through a reference"}), but ${who} who can open it cannot read that environment`,
          read.project.id === project.id
            ? `give everyone who reads ${env.name} read access to ${read.env.name} too (vault members grant EMAIL ${read.env.name}=read; a service token: vault tokens create NAME --env ${env.name},${read.env.name}), or refer to an environment they can read`
            : `whoever reads ${env.name} needs read access to that project's ${read.env.name} (service tokens never read another project), or copy the value into this project`,
        );
      if (read.project.id === project.id) {
        const granted = new Set(
          here.granted.filter((g) => g.environmentId === read.env.id).map((g) => g.userId),
        );
        if ([...users].some((u) => !granted.has(u))) throw refuse("a member");
        if (tokens.some((t) => !t.environments.has(read.env.id))) throw refuse("a service token");
        continue;
      }
      if (tokens.length > 0) throw refuse("a service token");
      const there = await readers(read.project.id);
      const theirOwners = new Set(there.owners);
      const theirGrants = new Set(
        there.granted.filter((g) => g.environmentId === read.env.id).map((g) => g.userId),
      );
      const everyone = [...users, ...[...owners].filter((u) => !admins.has(u))];
      if (everyone.some((u) => !theirOwners.has(u) && !theirGrants.has(u))) throw refuse("a member");
    }
  };

  /** Opens the current (and previous) DOTENV_KEYs of environments in one keeper round trip. */
  const openKeys = async (project: Project, envs: Environment[]) => {
    const refs = envs.flatMap((e) =>
      [e.dotenvKeyRef, e.previousDotenvKeyRef].filter((r): r is Buffer => r !== null),
    );
    const blobs = await ctx.keeper.get(refs.map((r) => Buffer.from(r)));
    let i = 0;
    const out = new Map<string, { current: Uint8Array; previous: Uint8Array | null }>();
    try {
      for (const env of envs) {
        const open = () => {
          const blob = blobs[i++];
          if (!blob) throw integrityError();
          return ctx.sealer.open(blob, binding("dotenv-key", project.id, env.id));
        };
        if (!env.dotenvKeyRef) throw integrityError();
        const current = open();
        const previous = env.previousDotenvKeyRef ? open() : null;
        out.set(env.id, { current, previous });
      }
    } catch (error) {
      if (error instanceof SealError) throw integrityError();
      throw error;
    }
    return out;
  };

  const uri = (key32: Uint8Array, environment: string) =>
    formatDotenvKey({ key32, environment, host: host() });

  const record = (
    caller: Caller,
    action: string,
    project: Project,
    env: Environment | null,
    detail: object,
    ip: string | null,
  ) => ctx.audit.event(caller, action, { projectId: project.id, environmentId: env?.id ?? null, ip }, detail);

  return {
    /** The `.env.vault` holding every environment the caller may read that has a version. */
    async build(
      caller: Caller,
      access: ProjectAccess,
      ip: string | null,
    ): Promise<{ text: string; environments: string[] }> {
      const readable = access.environments.filter(
        (e) => (e.head > 0 || e.parentId !== null) && access.permission(e.id) !== "none",
      );
      const keys = await openKeys(access.project, readable);
      const environments = [];
      const memo = new Map<string, Promise<Readers>>();
      for (const env of readable) {
        const file = await secrets.read(caller, access.project, env, {
          format: "dotenv",
          ip,
          reason: "build",
          resolve: true,
          personal: false,
        });
        await checkAudience(access.project, env, file.reads ?? [], memo);
        environments.push({
          name: env.name,
          version: file.version,
          plaintext: file.dotenv ?? "",
          key32: keys.get(env.id)!.current,
        });
      }
      const text = buildEnvVault({
        projectId: access.project.id,
        apiUrl: ctx.config.publicUrl,
        environments,
        random: ctx.random,
      });
      return { text, environments: readable.map((e) => e.name) };
    },

    /** The DOTENV_KEYs of the environments the caller may read (or of one). */
    async keys(
      caller: Caller,
      access: ProjectAccess,
      only: Environment | undefined,
      ip: string | null,
    ): Promise<EnvironmentKey[]> {
      if (only) requirePermission(access, only, "read");
      const envs = only ? [only] : access.environments.filter((e) => access.permission(e.id) !== "none");
      const keys = await openKeys(access.project, envs);
      for (const env of envs)
        await record(caller, "dotenv_key.read", access.project, env, { environment: env.name }, ip);
      return envs.map((env) => ({ environment: env.name, key: uri(keys.get(env.id)!.current, env.name) }));
    },

    /** One environment's DOTENV_KEY, by name: an audited read (the key pages' "show"). */
    async show(
      caller: Caller,
      access: ProjectAccess,
      environment: string,
      ip: string | null,
    ): Promise<EnvironmentKey> {
      const env = environmentNamed(access, environment);
      requirePermission(access, env, "read");
      const key = (await openKeys(access.project, [env])).get(env.id)!.current;
      await record(caller, "dotenv_key.read", access.project, env, { environment: env.name }, ip);
      return { environment: env.name, key: uri(key, env.name) };
    },

    /**
     * A new key for one environment; the old one stays as the previous key.
     * Keys are managed by project owners and instance admins only (not by
     * members with write, nor write tokens): every path (the native API, the
     * TUI, dotenv-vault `/rotatekey`) comes through here.
     */
    async rotate(caller: Caller, access: ProjectAccess, envAtCall: Environment, ip: string | null) {
      requireManage(access);
      return serialized(`key:${envAtCall.id}`, async () => {
        const env = (await ctx.appdb.projects.environmentById(envAtCall.id)) ?? envAtCall;
        if (!env.dotenvKeyRef) throw integrityError();
        const old = (await openKeys(access.project, [env])).get(env.id)!.current;
        const fresh = ctx.random(32);
        const [ref] = await ctx.keeper.put([
          ctx.sealer.seal(fresh, binding("dotenv-key", access.project.id, env.id)),
        ]);
        const current = Buffer.from(ref!);
        const dropped = env.previousDotenvKeyRef ? Buffer.from(env.previousDotenvKeyRef) : null;
        const applied = await ctx.appdb.projects.setDotenvKeys(
          env.id,
          {
            current,
            previous: Buffer.from(env.dotenvKeyRef),
            dropped,
            expectedCurrent: Buffer.from(env.dotenvKeyRef),
          },
          ctx.now(),
        );
        if (!applied) {
          await ctx.keeper.delete([current]).catch(() => 0);
          throw new ApiError(
            "CONFLICT",
            `the key of ${env.name} was rotated meanwhile`,
            "fetch the keys again",
          );
        }
        await record(caller, "dotenv_key.rotate", access.project, env, { environment: env.name }, ip);
        if (dropped) await ctx.keeper.delete([dropped]).catch(() => 0);
        return { key: uri(fresh, env.name), previousKey: uri(old, env.name) };
      });
    },
  };
}

export type EnvVaultService = ReturnType<typeof createEnvVaultService>;

/** `.env` for the main environment, `.env.<name>` otherwise (the file the dotenv-vault CLI writes). */
export function envFileName(env: Environment): string {
  return env.isMain ? ".env" : `.env.${env.name}`;
}
