/**
 * Secrets and versions. Every change makes version N+1 of an environment: an
 * immutable snapshot name -> ref plus a sealed layout. Unchanged values keep
 * their ref. The cross-store order is fixed: seal and store new values in
 * the keeper first, then commit the version in app.db in one transaction;
 * a crash in between leaves orphans for the collector, never a name without
 * a value. Changes to one environment are serialized in this process, and the
 * version's primary key refuses a second writer elsewhere.
 */
import { type Environment, type Project, VersionConflictError, type VersionRow } from "../../../appdb";
import { actorOf, type Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { serialized } from "../../serialize";
import { editLayout, parseFile, renderChecked, renderFile } from "./document";
import { checkFile, checkKeyName, checkValues } from "./limits";
import { emptySnapshot, openSnapshot, type Snapshot } from "./snapshot";

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now" | "snapshots" | "heads">;

export interface Summary {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface ChangeResult {
  version: number;
  summary: Summary;
  /** True when the change matched the current version exactly and no version was made. */
  unchanged: boolean;
}

type Change =
  | { kind: "push"; text: string }
  | { kind: "merge"; text: string }
  | { kind: "set"; set: Map<string, string>; unset?: string[] }
  | { kind: "unset"; unset: string[] }
  | { kind: "rollback"; to: number };

export function conflict(head: number, base: number): ApiError {
  return new ApiError(
    "VERSION_CONFLICT",
    `the environment is at version ${head}, not ${base}`,
    "pull first, reapply your change, then push again (or push with --force)",
  );
}

export function summarize(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Summary {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [name, value] of after) {
    if (!before.has(name)) added.push(name);
    else if (before.get(name) !== value) changed.push(name);
  }
  for (const name of before.keys()) if (!after.has(name)) removed.push(name);
  return { added, changed, removed };
}

export function createSecretService(ctx: Deps) {
  const loadVersion = async (env: Environment, number: number): Promise<VersionRow> => {
    const row = await ctx.appdb.versions.get(env.id, number);
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
    const opened = await openSnapshot(ctx, project, env, await loadVersion(env, number), { layout: true });
    ctx.snapshots.put(env.id, number, {
      values: opened.values,
      layout: opened.layout,
      entries: opened.entries,
    });
    return opened;
  };

  const record = (
    caller: Caller,
    action: string,
    project: Project,
    env: Environment,
    detail: object,
    ip: string | null,
  ) => ctx.audit.event(caller, action, { projectId: project.id, environmentId: env.id, ip }, detail);

  async function change(
    caller: Caller,
    project: Project,
    envAtCall: Environment,
    change: Change,
    options: { baseVersion?: number; ip: string | null },
  ): Promise<ChangeResult> {
    if (change.kind === "push" || change.kind === "merge") checkFile(change.text);
    const parsed = change.kind === "push" || change.kind === "merge" ? parseFile(change.text) : undefined;
    if (parsed) checkValues(parsed.values);
    if (change.kind === "set") {
      checkValues(change.set);
      for (const name of change.unset ?? []) {
        checkKeyName(name);
        if (change.set.has(name)) throw new ApiError("INVALID_REQUEST", `${name} is both set and unset`);
      }
    }
    if (change.kind === "unset") for (const name of change.unset) checkKeyName(name);

    // The head this process committed last, else app.db's. Another writer would make the first
    // stale: its commit then fails, and a push that named no base version is tried again once.
    const once = async (trustKnown: boolean): Promise<ChangeResult> => {
      const known = trustKnown ? ctx.heads.get(envAtCall.id) : undefined;
      const env =
        known === undefined
          ? ((await ctx.appdb.projects.environmentById(envAtCall.id)) ?? envAtCall)
          : { ...envAtCall, head: known };
      const head = env.head;
      if (known !== undefined && options.baseVersion !== undefined && options.baseVersion !== known)
        return once(false); // before a 409, app.db's own word
      if (options.baseVersion !== undefined && options.baseVersion !== head)
        throw conflict(head, options.baseVersion);
      const current = await snapshotAt(project, env, head);

      let values: Map<string, string>;
      let layout: Uint8Array;
      switch (change.kind) {
        case "push":
          values = parsed!.values;
          layout = parsed!.layout;
          break;
        case "merge":
          values = new Map([...current.values, ...parsed!.values]);
          layout = editLayout(current.layout, parsed!.values, []);
          break;
        case "set": {
          const gone = new Set(change.unset ?? []);
          values = new Map([...current.values, ...change.set].filter(([n]) => !gone.has(n)));
          layout = editLayout(current.layout, change.set, [...gone]);
          break;
        }
        case "unset": {
          const missing = change.unset.filter((n) => !current.values.has(n));
          if (missing.length === change.unset.length) {
            throw new ApiError("NOT_FOUND", `${env.name} has no key ${missing.join(", ")}`);
          }
          values = new Map([...current.values].filter(([n]) => !change.unset.includes(n)));
          layout = editLayout(current.layout, new Map(), change.unset);
          break;
        }
        case "rollback": {
          if (change.to < 1 || change.to > head) {
            throw new ApiError(
              "NOT_FOUND",
              `${env.name} has no version ${change.to}`,
              `versions run from 1 to ${head}`,
            );
          }
          const old = await snapshotAt(project, env, change.to);
          values = old.values;
          layout = old.layout!;
          break;
        }
      }
      // A pushed file's values were checked as it was parsed; anything built here is checked now.
      if (change.kind !== "push") checkValues(values);
      // An edited layout must render with its values before it is stored (re-quoted neighbours included).
      if (change.kind !== "push") renderChecked(layout, values);
      const summary = summarize(current.values, values);
      const sameLayout =
        current.layout !== undefined &&
        Buffer.compare(Buffer.from(current.layout), Buffer.from(layout)) === 0;
      if (
        head > 0 &&
        summary.added.length + summary.changed.length + summary.removed.length === 0 &&
        sameLayout
      ) {
        return { version: head, summary, unchanged: true };
      }

      const number = head + 1;
      const currentRefs = new Map(current.entries);
      const entries: [string, string][] = [];
      const fresh: { name: string; value: string }[] = [];
      for (const [name, value] of values) {
        const ref = currentRefs.get(name);
        if (ref !== undefined && current.values.get(name) === value) entries.push([name, ref]);
        else {
          entries.push([name, ""]);
          fresh.push({ name, value });
        }
      }
      const blobs = ctx.sealer.sealMany([
        ...fresh.map(({ name, value }) => ({
          plaintext: Buffer.from(value, "utf8"),
          binding: binding("value", project.id, env.id, name),
        })),
        { plaintext: layout, binding: binding("layout", project.id, env.id, number) },
      ]);
      const refs = (await ctx.keeper.put(blobs)).map((r) => Buffer.from(r));
      let next = 0;
      for (const entry of entries) if (entry[1] === "") entry[1] = refs[next++]!.toString("hex");
      const layoutRef = refs[refs.length - 1]!;

      const actor = actorOf(caller);
      try {
        await ctx.appdb.versions.commit({
          environmentId: env.id,
          expectedHead: head,
          entries,
          layoutRef,
          summary,
          kind: change.kind,
          authorId: actor.actorId,
          authorLabel: actor.actorLabel,
          createdAt: ctx.now(),
          newRefs: refs,
        });
      } catch (error) {
        await ctx.keeper.delete(refs).catch(() => 0);
        if (error instanceof VersionConflictError) {
          ctx.heads.delete(env.id);
          if (known !== undefined && options.baseVersion === undefined) return once(false);
          throw conflict(error.head, options.baseVersion ?? head);
        }
        throw error;
      }
      ctx.snapshots.put(env.id, number, { values, layout, entries }, { latest: true });
      await record(
        caller,
        `secrets.${change.kind}`,
        project,
        env,
        { version: number, ...counts(summary) },
        options.ip,
      );
      return { version: number, summary, unchanged: false };
    };
    return serialized(envAtCall.id, () => once(true));
  }

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
          ? await openSnapshot(ctx, project, env, await loadVersion(env, number), { layout: false, names })
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
      const snapshot = await openSnapshot(ctx, project, env, await loadVersion(env, env.head), {
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

function counts(summary: Summary) {
  return { added: summary.added.length, changed: summary.changed.length, removed: summary.removed.length };
}

export type SecretService = ReturnType<typeof createSecretService>;
