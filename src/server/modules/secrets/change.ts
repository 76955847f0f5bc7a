/**
 * The write side of secrets: every change (push, merge, set, unset, rollback)
 * makes version N+1 of an environment, an immutable snapshot name -> ref plus
 * a sealed layout. Unchanged values keep their ref. The cross-store order is
 * fixed: seal and store new values in the keeper first, then commit the
 * version in app.db in one transaction; a crash in between leaves orphans for
 * the collector, never a name without a value. Changes to one environment are
 * serialized in this process, and the version's primary key refuses a second
 * writer elsewhere.
 *
 * Layers: a change to a branch is computed on its merged view (./views.ts)
 * and stores only what differs from its parent's head: its overrides and
 * additions, and a removal (an entry whose ref is "") for each parent key it
 * does not have. Every new or changed value's references are checked with
 * the writer's access (./layers.ts: a 400 naming the key and the reference),
 * and a change never gives an old value a new meaning: see `resolvesAfter`.
 *
 * Approvals: a change to a protected environment is held, just before its
 * values would be sealed, by the `hold` helper (../requests/hold.ts): it
 * becomes a change request and no version is made. An approved request comes
 * back through here with `approval` (the hold skipped, its author recorded).
 */
import { type Environment, type Project, VersionConflictError } from "../../../appdb";
import type { Rider } from "../../audit-log";
import { projectAccess } from "../../auth/access";
import { actorOf, type Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { serialized } from "../../serialize";
import { mayReference } from "../layers";
import { editLayout, editLayoutRenaming, parseFile, renderChecked } from "./document";
import type { Layering } from "./layers";
import { checkFile, checkKeyName, checkValues } from "./limits";
import { type Snapshot, TOMBSTONE } from "./snapshot";
import type { EnvView, Views } from "./views";

type Deps = Pick<
  AppContext,
  "appdb" | "keeper" | "sealer" | "audit" | "now" | "snapshots" | "heads" | "access"
>;

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
  /** Set when the environment is protected: the change became this change request, no version was made. */
  request?: { number: number; baseVersion: number };
}

/** What a held change would have made (see ../requests/hold.ts). */
export interface Proposal {
  caller: Caller;
  project: Project;
  env: Environment;
  change: Change;
  /** The version the change was computed on. */
  head: number;
  /** The values before and after the change (a branch's merged over its parent). */
  before: ReadonlyMap<string, string>;
  values: ReadonlyMap<string, string>;
  summary: Summary;
  ip: string | null;
}

/** Holds a change to a protected environment as a change request (undefined: go on and make the version). */
export type Hold = (proposal: Proposal) => Promise<ChangeResult | undefined>;

/** An approved change request being applied: its author made the change, its approver applies it. */
export interface Approval {
  request: number;
  author: { actorId: string; actorLabel: string };
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
    /** Statements committed in the event's transaction (a new version): both or neither. */
    rider?: Rider,
  ): Promise<void>;
  views: Views;
  layering: Layering;
  hold?: Hold;
}

/**
 * What a branch stores after a change: for each name of the new merged values, an override or
 * an addition, unless the parent has the same value and the branch did not hold it already (nor
 * set it explicitly): then it is inherited; and a removal for each parent name it no longer has.
 */
export function splitBranch(
  parent: ReadonlyMap<string, string>,
  own: ReadonlyMap<string, string>,
  next: ReadonlyMap<string, string>,
  explicit: ReadonlySet<string>,
): { own: Map<string, string>; removed: string[] } {
  const out = new Map<string, string>();
  for (const [name, value] of next) {
    if (!parent.has(name) || parent.get(name) !== value || explicit.has(name) || own.get(name) === value)
      out.set(name, value);
  }
  const removed = [...parent.keys()].filter((name) => !next.has(name));
  return { own: out, removed };
}

export function createChange(ctx: Deps, { snapshotAt, record, views, layering, hold }: ChangeHelpers) {
  return change;

  async function change(
    caller: Caller,
    project: Project,
    envAtCall: Environment,
    change: Change,
    options: { baseVersion?: number; ip: string | null; approval?: Approval },
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
      const branch = env.parentId !== null;
      const access = await projectAccess(ctx, caller, project.id);
      // A branch is changed as the user sees it: merged over its parent's head.
      const view: EnvView | undefined = branch ? await views.viewAt(project, env, head, access) : undefined;
      const before = view ? view.values : current.values;
      const beforeLayout = view ? view.layout() : current.layout;
      /** Names the change sets on purpose (a branch keeps them even when equal to its parent's). */
      let explicit = new Set<string>();
      let rolledBackTo: EnvView | Snapshot | undefined;

      let values: Map<string, string>;
      let layout: Uint8Array;
      switch (change.kind) {
        case "push":
          values = parsed!.values;
          layout = parsed!.layout;
          break;
        case "merge":
          values = new Map([...before, ...parsed!.values]);
          layout = editLayout(beforeLayout, parsed!.values, []);
          break;
        case "set": {
          const gone = new Set(change.unset ?? []);
          const rename = change.rename ?? new Map<string, string>();
          explicit = new Set([...change.set.keys(), ...rename.values()]);
          if (rename.size === 0) {
            values = new Map([...before, ...change.set].filter(([n]) => !gone.has(n)));
            layout = editLayout(beforeLayout, change.set, [...gone]);
            break;
          }
          for (const [from, to] of rename) {
            if (!before.has(from)) throw new ApiError("NOT_FOUND", `${env.name} has no key ${from}`);
            if (before.has(to) && !gone.has(to) && !rename.has(to)) {
              throw new ApiError(
                "CONFLICT",
                `${env.name} already has a key ${to}`,
                "remove it in the same change, or rename to another name",
              );
            }
          }
          values = new Map();
          for (const [name, value] of before) {
            if (!gone.has(name)) values.set(rename.get(name) ?? name, value);
          }
          for (const [name, value] of change.set) values.set(name, value);
          layout = editLayoutRenaming(beforeLayout, change.set, [...gone], rename, values);
          break;
        }
        case "unset": {
          const missing = change.unset.filter((n) => !before.has(n));
          if (missing.length === change.unset.length) {
            throw new ApiError("NOT_FOUND", `${env.name} has no key ${missing.join(", ")}`);
          }
          values = new Map([...before].filter(([n]) => !change.unset.includes(n)));
          layout = editLayout(beforeLayout, new Map(), change.unset);
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
          if (branch) {
            // A branch's old overrides, additions and removals, over its parent as it is now.
            const old = await views.viewAt(project, env, change.to, access);
            rolledBackTo = old;
            values = old.values;
            layout = old.layout() ?? editLayout(undefined, old.values, []);
            explicit = new Set(old.own.values.keys());
          } else {
            const old = await snapshotAt(project, env, change.to);
            rolledBackTo = old;
            values = old.values;
            layout = old.layout!;
          }
          break;
        }
      }
      // A pushed file's values were checked as it was parsed; anything built here is checked now.
      if (change.kind !== "push") checkValues(values);
      // An edited layout must render with its values before it is stored (re-quoted neighbours included).
      if (change.kind !== "push") renderChecked(layout, values);
      const summary = summarize(before, values);

      // What the version stores: for a branch only what differs from its parent.
      const split = view?.parent
        ? splitBranch(view.parent.values, current.values, values, explicit)
        : undefined;
      const stored = split ? split.own : values;
      const storedLayout = split ? editLayout(undefined, split.own, []) : layout;
      const resolves = resolvesAfter(change, current, rolledBackTo, values, summary, branch, env);

      const sameOwn =
        split !== undefined &&
        split.own.size === current.values.size &&
        [...split.own].every(([n, v]) => current.values.get(n) === v) &&
        sameNames(
          split.removed,
          current.entries.filter(([, r]) => r === TOMBSTONE).map(([n]) => n),
        );
      const sameLayout =
        split !== undefined
          ? sameOwn
          : current.layout !== undefined &&
            Buffer.compare(Buffer.from(current.layout), Buffer.from(layout)) === 0;
      if (
        head > 0 &&
        summary.added.length + summary.changed.length + summary.removed.length === 0 &&
        sameLayout &&
        resolves === current.resolves
      ) {
        return { version: head, summary, unchanged: true };
      }

      if (resolves && [...values.values()].some(mayReference)) {
        // References in what is new, or in what a version that did not resolve carried over, are
        // resolved with the writer's access; the others must still find what they point at.
        const literal = new Set<string>(view ? [...view.literal].filter((n) => !split!.own.has(n)) : []);
        const fresh = new Set([...summary.added, ...summary.changed]);
        const wasLiteral = view
          ? view.literal
          : current.resolves
            ? new Set<string>()
            : new Set(current.values.keys());
        const deep = new Set(
          [...values]
            .filter(([n, v]) => mayReference(v) && !literal.has(n) && (fresh.has(n) || wasLiteral.has(n)))
            .map(([n]) => n),
        );
        const source = view ?? (await views.viewAt(project, env, head, access));
        await layering.check(caller, project, access, env, { values, literal }, deep, source);
      }

      if (hold && !options.approval) {
        const held = await hold({
          caller,
          project,
          env,
          change,
          head,
          before,
          values,
          summary,
          ip: options.ip,
        });
        if (held) return held;
      }

      const number = head + 1;
      const currentRefs = new Map(current.entries);
      const entries: [string, string][] = [];
      const fresh: { name: string; value: string }[] = [];
      for (const [name, value] of stored) {
        const ref = currentRefs.get(name);
        if (ref !== undefined && ref !== TOMBSTONE && current.values.get(name) === value)
          entries.push([name, ref]);
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
        { plaintext: storedLayout, binding: binding("layout", project.id, env.id, number) },
      ]);
      const refs = (await ctx.keeper.put(blobs)).map((r) => Buffer.from(r));
      let next = 0;
      for (const entry of entries) if (entry[1] === "") entry[1] = refs[next++]!.toString("hex");
      for (const name of split?.removed ?? []) entries.push([name, TOMBSTONE]);
      const layoutRef = refs[refs.length - 1]!;

      const actor = options.approval?.author ?? actorOf(caller);
      try {
        await ctx.appdb.versions.commit(
          {
            projectId: project.id,
            environmentId: env.id,
            expectedHead: head,
            entries,
            layoutRef,
            summary,
            kind: change.kind,
            resolves,
            authorId: actor.actorId,
            authorLabel: actor.actorLabel,
            createdAt: ctx.now(),
            newRefs: refs,
          },
          {
            // The version commits in the transaction of its audit event, which concurrent pushes
            // share (group commit, server/audit-log.ts): one transaction and one sync for all.
            commitWith: (statements) =>
              record(
                caller,
                `secrets.${change.kind}`,
                project,
                env,
                {
                  version: number,
                  ...counts(summary),
                  ...(options.approval
                    ? { request: options.approval.request, author: options.approval.author.actorLabel }
                    : {}),
                },
                options.ip,
                statements,
              ),
          },
        );
      } catch (error) {
        await ctx.keeper.delete(refs).catch(() => 0);
        if (error instanceof VersionConflictError) {
          ctx.heads.delete(env.id);
          if (known !== undefined && options.baseVersion === undefined) return once(false);
          throw conflict(error.head, options.baseVersion ?? head);
        }
        throw error;
      }
      ctx.snapshots.put(
        env.id,
        number,
        { values: stored, layout: storedLayout, entries, resolves },
        { latest: true },
      );
      return { version: number, summary, unchanged: false };
    };
    return serialized(envAtCall.id, () => once(true));
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(b);
  return a.every((n) => set.has(n));
}

/**
 * Whether the new version resolves references. Versions made before references existed do not,
 * so a stored file never changes meaning: a whole new file (push) resolves; a rollback resolves
 * as the version it brings back did; a partial change (set, unset, merge, a save) of a version
 * that did not resolve resolves only if none of the values it carries over looks like a
 * reference (one that does keeps the new version literal, and then the change may add no
 * reference: it is refused with the way out, a push of the whole file). A branch always resolves
 * (its parent's old values stay literal in its merged view).
 */
function resolvesAfter(
  change: Change,
  current: Snapshot,
  rolledBackTo: EnvView | Snapshot | undefined,
  values: ReadonlyMap<string, string>,
  summary: Summary,
  branch: boolean,
  env: Environment,
): boolean {
  if (branch || change.kind === "push") return true;
  if (change.kind === "rollback") {
    return rolledBackTo === undefined ? true : "own" in rolledBackTo ? true : rolledBackTo.resolves;
  }
  if (current.resolves || current.version === 0) return true;
  const fresh = new Set([...summary.added, ...summary.changed]);
  const carried = [...values].filter(([n, v]) => !fresh.has(n) && mayReference(v)).map(([n]) => n);
  if (carried.length === 0) return true;
  const adds = [...values].filter(([n, v]) => fresh.has(n) && mayReference(v)).map(([n]) => n);
  if (adds.length > 0) {
    throw new ApiError(
      "INVALID_REQUEST",
      `${adds[0]}: ${env.name} was written before references existed and holds values that look like one (${carried.slice(0, 5).join(", ")}); a reference set now would change their meaning`,
      `push the whole file to turn references on (write a literal @{ as @@{), e.g. vault pull ${env.name}, check those values, then vault push ${env.name}`,
    );
  }
  return false;
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
