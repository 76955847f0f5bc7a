/**
 * Drafts: the web editor's pending change sets, kept between requests so
 * that every edit can be a plain form post. A draft belongs to one session
 * and one environment: no other session sees or uses it, even the same
 * user's. Its operations (values typed included) are sealed by the app,
 * bound to the draft and its environment (binding kind "draft"), and stored
 * in the keeper as one blob; app.db holds only the row and the ref. Saving
 * makes one version through the same change path as the API (change.ts,
 * with the draft's base version as baseVersion); saving or discarding
 * removes the draft, and drafts whose session ended or that expired are
 * collected with their blobs (collectDrafts, run by the garbage collector).
 */
import type { Draft, Environment, Project } from "../../../appdb";
import type { Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { serialized } from "../../serialize";
import type { ChangeResult } from "./change";
import {
  applyEdit,
  type DraftOps,
  type Dropped,
  type Edit,
  emptyOps,
  isEmpty,
  parseOps,
  rebase,
  serializeOps,
  touched,
} from "./draft-ops";
import type { SecretService } from "./service";

export type { DraftOps, DraftRow, Edit } from "./draft-ops";

/** A draft lasts this long after its last edit, and never longer than its session. */
export const DRAFT_TTL_MS = 12 * 60 * 60 * 1000;
/** The most a draft's sealed operations may take (the keeper stores blobs up to 3 MiB). */
export const DRAFT_MAX_BYTES = 2.5 * 1024 * 1024;

type Session = Extract<Caller, { kind: "session" }>;
type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "now" | "random" | "log" | "snapshots">;

export interface OpenDraft {
  row: Draft;
  base: number;
  ops: DraftOps;
}

const draftBinding = (row: Pick<Draft, "id" | "environmentId">) =>
  binding("draft", row.id, row.environmentId);

const integrity = () =>
  new ApiError(
    "INTEGRITY",
    "your pending changes failed their integrity check",
    "discard them and start again; run `vault doctor` on the server",
  );

export interface Conflict {
  base: number;
  head: number;
  /** The versions made since the base, newest first (at most 50). */
  versions: Awaited<ReturnType<SecretService["versions"]>>;
  /** Names both the draft and those versions touched. */
  collisions: string[];
  /** What reapplying on the head would leave out, and why. */
  dropped: Dropped[];
}

export function createDraftService(ctx: Deps, secrets: SecretService) {
  /**
   * The names of a version (a branch's merged over its parent's head), from app.db (its MAC
   * checked) or the cache: no value is opened.
   */
  const namesAt = (project: Project, env: Environment, version: number): Promise<string[]> =>
    secrets.namesAt(project, env, version);

  const open = async (row: Draft): Promise<OpenDraft> => {
    const [blob] = await ctx.keeper.get([row.ref]);
    if (!blob) throw integrity();
    try {
      const { base, ops } = parseOps(new TextDecoder().decode(ctx.sealer.open(blob, draftBinding(row))));
      // The row's base is what a save sends as baseVersion: it must be the one sealed with the operations.
      if (base !== row.baseVersion) throw integrity();
      return { row, base, ops };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw integrity();
    }
  };

  const sealed = (row: Pick<Draft, "id" | "environmentId">, base: number, ops: DraftOps): Uint8Array => {
    const text = serializeOps(base, ops);
    if (Buffer.byteLength(text, "utf8") > DRAFT_MAX_BYTES) {
      throw new ApiError(
        "LIMIT_EXCEEDED",
        "the pending changes are larger than 2.5 MiB",
        "save or discard them first, or import a smaller file",
      );
    }
    return ctx.sealer.seal(Buffer.from(text, "utf8"), draftBinding(row));
  };

  const expiry = (session: Session, now: number) =>
    Math.min(now + DRAFT_TTL_MS, session.token.expiresAt ?? Number.POSITIVE_INFINITY);

  /** Removes a draft and deletes its blob (left to the collector if the keeper does not answer). */
  const remove = async (id: string): Promise<void> => {
    const ref = await ctx.appdb.drafts.remove(id);
    if (ref) await ctx.keeper.delete([ref]).catch(() => 0);
  };

  /** Stores a draft's operations: a new draft, or the next revision of one (none left when empty). */
  const store = async (
    session: Session,
    env: Environment,
    current: OpenDraft | undefined,
    base: number,
    ops: DraftOps,
  ): Promise<OpenDraft | undefined> => {
    if (isEmpty(ops)) {
      if (current) await remove(current.row.id);
      return undefined;
    }
    const now = ctx.now();
    const id = current?.row.id ?? `drf_${Buffer.from(ctx.random(12)).toString("hex")}`;
    const blob = sealed({ id, environmentId: env.id }, base, ops);
    const [ref] = await ctx.keeper.put([blob]);
    const next = {
      ref: Buffer.from(ref!),
      baseVersion: base,
      updatedAt: now,
      expiresAt: expiry(session, now),
    };
    const stored = current
      ? await ctx.appdb.drafts.replace(current.row, next)
      : await ctx.appdb.drafts.create({
          id,
          userId: session.user.id,
          tokenId: session.token.id,
          environmentId: env.id,
          revision: 1,
          ...next,
        });
    if (!stored) {
      await ctx.keeper.delete([next.ref]).catch(() => 0);
      throw new ApiError(
        "CONFLICT",
        "your pending changes changed meanwhile",
        "reload the editor and try again",
      );
    }
    if (current) await ctx.keeper.delete([current.row.ref]).catch(() => 0);
    const row: Draft = current
      ? { ...current.row, ...next, revision: current.row.revision + 1 }
      : {
          id,
          userId: session.user.id,
          tokenId: session.token.id,
          environmentId: env.id,
          revision: 1,
          ...next,
        };
    return { row, base, ops };
  };

  /** One session's changes to one environment's draft, one after another. */
  const exclusive = <T>(session: Session, env: Environment, work: () => Promise<T>) =>
    serialized(`draft:${session.token.id}:${env.id}`, work);

  /** This session's draft of the environment; one that expired is removed on the way (the collector would). */
  const current = async (session: Session, env: Environment): Promise<OpenDraft | undefined> => {
    const row = await ctx.appdb.drafts.forSession(session.token.id, env.id);
    if (!row) return undefined;
    if (row.expiresAt <= ctx.now()) {
      await remove(row.id);
      return undefined;
    }
    return open(row);
  };

  return {
    namesAt,
    current,

    /** Applies one edit to this session's draft of the environment (made on its head if there is none). */
    edit(session: Session, project: Project, env: Environment, edit: Edit): Promise<OpenDraft | undefined> {
      return exclusive(session, env, async () => {
        const draft = await current(session, env);
        const base = draft?.base ?? env.head;
        const names = new Set(await namesAt(project, env, base));
        const ops = applyEdit(draft?.ops ?? emptyOps(), names, edit);
        return store(session, env, draft, base, ops);
      });
    },

    /** Removes every draft of a session (it signs out), with their blobs. */
    async discardAll(session: Session): Promise<void> {
      for (const draft of await ctx.appdb.drafts.ofSession(session.token.id)) await remove(draft.id);
    },

    discard(session: Session, env: Environment): Promise<void> {
      return exclusive(session, env, async () => {
        const row = await ctx.appdb.drafts.forSession(session.token.id, env.id);
        if (row) await remove(row.id);
      });
    },

    /** What moved since the draft's base, and what reapplying would leave out. */
    async conflict(project: Project, env: Environment, draft: OpenDraft): Promise<Conflict> {
      const head = (await ctx.appdb.projects.environmentById(env.id))?.head ?? env.head;
      const versions = await secrets.versions(env, {
        limit: Math.min(50, Math.max(head - draft.base, 0)),
        before: head + 1,
      });
      const theirs = new Set(
        versions.flatMap((v) => [...v.summary.added, ...v.summary.changed, ...v.summary.removed]),
      );
      const collisions = [...touched(draft.ops)].filter((n) => theirs.has(n)).sort();
      const { dropped } = rebase(draft.ops, new Set(await namesAt(project, env, head)));
      return {
        base: draft.base,
        head,
        versions: versions.filter((v) => v.version > draft.base),
        collisions,
        dropped,
      };
    },

    /** Reapplies the draft on the environment's latest version (after a conflict). */
    reapply(session: Session, project: Project, env: Environment, draftId: string): Promise<Dropped[]> {
      return exclusive(session, env, async () => {
        const draft = await current(session, env);
        if (!draft || draft.row.id !== draftId) throw stale();
        const head = (await ctx.appdb.projects.environmentById(env.id))?.head ?? env.head;
        const { ops, dropped } = rebase(draft.ops, new Set(await namesAt(project, env, head)));
        await store(session, env, draft, head, ops);
        return dropped;
      });
    },

    /**
     * Saves the draft the review showed (its id and revision) as one new version, based on
     * the draft's base version: a 409 VERSION_CONFLICT when the environment moved on. The
     * draft is removed once the version is made (or when it changes nothing).
     */
    save(
      session: Session,
      project: Project,
      env: Environment,
      reviewed: { id: string; revision: number },
      ip: string | null,
    ): Promise<ChangeResult> {
      return exclusive(session, env, async () => {
        const draft = await current(session, env);
        if (!draft || draft.row.id !== reviewed.id || draft.row.revision !== reviewed.revision) throw stale();
        const result = await secrets.change(
          session,
          project,
          env,
          { kind: "set", set: draft.ops.set, unset: [...draft.ops.unset], rename: draft.ops.rename },
          { baseVersion: draft.base, ip },
        );
        await remove(draft.row.id);
        return result;
      });
    },
  };
}

export const stale = () =>
  new ApiError(
    "CONFLICT",
    "your pending changes are not the ones this page showed",
    "they changed in another tab, or were saved or discarded: review them again",
  );

/** Removes drafts nobody can use any more (expired, or their session ended) and deletes their blobs. */
export async function collectDrafts(deps: {
  appdb: Pick<Deps["appdb"], "drafts">;
  keeper: Pick<Deps["keeper"], "delete">;
  now: () => number;
}): Promise<number> {
  let removed = 0;
  for (;;) {
    const batch = await deps.appdb.drafts.unusable(deps.now(), 500);
    const refs: Buffer[] = [];
    for (const draft of batch) {
      const ref = await deps.appdb.drafts.remove(draft.id);
      if (ref) refs.push(ref);
    }
    if (refs.length > 0) await deps.keeper.delete(refs);
    removed += batch.length;
    if (batch.length < 500) return removed;
  }
}

export type DraftService = ReturnType<typeof createDraftService>;
