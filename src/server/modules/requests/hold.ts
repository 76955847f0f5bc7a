/**
 * The hold: the one call the change path (../secrets/change.ts) makes before
 * it would seal a new version. For a protected environment it stores the
 * change as a change request instead (sealed in the keeper; app.db keeps the
 * names) and answers with the request; for any other environment, and for a
 * service token with write when the owner allowed tokens to bypass, it lets
 * the change go on.
 */
import { actorOf } from "../../auth/caller";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import type { Hold } from "../secrets/change";
import { operationsOf, serializeProposed } from "./proposal";

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now" | "random">;

/** The most a request's sealed change may take (the keeper stores blobs up to 3 MiB). */
export const REQUEST_MAX_BYTES = 2.75 * 1024 * 1024;

export const requestBinding = (row: { id: string; environmentId: string }) =>
  binding("request", row.id, row.environmentId);

export function createHold(ctx: Deps): Hold {
  return async ({ caller, project, env, change, head, before, values, summary, ip }) => {
    const protection = await ctx.appdb.requests.protection(env.id);
    if (!protection) return undefined;
    if (caller.kind === "service" && caller.canWrite && protection.allowTokenBypass) return undefined;
    const id = `chr_${Buffer.from(ctx.random(12)).toString("hex")}`;
    // A push's operations are its file against the base version: not stored twice.
    const ops = change.kind === "push" ? undefined : operationsOf(before, values);
    const text = serializeProposed({ base: head, change, ops });
    if (Buffer.byteLength(text, "utf8") > REQUEST_MAX_BYTES) {
      throw new ApiError(
        "LIMIT_EXCEEDED",
        `${env.name} is protected, and this change is too large to hold as a change request`,
        "change fewer keys at a time (vault set), or ask an owner to allow it another way",
      );
    }
    const blob = ctx.sealer.seal(Buffer.from(text, "utf8"), requestBinding({ id, environmentId: env.id }));
    const [ref] = await ctx.keeper.put([blob]);
    const actor = actorOf(caller);
    const now = ctx.now();
    let number: number;
    try {
      number = await ctx.appdb.requests.open({
        id,
        projectId: project.id,
        environmentId: env.id,
        authorKind: actor.actorKind,
        authorId: actor.actorId,
        authorLabel: actor.actorLabel,
        kind: change.kind,
        baseVersion: head,
        ref: Buffer.from(ref!),
        summary: JSON.stringify(summary),
        state: "open",
        revision: 1,
        reason: null,
        decidedById: null,
        decidedByLabel: null,
        decidedAt: null,
        appliedVersion: null,
        createdAt: now,
        updatedAt: now,
      });
    } catch (error) {
      await ctx.keeper.delete([ref!]).catch(() => 0);
      throw error;
    }
    await ctx.audit.event(
      caller,
      "requests.open",
      { projectId: project.id, environmentId: env.id, ip },
      {
        request: number,
        kind: change.kind,
        base: head,
        added: summary.added.length,
        changed: summary.changed.length,
        removed: summary.removed.length,
      },
    );
    return { version: head, summary, unchanged: false, request: { number, baseVersion: head } };
  };
}
