/**
 * Where the server meets the resolver (../layers): the views it resolves
 * over (an environment's merged view, the caller's personal overrides on
 * top), the access it grants (read on every environment a reference
 * touches, decided by projectAccess like any read; another project only as
 * far as the caller can see it), what it audits (a read of each environment
 * touched, and of each parent of a branch), and how a failure reads: at
 * write time a 400 naming the key and the reference, at read time a 403
 * (not readable) or a 409 (the stored reference no longer resolves).
 */
import type { Environment, Project } from "../../../appdb";
import { type ProjectAccess, projectAccess } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { type Load, mayReference, parseValue, ResolveError, resolve, type Trace, type View } from "../layers";
import { editLayout, renderFile } from "./document";
import type { EnvView, Views } from "./views";

type Deps = Pick<AppContext, "appdb" | "audit" | "access">;

/** A resolver view with what the server knows about it. */
export interface LayerView extends View {
  project: Project;
  access: ProjectAccess;
  env: Environment;
  /** The merged view it was made from. */
  source: EnvView;
  /** The names the caller's personal overrides gave it (only ever the root). */
  personal: ReadonlySet<string>;
}

/** An environment read on the way (a parent of a branch, or one a reference points into). */
export interface TouchedRead {
  project: Project;
  env: Environment;
  version: number;
  reason: "branch" | "reference";
}

const labelOf = (root: Project, project: Project, env: Environment) =>
  project.id === root.id ? env.name : `${project.id}/${env.name}`;

/** A view's parents, as reads of a branch. */
function parentsOf(project: Project, view: EnvView): TouchedRead[] {
  return view.chain.slice(1).map((l) => ({ project, env: l.env, version: l.version, reason: "branch" }));
}

export const writeHint = (error: ResolveError): string =>
  error.code === "DENIED"
    ? "a value may refer only to environments you can read (a literal @{ is written @@{)"
    : error.code === "MALFORMED"
      ? "a reference is @{KEY}, @{ENV.KEY} or @{vlt_<project id>/ENV.KEY}; write a literal @{ as @@{"
      : "fix the reference, or write a literal @{ as @@{";

/** A failure of a push or save: the client's mistake. */
export const writeError = (error: ResolveError): ApiError =>
  new ApiError("INVALID_REQUEST", `${error.key}: ${error.message}`, writeHint(error));

/** A failure of a read: not readable (403), or a stored reference that no longer resolves (409). */
export const readError = (env: Environment, error: ResolveError): ApiError =>
  error.code === "DENIED"
    ? new ApiError(
        "FORBIDDEN",
        `${error.key} in ${env.name}: ${error.message}`,
        "resolving needs read access to every environment a value refers to; ask a project owner, or read the values as written (vault pull)",
      )
    : new ApiError(
        "CONFLICT",
        `${error.key} in ${env.name}: ${error.message}`,
        `what it pointed at changed since it was written: see vault explain ${error.key} ${env.name}, then set it again`,
      );

export function createLayering(ctx: Deps, views: Views) {
  /** One resolution's world: the views it made (one per environment) and the access of each project. */
  const world = (caller: Caller, project: Project, access: ProjectAccess) => {
    const made = new Map<string, LayerView>();
    const projects = new Map<string, { project: Project; access: ProjectAccess } | null>([
      [project.id, { project, access }],
    ]);
    let root: LayerView | undefined;

    const wrap = (
      p: Project,
      a: ProjectAccess,
      source: EnvView,
      extra?: { values: Map<string, string>; personal: Set<string>; key: string },
    ): LayerView => ({
      key: extra?.key ?? source.env.id,
      label: labelOf(project, p, source.env),
      values: extra?.values ?? source.values,
      literal: source.literal,
      project: p,
      access: a,
      env: source.env,
      source,
      personal: extra?.personal ?? new Set(),
    });

    const projectOf = async (id: string) => {
      if (projects.has(id)) return projects.get(id) ?? undefined;
      let found: { project: Project; access: ProjectAccess } | null = null;
      try {
        const a = await projectAccess(ctx, caller, id);
        found = { project: a.project, access: a };
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
      projects.set(id, found);
      return found ?? undefined;
    };

    const load: Load = async (from, target) => {
      const here = from as LayerView;
      const where = target.project
        ? await projectOf(target.project)
        : { project: here.project, access: here.access };
      if (!where) return { problem: "denied" };
      const env = where.access.environments.find((e) => e.name === target.env);
      if (!env) return target.project ? { problem: "denied" } : { problem: "missing" };
      if (root && env.id === root.env.id) return { view: root };
      const known = made.get(env.id);
      if (known) return { view: known };
      if (where.access.permission(env.id) === "none") return { problem: "denied" };
      let source: EnvView;
      try {
        source = await views.viewAt(where.project, env, undefined, where.access);
      } catch (error) {
        if (error instanceof ApiError && error.code === "FORBIDDEN") return { problem: "denied" };
        throw error;
      }
      const view = wrap(where.project, where.access, source);
      made.set(env.id, view);
      return { view };
    };

    return {
      load,
      wrap,
      setRoot(view: LayerView) {
        root = view;
      },
      /** What a resolution read besides the root: each view touched, and the parents of each. */
      touched(viewsTouched: Iterable<View>): TouchedRead[] {
        const out: TouchedRead[] = [];
        for (const v of viewsTouched) {
          const lv = v as LayerView;
          if (root && lv.env.id === root.env.id) continue;
          out.push({ project: lv.project, env: lv.env, version: lv.source.version, reason: "reference" });
          out.push(...parentsOf(lv.project, lv.source));
        }
        return out;
      },
    };
  };

  /** The root view: an environment's merged view with the caller's personal overrides on top. */
  const rootOf = (
    w: ReturnType<typeof world>,
    project: Project,
    access: ProjectAccess,
    source: EnvView,
    overlay: ReadonlyMap<string, string>,
  ): LayerView => {
    if (overlay.size === 0) return w.wrap(project, access, source);
    const values = new Map(source.values);
    for (const [name, value] of overlay) values.set(name, value);
    const literal = new Set([...source.literal].filter((n) => !overlay.has(n)));
    const view = w.wrap(project, access, source, {
      values,
      personal: new Set(overlay.keys()),
      key: `${source.env.id}:personal`,
    });
    return { ...view, literal };
  };

  /**
   * The reads a resolution made besides its root, each audited as a read of its environment.
   * Reads of one environment at one version, by one credential from one address, for one
   * root, that arrive in the same turn of the event loop are one event with their count
   * (`requests`): a hot `vault run` fleet does not triple the audit log, and every read is
   * still answered only once its event is committed.
   */
  const pending = new Map<string, { count: number; committed: Promise<void> }>();
  const record = (caller: Caller, ip: string | null, reads: TouchedRead[], from: Environment) => {
    const events: Promise<void>[] = [];
    const seen = new Set<string>();
    for (const r of reads) {
      const key = `${caller.token.id}\u0000${ip ?? ""}\u0000${from.id}\u0000${r.env.id}\u0000${r.version}\u0000${r.reason}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let slot = pending.get(key);
      if (!slot) {
        const made: { count: number; committed: Promise<void> } = { count: 0, committed: Promise.resolve() };
        made.committed = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          pending.delete(key);
          return ctx.audit.event(
            caller,
            "secrets.read",
            { projectId: r.project.id, environmentId: r.env.id, ip },
            {
              version: r.version,
              reason: r.reason,
              from: from.name,
              ...(made.count > 1 ? { requests: made.count } : {}),
            },
          );
        });
        pending.set(key, made);
        slot = made;
      }
      slot.count++;
      events.push(slot.committed);
    }
    return Promise.all(events);
  };

  /**
   * Whether a resolution's reads are all still current: every environment read is at the version
   * it was read at and still readable by the caller. Then the same inputs give the same values.
   */
  const stillCurrent = async (
    caller: Caller,
    project: Project,
    access: ProjectAccess,
    reads: TouchedRead[],
  ) => {
    for (const read of reads) {
      let where: ProjectAccess | undefined = access;
      if (read.project.id !== project.id) {
        try {
          where = await projectAccess(ctx, caller, read.project.id);
        } catch {
          return false;
        }
      }
      const env = where.environments.find((e) => e.id === read.env.id);
      if (!env || env.head !== read.version || where.permission(env.id) === "none") return false;
    }
    return true;
  };

  return {
    parentsOf,
    record,
    stillCurrent,

    /**
     * The resolved values of `names` (every name when undefined) of an environment's merged view,
     * with the caller's personal overrides on top (`overlay`). Throws the read error of the first
     * reference that does not resolve (unless `keep`: then it stays as written and is traced).
     */
    async resolveView(
      caller: Caller,
      project: Project,
      access: ProjectAccess,
      source: EnvView,
      overlay: ReadonlyMap<string, string>,
      names: Iterable<string> | undefined,
      options: { trace?: boolean; keep?: boolean } = {},
    ): Promise<{
      values: Map<string, string>;
      root: LayerView;
      reads: TouchedRead[];
      traces: Map<string, Trace>;
      views: Map<string, LayerView>;
    }> {
      const w = world(caller, project, access);
      const root = rootOf(w, project, access, source, overlay);
      w.setRoot(root);
      let resolved: Awaited<ReturnType<typeof resolve>>;
      try {
        resolved = await resolve(root, names, {
          load: w.load,
          trace: options.trace,
          onError: options.keep ? "keep" : "throw",
        });
      } catch (error) {
        if (error instanceof ResolveError) throw readError(source.env, error);
        throw error;
      }
      const byLabel = new Map<string, LayerView>([[root.label, root]]);
      for (const v of resolved.touched.values()) byLabel.set(v.label, v as LayerView);
      return {
        values: resolved.values,
        root,
        reads: [...parentsOf(project, source), ...w.touched(resolved.touched.values())],
        traces: resolved.traces,
        views: byLabel,
      };
    },

    /**
     * Checks the references of an environment's next state (a push, a save, a personal
     * override): `deep` names are resolved all the way with the writer's access; the other
     * names' references into the same environment must still find their key. A failure is a
     * 400 naming the key and the reference.
     */
    async check(
      caller: Caller,
      project: Project,
      access: ProjectAccess,
      env: Environment,
      next: { values: ReadonlyMap<string, string>; literal: ReadonlySet<string> },
      deep: ReadonlySet<string>,
      source: EnvView,
    ): Promise<void> {
      const w = world(caller, project, access);
      const root: LayerView = {
        ...w.wrap(project, access, source),
        key: `${env.id}:next`,
        values: next.values,
        literal: next.literal,
      };
      w.setRoot(root);
      const wanted = [...deep].filter((n) => next.values.has(n) && !next.literal.has(n));
      for (const [name, value] of next.values) {
        if (deep.has(name) || next.literal.has(name) || !mayReference(value)) continue;
        const parsed = parseValue(value);
        if (!("tokens" in parsed)) continue;
        for (const token of parsed.tokens) {
          if (typeof token === "string" || token.project) continue;
          if (token.env !== undefined && token.env !== env.name) continue;
          if (!next.values.has(token.key)) {
            throw new ApiError(
              "INVALID_REQUEST",
              `${name}: ${token.text} refers to ${token.key}, which this change removes from ${env.name}`,
              `keep ${token.key}, or change ${name} in the same change`,
            );
          }
        }
      }
      if (wanted.length === 0) return;
      try {
        await resolve(root, wanted, { load: w.load });
      } catch (error) {
        if (error instanceof ResolveError) throw writeError(error);
        throw error;
      }
    },
  };
}

export type Layering = ReturnType<typeof createLayering>;

/**
 * A resolved file: the layout with the resolved values written in (lines whose value the
 * resolution changed are written again, quoted for their new value; personal keys the file
 * does not have are added at the end).
 */
export function renderResolved(
  layout: Uint8Array | undefined,
  written: ReadonlyMap<string, string>,
  resolved: ReadonlyMap<string, string>,
): string {
  const changed = new Map<string, string>();
  for (const [name, value] of resolved) if (written.get(name) !== value) changed.set(name, value);
  if (changed.size === 0) return renderFile(layout, resolved);
  return renderFile(editLayout(layout, changed, []), resolved);
}
