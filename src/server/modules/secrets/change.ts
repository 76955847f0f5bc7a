/**
 * The write side of secrets: every change (push, merge, set, unset, rollback)
 * makes version N+1 of an environment, an immutable snapshot name -> ref plus
 * a sealed layout. Unchanged values keep their ref. The cross-store order is
 * fixed: seal and store new values in the keeper first, then commit the
 * version in app.db in one transaction; a crash in between leaves orphans for
 * the collector, never a name without a value. Changes to one environment are
 * serialized in this process, and the version's primary key refuses a second
 * writer elsewhere.
 */
import { type Environment, type Project, VersionConflictError } from "../../../appdb";
import { actorOf, type Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { serialized } from "../../serialize";
import { editLayout, editLayoutRenaming, parseFile, renderChecked } from "./document";
import { checkFile, checkKeyName, checkValues } from "./limits";
import type { Snapshot } from "./snapshot";

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

export type Change =
  | { kind: "push"; text: string }
  | { kind: "merge"; text: string }
  /**
   * Set, remove and rename keys. `rename` maps an old name to a new one: the key keeps its
   * value (unless `set` gives the new name another) and its line in the file; its value is
   * sealed again under the new name, since a value's seal binds its name.
   */
  | { kind: "set"; set: Map<string, string>; unset?: string[]; rename?: Map<string, string> }
  | { kind: "unset"; unset: string[] }
  | { kind: "rollback"; to: number };

function conflict(head: number, base: number): ApiError {
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

/** What a change needs from the read side: a whole version (cached or opened), and the audit. */
export interface ChangeHelpers {
  snapshotAt(project: Project, env: Environment, number: number): Promise<Snapshot>;
  record(
    caller: Caller,
    action: string,
    project: Project,
    env: Environment,
    detail: object,
    ip: string | null,
  ): Promise<void>;
}

export function createChange(ctx: Deps, { snapshotAt, record }: ChangeHelpers) {
  return change;

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
      checkRenames(change.rename ?? new Map(), new Set(change.unset ?? []));
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
          const rename = change.rename ?? new Map<string, string>();
          if (rename.size === 0) {
            values = new Map([...current.values, ...change.set].filter(([n]) => !gone.has(n)));
            layout = editLayout(current.layout, change.set, [...gone]);
            break;
          }
          for (const [from, to] of rename) {
            if (!current.values.has(from)) throw new ApiError("NOT_FOUND", `${env.name} has no key ${from}`);
            if (current.values.has(to) && !gone.has(to) && !rename.has(to)) {
              throw new ApiError(
                "CONFLICT",
                `${env.name} already has a key ${to}`,
                "remove it in the same change, or rename to another name",
              );
            }
          }
          values = new Map();
          for (const [name, value] of current.values) {
            if (!gone.has(name)) values.set(rename.get(name) ?? name, value);
          }
          for (const [name, value] of change.set) values.set(name, value);
          layout = editLayoutRenaming(current.layout, change.set, [...gone], rename, values);
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
          projectId: project.id,
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
}

/** Renames name valid keys, each old and new name once, none both renamed and removed. */
function checkRenames(rename: ReadonlyMap<string, string>, unset: ReadonlySet<string>): void {
  const targets = new Set<string>();
  for (const [from, to] of rename) {
    checkKeyName(from);
    checkKeyName(to);
    if (from === to) throw new ApiError("INVALID_REQUEST", `${from} is renamed to itself`);
    if (unset.has(from)) throw new ApiError("INVALID_REQUEST", `${from} is both renamed and unset`);
    if (targets.has(to)) throw new ApiError("INVALID_REQUEST", `two keys are renamed to ${to}`);
    targets.add(to);
  }
}

function counts(summary: Summary) {
  return { added: summary.added.length, changed: summary.changed.length, removed: summary.removed.length };
}
