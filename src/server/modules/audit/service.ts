/**
 * Reading the audit log: one code path for the API and the web pages. An
 * instance owner or admin, signed in, reads the whole log; anyone else reads
 * one project's events, and only as its manager (a `me_` credential or a
 * service token reaches only its own project, else 404). Events come with
 * names for the ids they hold, never a value (events hold none).
 */
import { projectAccess, requireManage } from "../../auth/access";
import { type Caller, isInstanceAdmin } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";

type Deps = Pick<AppContext, "appdb" | "audit"> & Partial<Pick<AppContext, "access">>;

export interface AuditQuery {
  project?: string;
  /** An actor's id (`usr_...`, `tok_...`). */
  actor?: string;
  action?: string;
  since?: number;
  until?: number;
  /** Events with seq below this (the next page, backwards). */
  before?: number;
  limit: number;
}

export interface AuditEventView {
  seq: number;
  at: number;
  action: string;
  actor: { kind: string; id: string | null; label: string };
  projectId: string | null;
  project: string | null;
  environmentId: string | null;
  environment: string | null;
  /** The email of the user the event is about (detail.userId), if any. */
  subject: string | null;
  detail: unknown;
  ip: string | null;
}

/**
 * Who sees the instance's whole log: an instance owner or admin through a
 * session. A `me_` credential is bound to one project, even an admin's: it
 * never lists other projects' events nor the instance's (sign-ins, users).
 */
export const instanceWide = (caller: Caller) => caller.kind === "session" && isInstanceAdmin(caller);

/**
 * Names for the ids an event holds, looked up once per answer: the
 * environment's and project's names ("(removed)" once deleted), a label for
 * an actor recorded without one, and the email of the user an event is
 * about (`detail.userId`, as member.grant and member.remove record it).
 */
function namesFor(ctx: Deps) {
  const memo = new Map<string, Promise<string | null>>();
  const once = (key: string, find: () => Promise<string | null>) => {
    let found = memo.get(key);
    if (!found) {
      found = find().catch(() => null);
      memo.set(key, found);
    }
    return found;
  };
  return {
    environment: (id: string | null) =>
      id === null
        ? null
        : once(`e:${id}`, async () => (await ctx.appdb.projects.environmentById(id))?.name ?? "(removed)"),
    project: (id: string | null) =>
      id === null
        ? null
        : once(`p:${id}`, async () => (await ctx.appdb.projects.byId(id))?.name ?? "(removed)"),
    user: (id: string) => once(`u:${id}`, async () => (await ctx.appdb.users.byId(id))?.email ?? null),
    token: (id: string) =>
      once(`t:${id}`, async () => {
        const token = await ctx.appdb.tokens.byId(id);
        return token ? `token:${token.name ?? token.id}` : null;
      }),
  };
}

export function createAuditService(ctx: Deps) {
  return {
    /** Events the caller may read, newest first, with names. */
    async list(caller: Caller, query: AuditQuery): Promise<AuditEventView[]> {
      if (!instanceWide(caller)) {
        if (!query.project) {
          throw new ApiError(
            "FORBIDDEN",
            "only instance owners and admins, signed in, read the whole audit log",
            caller.kind === "me"
              ? `add ?project=${caller.projectId}: this credential is bound to that project`
              : "add ?project=vlt_... for a project you own",
          );
        }
        // A me_ credential or service token reaches only its own project (else 404), and only as a manager.
        requireManage(await projectAccess(ctx, caller, query.project));
      }
      const rows = await ctx.appdb.audit.list({
        projectId: query.project,
        actorId: query.actor,
        action: query.action,
        since: query.since,
        until: query.until,
        before: query.before,
        limit: query.limit,
      });
      const names = namesFor(ctx);
      return Promise.all(
        rows.map(async (r) => {
          const detail = r.detail ? (JSON.parse(r.detail) as unknown) : null;
          const userId = (detail as { userId?: unknown } | null)?.userId;
          const label =
            r.actorLabel ??
            (r.actorId === null
              ? null
              : r.actorKind === "service"
                ? await names.token(r.actorId)
                : await names.user(r.actorId));
          return {
            seq: r.seq,
            at: r.at,
            action: r.action,
            actor: { kind: r.actorKind, id: r.actorId, label: label ?? r.actorId ?? r.actorKind },
            projectId: r.projectId,
            project: await names.project(r.projectId),
            environmentId: r.environmentId,
            environment: await names.environment(r.environmentId),
            subject: typeof userId === "string" ? await names.user(userId) : null,
            detail,
            ip: r.ip,
          };
        }),
      );
    },

    /** Walks the hash chain (instance owners and admins, signed in). */
    async verify(caller: Caller) {
      if (!instanceWide(caller))
        throw new ApiError(
          "FORBIDDEN",
          "only instance owners and admins, signed in, verify the audit log",
          "sign in: vault login",
        );
      await ctx.audit.flush();
      return ctx.appdb.audit.verify();
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
