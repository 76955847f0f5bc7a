/**
 * Secrets and versions: the read side (a file or some values at a version,
 * the public example, the history, a diff) and the change that makes each new
 * version (./change.ts), around one cache of opened versions.
 */
import { type Environment, type Project, type Version, VersionIntegrityError } from "../../../appdb";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { type ChangeHelpers, createChange, type Summary, summarize } from "./change";
import { renderFile } from "./document";
import { emptySnapshot, openSnapshot, type Snapshot, versionIntegrityError } from "./snapshot";

export type { Summary } from "./change";

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now" | "snapshots" | "heads" | "log">;

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
    });
    return opened;
  };

  const record: ChangeHelpers["record"] = (caller, action, project, env, detail, ip) =>
    ctx.audit.event(caller, action, { projectId: project.id, environmentId: env.id, ip }, detail);

  const change = createChange(ctx, { snapshotAt, record });

  return {
    change,
    loadVersion,

    /** The file (or the values) at a version; answered only once the read is audited. */
    async read(
      caller: Caller,
      project: Project,
      env: Environment,
      options: {
        version?: number;
        format: "dotenv" | "json";
        ip: string | null;
        names?: string[];
        reason?: string;
      },
    ): Promise<{ version: number; dotenv?: string; dotenvJson?: string; values?: Record<string, string> }> {
      const number = options.version ?? env.head;
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
    },

    /** The latest file of a project's public `example` environment, read without a credential (and audited so). */
    async readPublic(project: Project, env: Environment, ip: string | null): Promise<string> {
      if (env.head === 0) return "";
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

    /** Names added, removed and changed from A to B; values only when revealed. */
    async diff(
      caller: Caller,
      project: Project,
      a: { env: Environment; version?: number },
      b: { env: Environment; version?: number },
      options: { reveal: boolean; ip: string | null },
    ) {
      const va = a.version ?? a.env.head;
      const vb = b.version ?? b.env.head;
      const [sa, sb] = await Promise.all([snapshotAt(project, a.env, va), snapshotAt(project, b.env, vb)]);
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
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
