/**
 * Personal overrides: a signed-in user's own values on top of an environment
 * they can read (`vault set --personal`). They apply to that user's resolved
 * reads only (run, export, get, pull --resolve, the TUI's and the web
 * editor's reveal, explain), through a session or the user's `me_`
 * credential (one user, one project: the same person), never to a service
 * token, never to anyone else and never to a `.env.vault` build. Sealed like
 * any value (binding "override": the user, the environment, the name) and
 * stored in the keeper; app.db holds the names and refs. The names per user
 * and environment are remembered for a few seconds (a resolved read would
 * otherwise cost a query each); every change in this process forgets them.
 */
import type { Environment, Project } from "../../../appdb";
import type { Caller, UserCaller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding, SealError } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { serialized } from "../../serialize";
import { checkKeyName, checkValues, LIMITS } from "./limits";
import { integrityError } from "./snapshot";

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now">;

/** The most personal overrides one user keeps per environment. */
export const MAX_PERSONAL = 100;
const REMEMBER_MS = 2_000;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export const isUser = (caller: Caller): caller is UserCaller => caller.kind !== "service";

const overrideBinding = (userId: string, env: Environment, name: string) =>
  binding("override", userId, env.id, name);

type Remembered = Map<string, { rows: { name: string; ref: Buffer }[]; at: number }>;
/** One memory per app (every service instance over the same app.db shares it, so a change is seen by all). */
const memories = new WeakMap<object, Remembered>();

export function createPersonal(ctx: Deps) {
  const remembered: Remembered = memories.get(ctx.appdb) ?? new Map();
  memories.set(ctx.appdb, remembered);
  const keyOf = (userId: string, envId: string) => `${userId}:${envId}`;

  const rowsOf = async (userId: string, env: Environment) => {
    const key = keyOf(userId, env.id);
    const hit = remembered.get(key);
    if (hit && ctx.now() - hit.at <= REMEMBER_MS) return hit.rows;
    const rows = (await ctx.appdb.overrides.list(userId, env.id)).map((r) => ({
      name: r.name,
      ref: Buffer.from(r.ref),
    }));
    if (remembered.size >= 10_000) remembered.clear();
    remembered.set(key, { rows, at: ctx.now() });
    return rows;
  };

  /** The caller's overrides of an environment, opened (none for a service token). */
  const overlay = async (caller: Caller, env: Environment): Promise<Map<string, string>> => {
    if (!isUser(caller)) return new Map();
    const rows = await rowsOf(caller.user.id, env);
    if (rows.length === 0) return new Map();
    const blobs = await ctx.keeper.get(rows.map((r) => r.ref));
    const out = new Map<string, string>();
    try {
      rows.forEach((row, i) => {
        const blob = blobs[i];
        if (!blob) throw integrityError();
        out.set(row.name, utf8.decode(ctx.sealer.open(blob, overrideBinding(caller.user.id, env, row.name))));
      });
    } catch (error) {
      if (error instanceof SealError || error instanceof TypeError) throw integrityError();
      throw error;
    }
    return out;
  };

  const onlyUsers = (caller: Caller): UserCaller => {
    if (!isUser(caller)) {
      throw new ApiError(
        "FORBIDDEN",
        "a service token has no personal overrides",
        "personal overrides belong to a signed-in user: vault login",
      );
    }
    return caller;
  };

  return {
    overlay,

    /** The names of the caller's overrides of an environment. */
    async names(caller: Caller, env: Environment): Promise<string[]> {
      if (!isUser(caller)) return [];
      return (await rowsOf(caller.user.id, env)).map((r) => r.name);
    },

    /** The caller's overrides in every environment of a project (names and times, never values). */
    async list(caller: Caller, project: Project) {
      const user = onlyUsers(caller);
      return ctx.appdb.overrides.inProject(user.user.id, project.id);
    },

    /**
     * Sets overrides, once `check` (the references in them) passes: sealed and stored first,
     * then the rows, then the blobs they replace are deleted. Audited (names counted, never values).
     */
    async set(
      caller: Caller,
      project: Project,
      env: Environment,
      values: Map<string, string>,
      check: (next: Map<string, string>) => Promise<void>,
      ip: string | null,
    ): Promise<string[]> {
      const user = onlyUsers(caller);
      checkValues(values);
      return serialized(`personal:${user.user.id}:${env.id}`, async () => {
        const current = await ctx.appdb.overrides.list(user.user.id, env.id);
        const names = new Set([...current.map((r) => r.name), ...values.keys()]);
        if (names.size > MAX_PERSONAL) {
          throw new ApiError(
            "LIMIT_EXCEEDED",
            `you may keep at most ${MAX_PERSONAL} personal overrides per environment`,
            "remove some: vault unset --personal KEY",
          );
        }
        await check(new Map([...(await overlay(caller, env)), ...values]));
        const blobs = ctx.sealer.sealMany(
          [...values].map(([name, value]) => ({
            plaintext: Buffer.from(value, "utf8"),
            binding: overrideBinding(user.user.id, env, name),
          })),
        );
        const refs = (await ctx.keeper.put(blobs)).map((r) => Buffer.from(r));
        const byName = new Map([...values.keys()].map((name, i) => [name, refs[i]!]));
        let replaced: Buffer[];
        try {
          replaced = await ctx.appdb.overrides.put(user.user.id, env.id, byName, ctx.now());
        } catch (error) {
          await ctx.keeper.delete(refs).catch(() => 0);
          throw error;
        } finally {
          remembered.delete(keyOf(user.user.id, env.id));
        }
        await ctx.audit.event(
          caller,
          "personal.set",
          { projectId: project.id, environmentId: env.id, ip },
          { keys: values.size },
        );
        if (replaced.length > 0) await ctx.keeper.delete(replaced).catch(() => 0);
        return [...values.keys()];
      });
    },

    /** Removes overrides by name (after `check` of what stays); the names that were there. */
    async unset(
      caller: Caller,
      project: Project,
      env: Environment,
      names: string[],
      check: (next: Map<string, string>) => Promise<void>,
      ip: string | null,
    ): Promise<string[]> {
      const user = onlyUsers(caller);
      if (names.length > LIMITS.keysPerEnvironment) throw new ApiError("LIMIT_EXCEEDED", "too many names");
      for (const name of names) checkKeyName(name);
      return serialized(`personal:${user.user.id}:${env.id}`, async () => {
        const gone = new Set(names);
        await check(new Map([...(await overlay(caller, env))].filter(([n]) => !gone.has(n))));
        const removed = await ctx.appdb.overrides.remove(user.user.id, env.id, names);
        remembered.delete(keyOf(user.user.id, env.id));
        if (removed.length > 0) {
          await ctx.audit.event(
            caller,
            "personal.unset",
            { projectId: project.id, environmentId: env.id, ip },
            { keys: removed.length },
          );
          await ctx.keeper.delete(removed.map((r) => r.ref)).catch(() => 0);
        }
        return removed.map((r) => r.name);
      });
    },
  };
}

export type Personal = ReturnType<typeof createPersonal>;
