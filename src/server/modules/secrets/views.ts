/**
 * What an environment holds, as written, once its layers are merged: for an
 * ordinary environment its version; for a branch its version (overrides,
 * additions and removals only) over its parent's merged view at the
 * parent's head, and so on up the chain (at most MAX_CHAIN parents). The
 * merged view keeps the parent's layout with the branch's overrides in place
 * and its additions at the end, so what the parent changes shows through
 * unless the branch overrides it.
 *
 * Reading a branch reads its parents: every environment of the chain must be
 * readable by the caller (checked here, in the one place every read of a
 * branch comes through). A merged view is kept with the branch's cached
 * version under the key of the parents' heads it was merged with, so it can
 * never outlive a parent's change.
 */
import type { Environment, Project } from "../../../appdb";
import type { ProjectAccess } from "../../auth/access";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { editLayout } from "./document";
import { removedOf, type Snapshot } from "./snapshot";

/** The most parents a branch may have above it (a branch of a branch of ...). */
export const MAX_CHAIN = 8;

const PLAIN = "plain";

/** Which layer gave a name its value: the environment itself or one of its parents, at a version. */
export interface Origin {
  env: Environment;
  version: number;
  /** That layer's own version (for a branch: its overrides, additions and removals only). */
  own: Snapshot;
}

export interface EnvView {
  env: Environment;
  /** The environment's own version. */
  version: number;
  /** name -> value as written, in the merged file's order. */
  values: Map<string, string>;
  /** Names whose values come from versions made before references existed (never resolved). */
  literal: Set<string>;
  origin: Map<string, Origin>;
  /** For a branch: names a layer removed from its parent, and which layer removed them. */
  removed: Map<string, Origin>;
  /** The layers read, this environment first, then each parent at the version merged. */
  chain: Origin[];
  /** The merged layout (computed once, on first use). */
  layout(): Uint8Array | undefined;
  /** This environment's own version (for a branch: only its overrides, additions and removals). */
  own: Snapshot;
  /** For a branch: its parent's merged view (at the parent's head). */
  parent?: EnvView;
}

export interface ViewDeps {
  snapshotAt(project: Project, env: Environment, number: number): Promise<Snapshot>;
}

type Ctx = Pick<AppContext, "appdb" | "snapshots">;

const noParent = (env: Environment) =>
  new ApiError(
    "INTEGRITY",
    `the parent of ${env.name} is missing`,
    "run `vault doctor` on the server and check the audit log",
  );

export function createViews(ctx: Ctx, deps: ViewDeps) {
  /** An environment of the project by id: from the caller's access (fresh heads), else app.db. */
  const environmentOf = async (access: ProjectAccess | undefined, id: string) =>
    access?.environments.find((e) => e.id === id) ?? (await ctx.appdb.projects.environmentById(id));

  const plain = (env: Environment, own: Snapshot): EnvView => {
    const origin = new Map<string, Origin>();
    const layer = { env, version: own.version, own };
    for (const name of own.values.keys()) origin.set(name, layer);
    return {
      env,
      version: own.version,
      values: own.values,
      literal: own.resolves ? new Set() : new Set(own.values.keys()),
      origin,
      removed: new Map(),
      chain: [layer],
      layout: () => own.layout,
      own,
    };
  };

  const merge = (env: Environment, own: Snapshot, parent: EnvView): EnvView => {
    const layer = { env, version: own.version, own };
    const removedNames = removedOf(own.entries).filter((n) => parent.values.has(n));
    const values = new Map(parent.values);
    const literal = new Set(parent.literal);
    const origin = new Map(parent.origin);
    const removed = new Map(parent.removed);
    for (const name of removedNames) {
      values.delete(name);
      literal.delete(name);
      origin.delete(name);
      removed.set(name, layer);
    }
    for (const [name, value] of own.values) {
      values.set(name, value);
      origin.set(name, layer);
      removed.delete(name);
      if (own.resolves) literal.delete(name);
      else literal.add(name);
    }
    let layout: Uint8Array | undefined | null = null;
    return {
      env,
      version: own.version,
      values,
      literal,
      origin,
      removed,
      chain: [layer, ...parent.chain],
      layout: () => {
        layout ??= editLayout(parent.layout(), own.values, removedNames);
        return layout;
      },
      own,
      parent,
    };
  };

  /**
   * The merged view of an environment at one of its versions (its head when undefined), with
   * its parents at their heads. With `access`, every parent must be readable by it.
   */
  const viewAt = async (
    project: Project,
    env: Environment,
    version: number | undefined,
    access: ProjectAccess | undefined,
    depth = 0,
  ): Promise<EnvView> => {
    const number = version ?? env.head;
    const own = await deps.snapshotAt(project, env, number);
    const cached = number === 0 ? undefined : ctx.snapshots.get(env.id, number);
    if (env.parentId === null) {
      // One view object per cached version: the resolver keeps what it parsed with it.
      if (cached?.merged?.key === PLAIN) return cached.merged.view as EnvView;
      const view = plain(env, own);
      if (cached) cached.merged = { key: PLAIN, view };
      return view;
    }
    if (depth >= MAX_CHAIN) {
      throw new ApiError("INTEGRITY", `${env.name} has more than ${MAX_CHAIN} parents above it`);
    }
    const parentEnv = await environmentOf(access, env.parentId);
    if (!parentEnv) throw noParent(env);
    if (access && access.permission(parentEnv.id) === "none") {
      throw new ApiError(
        "FORBIDDEN",
        `${env.name} is a branch of ${parentEnv.name}, which you cannot read`,
        `reading a branch reads its parent: ask a project owner for read access to ${parentEnv.name}`,
      );
    }
    const parent = await viewAt(project, parentEnv, undefined, access, depth + 1);
    const key = parent.chain.map((l) => `${l.env.id}:${l.version}`).join("|");
    if (cached?.merged?.key === key) return cached.merged.view as EnvView;
    const view = merge(env, own, parent);
    if (cached) cached.merged = { key, view };
    return view;
  };

  /**
   * The names of an environment's merged view at a version, without opening a value when its
   * versions are cached or from app.db's entries (the web editor's table).
   */
  const namesAt = async (
    project: Project,
    env: Environment,
    version: number,
    entriesAt: (env: Environment, version: number) => Promise<[string, string][]>,
    depth = 0,
  ): Promise<string[]> => {
    const own = version === 0 ? [] : await entriesAt(env, version);
    if (env.parentId === null) return own.map(([n]) => n);
    const parentEnv = depth < MAX_CHAIN ? await environmentOf(undefined, env.parentId) : undefined;
    if (!parentEnv) throw noParent(env);
    const names = await namesAt(project, parentEnv, parentEnv.head, entriesAt, depth + 1);
    const gone = new Set(removedOf(own));
    const out = names.filter((n) => !gone.has(n));
    const present = new Set(out);
    for (const [name, ref] of own) if (ref !== "" && !present.has(name)) out.push(name);
    return out;
  };

  return { viewAt, namesAt, environmentOf };
}

export type Views = ReturnType<typeof createViews>;
