/**
 * Secrets and versions: the read side (a file or some values at a version,
 * the public example, the history, a diff, explain) and the change that makes
 * each new version (./change.ts), around one cache of opened versions.
 *
 * Layers (README "Layers"): a branch is read as its merged view (./views.ts);
 * a read with `resolve` gives references resolved (../layers, through
 * ./layers.ts) and, for a user, their personal overrides on top
 * (./personal.ts). A read without it gives the values as written, which is
 * what a pull and dotenv-vault's pull return, so a push back keeps them.
 */
import { type Environment, type Project, type Version, VersionIntegrityError } from "../../../appdb";
import { projectAccess } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { mayReference, type Trace } from "../layers";
import { createHold } from "../requests/hold";
import { type ChangeHelpers, createChange, type Summary, summarize } from "./change";
import { renderFile } from "./document";
import { createLayering, renderResolved, type TouchedRead } from "./layers";
import { createPersonal } from "./personal";
import { emptySnapshot, openSnapshot, type Snapshot, versionIntegrityError } from "./snapshot";
import { createViews } from "./views";

export type { Summary } from "./change";

type Deps = Pick<
  AppContext,
  "appdb" | "keeper" | "sealer" | "audit" | "now" | "snapshots" | "heads" | "log" | "access" | "random"
>;

/** One layer of a key's explanation, top first: the first one gave the value. */
export interface ExplainLayer {
  kind: "personal" | "environment" | "parent";
  environment: string;
  version?: number;
  /** "set": it holds the key; "removed": a branch removed it from its parent. */
  state: "set" | "removed";
}

/** A reference in an explained value: where it points, at which version, and how that resolved. */
export interface ExplainReference {
  reference: string;
  environment?: string;
  project?: string;
  key: string;
  version?: number;
  layer?: ExplainLayer["kind"];
  error?: string;
  references: ExplainReference[];
}

/** A read of at most this many named keys records their names in its audit event. */
const READ_NAMES_AUDITED = 20;

export function createSecretService(ctx: Deps) {
  /**
   * A version, once its MAC verified: every read of a version (pull, cache
   * fill, diff, rollback, build) comes through here before any value is
   * opened. A failed MAC is logged (ids and numbers, never a value) and
   * answered as a server failure.
   */
  const loadVersion = async (project: Project, env: Environment, number: number): Promise<Version> => {
    let row: Version | undefined;
    try {
      row = await ctx.appdb.versions.get(project.id, env.id, number);
    } catch (error) {
      if (!(error instanceof VersionIntegrityError)) throw error;
      ctx.log.error("a version failed its integrity check", {
        projectId: project.id,
        environmentId: env.id,
        version: number,
        reason: error.reason,
      });
      throw versionIntegrityError(env, number);
    }
    if (!row) {
      throw new ApiError(
        "NOT_FOUND",
        `${env.name} has no version ${number}`,
        `versions run from 1 to ${env.head}`,
      );
    }
    return row;
  };

  /** A whole version (values and layout): from the cache, or opened from the keeper and cached. */
  const snapshotAt = async (project: Project, env: Environment, number: number): Promise<Snapshot> => {
    if (number === 0) return emptySnapshot();
    const cached = ctx.snapshots.get(env.id, number);
    if (cached) return { version: number, ...cached };
    const opened = await openSnapshot(ctx, project, env, await loadVersion(project, env, number), {
      layout: true,
    });
    ctx.snapshots.put(env.id, number, {
      values: opened.values,
      layout: opened.layout,
      entries: opened.entries,
      resolves: opened.resolves,
    });
    return opened;
  };

  const record: ChangeHelpers["record"] = (caller, action, project, env, detail, ip, rider) =>
    ctx.audit.event(caller, action, { projectId: project.id, environmentId: env.id, ip }, detail, rider);

  const views = createViews(ctx, { snapshotAt });
  const layering = createLayering(ctx, views);
  const personal = createPersonal(ctx);
  // A change to a protected environment is held as a change request (../requests/hold.ts).
  const change = createChange(ctx, { snapshotAt, record, views, layering, hold: createHold(ctx) });
  const accessOf = (caller: Caller, project: Project) => projectAccess(ctx, caller, project.id);

  /** The entries of a version (names and refs), without opening a value. */
  const entriesAt = async (project: Project, env: Environment, version: number) => {
    const cached = ctx.snapshots.get(env.id, version);
    return cached ? cached.entries : (await loadVersion(project, env, version)).entries;
  };

  /** The file (or values) of an ordinary environment as written: the hot pull. */
  const readWritten = async (
    caller: Caller,
    project: Project,
    env: Environment,
    number: number,
    options: ReadOptions,
  ): Promise<ReadResult> => {
    const names = options.names ? new Set(options.names) : undefined;
    // One key: open just that one, unless the whole version is cached already.
    const cached = number === 0 ? undefined : ctx.snapshots.get(env.id, number);
    const snapshot = cached
      ? { version: number, ...cached }
      : names
        ? await openSnapshot(ctx, project, env, await loadVersion(project, env, number), {
            layout: false,
            names,
          })
        : await snapshotAt(project, env, number);
    const selected = names
      ? new Map([...snapshot.values].filter(([name]) => names.has(name)))
      : snapshot.values;
    await record(
      caller,
      "secrets.read",
      project,
      env,
      {
        version: number,
        keys: selected.size,
        // Which keys, when asked for by name (a reveal, `vault get`): names, never values.
        ...(names && selected.size <= READ_NAMES_AUDITED ? { names: [...selected.keys()] } : {}),
        format: options.format,
        ...(options.reason ? { reason: options.reason } : {}),
      },
      options.ip,
    );
    if (options.format === "dotenv") {
      // A cached version renders once (the entry found above, or the one snapshotAt just cached).
      const entry = number === 0 || names ? undefined : (cached ?? ctx.snapshots.get(env.id, number));
      if (entry) {
        entry.rendered ??= renderFile(entry.layout, entry.values);
        entry.renderedJson ??= JSON.stringify(entry.rendered);
        return { version: number, dotenv: entry.rendered, dotenvJson: entry.renderedJson };
      }
      return { version: number, dotenv: renderFile(snapshot.layout, snapshot.values) };
    }
    return { version: number, values: Object.fromEntries(selected) };
  };

  return {
    change,
    loadVersion,
    views,
    layering,
    personal,

    /** The names of an environment at a version (merged, for a branch), without opening a value. */
    namesAt: (project: Project, env: Environment, version: number) =>
      views.namesAt(project, env, version, (e, v) => entriesAt(project, e, v)),

    /**
     * The file (or the values) at a version; answered only once the read is audited (with a
     * read of each other environment it touched: a branch's parents, what references point at).
     * `resolve`: references resolved and, for a user, their personal overrides on top.
     */
    async read(
      caller: Caller,
      project: Project,
      env: Environment,
      options: ReadOptions,
    ): Promise<ReadResult> {
      const number = options.version ?? env.head;
      if (!options.resolve && env.parentId === null)
        return readWritten(caller, project, env, number, options);
      const names = options.names ? new Set(options.names) : undefined;
      const audit = (
        { keys, ...detail }: { keys: number } & Record<string, unknown>,
        reads: Parameters<typeof layering.record>[2],
        read?: Iterable<string>,
      ) =>
        Promise.all([
          record(
            caller,
            "secrets.read",
            project,
            env,
            {
              version: number,
              keys,
              // Which keys, when asked for by name (a reveal, `vault get`): names, never values.
              ...(names && read && keys <= READ_NAMES_AUDITED ? { names: [...read] } : {}),
              format: options.format,
              ...detail,
              ...(options.reason ? { reason: options.reason } : {}),
            },
            options.ip,
          ),
          layering.record(caller, options.ip, reads, env),
        ]);
      const overlay =
        options.resolve && options.personal !== false ? await personal.overlay(caller, env) : new Map();
      // One key of an ordinary environment: opened alone, unless it refers to others or is personal.
      if (
        options.resolve &&
        names &&
        env.parentId === null &&
        number > 0 &&
        !ctx.snapshots.get(env.id, number)
      ) {
        const few = await openSnapshot(ctx, project, env, await loadVersion(project, env, number), {
          layout: false,
          names,
        });
        const plain =
          ![...few.values.values()].some((v) => few.resolves && mayReference(v)) &&
          ![...names].some((n) => overlay.has(n));
        if (plain) {
          // Nothing to resolve: the read is audited as the plain read it is.
          await audit({ keys: few.values.size }, [], few.values.keys());
          return { version: number, values: Object.fromEntries(few.values) };
        }
      }
      const access = await accessOf(caller, project);
      const view = await views.viewAt(project, env, number, access);
      const pick = <T>(values: ReadonlyMap<string, T>) =>
        names ? new Map([...values].filter(([n]) => names.has(n))) : values;
      if (!options.resolve) {
        const selected = pick(view.values);
        const reads = layering.parentsOf(project, view);
        await audit({ keys: selected.size }, reads, selected.keys());
        return options.format === "dotenv"
          ? { version: number, dotenv: renderFile(view.layout(), view.values), reads }
          : { version: number, values: Object.fromEntries(selected), reads };
      }
      // A whole resolution of a cached version is kept with it while all it read stays current.
      const entry = overlay.size === 0 && number > 0 ? ctx.snapshots.get(env.id, number) : undefined;
      const kept = entry?.resolved;
      const reuse =
        kept !== undefined &&
        (await layering.stillCurrent(caller, project, access, kept.reads as TouchedRead[]));
      const resolved = reuse
        ? {
            values: kept.values,
            reads: kept.reads as TouchedRead[],
            root: { values: view.values, personal: new Set<string>() },
          }
        : await layering.resolveView(caller, project, access, view, overlay, names ? [...names] : undefined);
      if (!reuse && entry && !names) entry.resolved = { values: resolved.values, reads: resolved.reads };
      const values = names ? pick(resolved.values) : resolved.values;
      // `resolved` when a reference was followed (a read that found none is the plain read it was).
      const followed = resolved.reads.length > 0 || [...values].some(([n, v]) => view.values.get(n) !== v);
      await audit(
        {
          keys: values.size,
          ...(followed ? { resolved: true } : {}),
          ...(overlay.size ? { personal: overlay.size } : {}),
        },
        resolved.reads,
        values.keys(),
      );
      const personalNames = [...resolved.root.personal].filter((n) => values.has(n));
      const extra = {
        ...(personalNames.length > 0 ? { personal: personalNames } : {}),
        reads: resolved.reads,
      };
      if (options.format === "dotenv") {
        const render = () => renderResolved(view.layout(), resolved.root.values, resolved.values);
        let dotenv: string;
        if (entry?.resolved && entry.resolved.values === resolved.values) {
          entry.resolved.rendered ??= render();
          dotenv = entry.resolved.rendered;
        } else dotenv = render();
        return { version: number, dotenv, ...extra };
      }
      const written: Record<string, string | null> = {};
      if (options.written) {
        for (const [name, value] of values) {
          if (resolved.root.personal.has(name) || view.values.get(name) !== value)
            written[name] = view.values.get(name) ?? null;
        }
      }
      return {
        version: number,
        values: Object.fromEntries(values),
        ...(options.written ? { written } : {}),
        ...extra,
      };
    },

    /** The latest file of a project's public `example` environment, read without a credential (and audited so). */
    async readPublic(project: Project, env: Environment, ip: string | null): Promise<string> {
      // `example` is never a branch (projects/service.ts): it would publish its parent.
      if (env.head === 0 || env.parentId !== null) return "";
      const snapshot = await openSnapshot(ctx, project, env, await loadVersion(project, env, env.head), {
        layout: true,
      });
      await ctx.audit.record({
        action: "secrets.read",
        actorKind: "anonymous",
        actorId: null,
        actorLabel: "pull example",
        projectId: project.id,
        environmentId: env.id,
        detail: JSON.stringify({ version: env.head, keys: snapshot.values.size, reason: "example" }),
        ip,
      });
      return renderFile(snapshot.layout, snapshot.values);
    },

    async versions(env: Environment, options: { limit: number; before?: number }) {
      const rows = await ctx.appdb.versions.list(env.id, options);
      return rows.map((r) => ({
        version: r.number,
        kind: r.kind,
        author: r.authorLabel,
        createdAt: r.createdAt,
        summary: JSON.parse(r.summary) as Summary,
      }));
    },

    /**
     * Names added, removed and changed from A to B, as written (a branch merged over its
     * parent: against its parent it shows only its overrides); values only when revealed.
     */
    async diff(
      caller: Caller,
      project: Project,
      a: { env: Environment; version?: number },
      b: { env: Environment; version?: number },
      options: { reveal: boolean; ip: string | null },
    ) {
      const va = a.version ?? a.env.head;
      const vb = b.version ?? b.env.head;
      const access = await accessOf(caller, project);
      const [sa, sb] = await Promise.all([
        views.viewAt(project, a.env, va, access),
        views.viewAt(project, b.env, vb, access),
      ]);
      const summary = summarize(sa.values, sb.values);
      if (options.reveal) {
        await record(
          caller,
          "secrets.read",
          project,
          a.env,
          { version: va, keys: sa.values.size, reason: "diff" },
          options.ip,
        );
        if (b.env.id !== a.env.id || vb !== va) {
          await record(
            caller,
            "secrets.read",
            project,
            b.env,
            { version: vb, keys: sb.values.size, reason: "diff" },
            options.ip,
          );
        }
        await layering.record(
          caller,
          options.ip,
          [...layering.parentsOf(project, sa), ...layering.parentsOf(project, sb)].filter(
            (r) => r.env.id !== a.env.id && r.env.id !== b.env.id,
          ),
          a.env,
        );
      }
      const values = options.reveal
        ? Object.fromEntries(
            [...summary.added, ...summary.removed, ...summary.changed].map((name) => [
              name,
              { from: sa.values.get(name) ?? null, to: sb.values.get(name) ?? null },
            ]),
          )
        : undefined;
      return {
        from: { environment: a.env.name, version: va },
        to: { environment: b.env.name, version: vb },
        ...summary,
        unchanged: [...sb.values.keys()].filter((n) => sa.values.get(n) === sb.values.get(n)).length,
        ...(values ? { values } : {}),
      };
    },

    /**
     * Which layer gave a key its value (the caller's personal override, the environment, a
     * parent of a branch), with versions, and each reference in it: where it points and how that
     * resolved. The value only with `reveal`. Audited as a read of the key (and of what it touched).
     */
    async explain(
      caller: Caller,
      project: Project,
      env: Environment,
      key: string,
      options: { reveal: boolean; ip: string | null },
    ) {
      const access = await accessOf(caller, project);
      const view = await views.viewAt(project, env, undefined, access);
      const overlay = await personal.overlay(caller, env);
      const layers: ExplainLayer[] = [];
      if (overlay.has(key)) layers.push({ kind: "personal", environment: env.name, state: "set" });
      for (const layer of view.chain) {
        const kind = layer.env.id === env.id ? "environment" : "parent";
        if (layer.own.values.has(key))
          layers.push({ kind, environment: layer.env.name, version: layer.version, state: "set" });
        else if (layer.own.entries.some(([n, r]) => n === key && r === ""))
          layers.push({ kind, environment: layer.env.name, version: layer.version, state: "removed" });
      }
      const found = overlay.has(key) || view.values.has(key);
      const resolved = found
        ? await layering.resolveView(caller, project, access, view, overlay, [key], {
            trace: true,
            keep: true,
          })
        : undefined;
      await Promise.all([
        record(
          caller,
          "secrets.read",
          project,
          env,
          { version: view.version, keys: found ? 1 : 0, reason: "explain", revealed: options.reveal },
          options.ip,
        ),
        layering.record(caller, options.ip, resolved?.reads ?? layering.parentsOf(project, view), env),
      ]);
      const describeTrace = (trace: Trace): ExplainReference[] =>
        trace.references.map((ref) => {
          const target = ref.view === undefined ? undefined : resolved?.views.get(ref.view);
          const origin = target?.personal.has(ref.key) ? undefined : target?.source.origin.get(ref.key);
          const layer: ExplainLayer["kind"] | undefined = target?.personal.has(ref.key)
            ? "personal"
            : origin === undefined
              ? undefined
              : origin.env.id === target?.env.id
                ? "environment"
                : "parent";
          return {
            reference: ref.text,
            ...(target
              ? {
                  environment: origin?.env.name ?? target.env.name,
                  ...(target.project.id === project.id ? {} : { project: target.project.id }),
                  version: origin?.version ?? target.source.version,
                  ...(layer ? { layer } : {}),
                }
              : {}),
            key: ref.key,
            ...(ref.message ? { error: ref.message } : {}),
            references: ref.trace ? describeTrace(ref.trace) : [],
          };
        });
      const trace = resolved?.traces.get(key);
      return {
        environment: env.name,
        version: view.version,
        key,
        found,
        layers,
        references: trace ? describeTrace(trace) : [],
        ...(options.reveal && resolved
          ? { value: resolved.values.get(key) ?? null, written: resolved.root.values.get(key) ?? null }
          : {}),
      };
    },

    /** The caller's personal overrides: set (checked like a push), unset, list. */
    overrides: {
      list: (caller: Caller, project: Project) => personal.list(caller, project),
      names: (caller: Caller, env: Environment) => personal.names(caller, env),
      set: async (
        caller: Caller,
        project: Project,
        env: Environment,
        values: Map<string, string>,
        ip: string | null,
      ) => {
        const access = await accessOf(caller, project);
        const check = async (next: Map<string, string>) => {
          const view = await views.viewAt(project, env, undefined, access);
          const merged = new Map(view.values);
          for (const [n, v] of next) merged.set(n, v);
          const literal = new Set([...view.literal].filter((n) => !next.has(n)));
          const deep = new Set([...values].filter(([, v]) => mayReference(v)).map(([n]) => n));
          await layering.check(caller, project, access, env, { values: merged, literal }, deep, view);
        };
        return personal.set(caller, project, env, values, check, ip);
      },
      unset: async (
        caller: Caller,
        project: Project,
        env: Environment,
        names: string[],
        ip: string | null,
      ) => {
        const access = await accessOf(caller, project);
        const check = async (next: Map<string, string>) => {
          const view = await views.viewAt(project, env, undefined, access);
          const merged = new Map(view.values);
          for (const [n, v] of next) merged.set(n, v);
          const literal = new Set([...view.literal].filter((n) => !next.has(n)));
          await layering.check(caller, project, access, env, { values: merged, literal }, new Set(), view);
        };
        return personal.unset(caller, project, env, names, check, ip);
      },
    },
  };
}

export interface ReadOptions {
  version?: number;
  format: "dotenv" | "json";
  ip: string | null;
  names?: string[];
  reason?: string;
  /** References resolved and, for a user, their personal overrides on top (unless `personal` is false). */
  resolve?: boolean;
  personal?: boolean;
  /** With resolve and json: also what each value that differs is as written (null: only personal). */
  written?: boolean;
}

export interface ReadResult {
  version: number;
  dotenv?: string;
  dotenvJson?: string;
  values?: Record<string, string>;
  written?: Record<string, string | null>;
  /** The names a personal override of the caller gave. */
  personal?: string[];
  /** The other environments the read touched (a branch's parents, what references point into). */
  reads?: TouchedRead[];
}

export type SecretService = ReturnType<typeof createSecretService>;
