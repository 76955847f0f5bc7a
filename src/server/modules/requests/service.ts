/**
 * Approvals for protected environments (README "Approvals"): one code path
 * for the API, the web pages and the TUI.
 *
 * - Protecting and unprotecting take a manager (project owner, instance
 *   admin); both are audited. Approvers are every member with write on the
 *   environment, or a list of users (who must still be able to read it).
 * - A change to a protected environment becomes a change request (./hold.ts).
 *   Anyone who can read the environment sees its requests (names only);
 *   an approver may reveal the proposed values (an audited read).
 * - Approving applies the change through the ordinary change path, as of
 *   the request's base version: the version's author is the request's
 *   author, the audit event's actor the approver. Nobody approves their own
 *   request (403 SELF_APPROVAL); a request whose environment moved on since
 *   its base is stale (409 REQUEST_STALE) until rebased, which reapplies its
 *   key operations on the latest version and refuses keys both sides changed.
 * - The author withdraws; an approver rejects (with a reason). A closed
 *   request's sealed change is deleted from the keeper.
 */
import type { ChangeRequest, Environment, Protection, RequestState } from "../../../appdb";
import { environmentNamed, type ProjectAccess, requireManage } from "../../auth/access";
import { actorOf, type Caller } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { serialized } from "../../serialize";
import type { Change, Summary } from "../secrets/change";
import { parseFile } from "../secrets/document";
import type { SecretService } from "../secrets/service";
import { REQUEST_MAX_BYTES, requestBinding } from "./hold";
import {
  type Operations,
  operationsOf,
  type Proposed,
  parseProposed,
  rebaseOperations,
  serializeProposed,
} from "./proposal";

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now">;

/** What anyone who can read the environment sees of a request: names, never values. */
export interface RequestView {
  number: number;
  environment: string;
  /** `stale`: open, but the environment moved on since its base (rebase it). */
  state: RequestState | "stale";
  kind: string;
  author: string;
  baseVersion: number;
  /** The environment's latest version now. */
  head: number;
  summary: Summary;
  createdAt: number;
  updatedAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  appliedVersion: number | null;
  /** Whether the caller may approve or reject it (and reveal its values), may withdraw it. */
  canApprove: boolean;
  canWithdraw: boolean;
}

export interface ProtectionView {
  environment: string;
  /** The approvers' emails, or null: every member with write on the environment. */
  approvers: string[] | null;
  allowTokenBypass: boolean;
}

export const REASON_MAX = 500;

const notFound = (number: number) =>
  new ApiError(
    "NOT_FOUND",
    `no change request #${number} in this project`,
    "see them: vault requests list --all",
  );

const closed = (row: ChangeRequest) =>
  new ApiError(
    "CONFLICT",
    `change request #${row.number} is ${row.state}`,
    `see it: vault requests show ${row.number}`,
  );

export function createRequestService(ctx: Deps, secrets: SecretService) {
  const approversOf = (p: Protection | undefined): string[] | null =>
    p?.approvers ? (JSON.parse(p.approvers) as string[]) : null;

  /** Whether the caller may approve, reject and reveal requests of the environment. */
  const mayApprove = (caller: Caller, access: ProjectAccess, env: Environment, p: Protection | undefined) => {
    if (caller.kind === "service") return false;
    const list = approversOf(p);
    if (list) return list.includes(caller.user.id) && access.permission(env.id) !== "none";
    return access.permission(env.id) === "write";
  };

  const isAuthor = (caller: Caller, row: ChangeRequest) => actorOf(caller).actorId === row.authorId;

  /** Whether the request's author may still write the environment (a revoked token's change is not applied). */
  const authorMayWrite = async (row: ChangeRequest, env: Environment): Promise<boolean> => {
    if (row.authorKind === "service") {
      const token = await ctx.appdb.tokens.byId(row.authorId);
      if (!token || token.revokedAt !== null || !token.canWrite || token.projectId !== row.projectId)
        return false;
      if (token.expiresAt !== null && token.expiresAt <= ctx.now()) return false;
      return (JSON.parse(token.environments ?? "[]") as string[]).includes(env.id);
    }
    const user = await ctx.appdb.users.byId(row.authorId);
    if (!user || user.disabledAt !== null) return false;
    if (user.role === "owner" || user.role === "admin") return true;
    const membership = await ctx.appdb.projects.membership(row.projectId, user.id);
    if (membership?.role === "owner") return true;
    return (await ctx.appdb.projects.grantsOf(row.projectId, user.id)).get(env.id) === "write";
  };

  const envOf = (access: ProjectAccess, row: ChangeRequest): Environment => {
    const env = access.environments.find((e) => e.id === row.environmentId);
    if (!env) throw notFound(row.number);
    return env;
  };

  /** The request, if the caller may read its environment (else 404: it is not shown to them). */
  const find = async (access: ProjectAccess, number: number) => {
    const row = await ctx.appdb.requests.byNumber(access.project.id, number);
    if (!row) throw notFound(number);
    const env = envOf(access, row);
    if (access.permission(env.id) === "none") throw notFound(number);
    return { row, env };
  };

  const headOf = async (env: Environment) =>
    (await ctx.appdb.projects.environmentById(env.id))?.head ?? env.head;

  const view = (
    caller: Caller,
    access: ProjectAccess,
    env: Environment,
    row: ChangeRequest,
    head: number,
    protection: Protection | undefined,
  ): RequestView => ({
    number: row.number,
    environment: env.name,
    state: row.state === "open" && row.baseVersion !== head ? "stale" : row.state,
    kind: row.kind,
    author: row.authorLabel,
    baseVersion: row.baseVersion,
    head,
    summary: JSON.parse(row.summary) as Summary,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    decidedBy: row.decidedByLabel,
    decidedAt: row.decidedAt,
    reason: row.reason,
    appliedVersion: row.appliedVersion,
    canApprove: row.state === "open" && mayApprove(caller, access, env, protection) && !isAuthor(caller, row),
    canWithdraw: row.state === "open" && isAuthor(caller, row),
  });

  const integrity = (row: ChangeRequest) =>
    new ApiError(
      "INTEGRITY",
      `change request #${row.number} failed its integrity check`,
      "reject it and ask its author to make the change again; run `vault doctor` on the server",
    );

  const openProposed = async (row: ChangeRequest): Promise<Proposed> => {
    if (!row.ref) throw closed(row);
    const [blob] = await ctx.keeper.get([row.ref]);
    if (!blob) throw integrity(row);
    try {
      const proposed = parseProposed(new TextDecoder().decode(ctx.sealer.open(blob, requestBinding(row))));
      if (proposed.base !== row.baseVersion) throw integrity(row);
      return proposed;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw integrity(row);
    }
  };

  /** The values of a version as the change path sees them (a branch merged over its parent). */
  const valuesAt = async (access: ProjectAccess, env: Environment, version: number) =>
    (await secrets.views.viewAt(access.project, env, version, access)).values;

  const operations = async (access: ProjectAccess, env: Environment, p: Proposed): Promise<Operations> => {
    if (p.ops) return p.ops;
    const text = p.change.kind === "push" ? p.change.text : "";
    return operationsOf(await valuesAt(access, env, p.base), parseFile(text).values);
  };

  const where = (access: ProjectAccess, env: Environment, ip: string | null) => ({
    projectId: access.project.id,
    environmentId: env.id,
    ip,
  });

  const requireApprover = (
    caller: Caller,
    access: ProjectAccess,
    env: Environment,
    p: Protection | undefined,
  ) => {
    if (caller.kind === "service") {
      throw new ApiError(
        "FORBIDDEN",
        "a service token cannot approve or reject change requests",
        "an approver signs in: vault login",
      );
    }
    if (!mayApprove(caller, access, env, p)) {
      const list = approversOf(p);
      throw new ApiError(
        "FORBIDDEN",
        list
          ? `you are not one of the approvers of ${env.name}`
          : `approving changes to ${env.name} takes write access to it`,
        "ask an approver, or a project owner (vault envs shows who approves)",
      );
    }
  };

  /** One decision at a time per request in this process (two approvals must not apply it twice). */
  const exclusive = <T>(row: ChangeRequest, work: () => Promise<T>) => serialized(`request:${row.id}`, work);

  const closeRow = async (
    row: ChangeRequest,
    caller: Caller,
    state: "rejected" | "withdrawn" | "applied",
    extra: { reason?: string | null; appliedVersion?: number | null } = {},
  ) => {
    const actor = actorOf(caller);
    const now = ctx.now();
    const done = await ctx.appdb.requests.close(row, {
      state,
      reason: extra.reason ?? null,
      decidedById: actor.actorId,
      decidedByLabel: actor.actorLabel,
      decidedAt: now,
      appliedVersion: extra.appliedVersion ?? null,
      updatedAt: now,
    });
    if (!done) {
      throw new ApiError(
        "CONFLICT",
        `change request #${row.number} changed meanwhile`,
        `see it again: vault requests show ${row.number}`,
      );
    }
    if (row.ref) await ctx.keeper.delete([row.ref]).catch(() => 0);
  };

  /** The request again, inside its lock: it must still be open. */
  const reload = async (access: ProjectAccess, row: ChangeRequest) => {
    const fresh = await ctx.appdb.requests.byNumber(access.project.id, row.number);
    if (!fresh) throw notFound(row.number);
    if (fresh.state !== "open") throw closed(fresh);
    return fresh;
  };

  return {
    async protections(access: ProjectAccess): Promise<ProtectionView[]> {
      const rows = await ctx.appdb.requests.protections(access.environments.map((e) => e.id));
      const out: ProtectionView[] = [];
      for (const p of rows) {
        const env = access.environments.find((e) => e.id === p.environmentId);
        if (!env || access.permission(env.id) === "none") continue;
        const ids = approversOf(p);
        const emails = ids
          ? await Promise.all(
              ids.map(async (id) => (await ctx.appdb.users.byId(id))?.email ?? "(removed user)"),
            )
          : null;
        out.push({ environment: env.name, approvers: emails, allowTokenBypass: p.allowTokenBypass });
      }
      return out;
    },

    async protect(
      caller: Caller,
      access: ProjectAccess,
      envName: string,
      options: { approvers?: string[]; allowTokenBypass?: boolean },
      ip: string | null,
    ): Promise<ProtectionView> {
      requireManage(access);
      const env = environmentNamed(access, envName);
      let ids: string[] | null = null;
      if (options.approvers && options.approvers.length > 0) {
        ids = [];
        for (const email of options.approvers) {
          const user = await ctx.appdb.users.byEmail(email.trim().toLowerCase());
          if (!user)
            throw new ApiError(
              "NOT_FOUND",
              `no user ${email.slice(0, 200)}`,
              "give the emails of users of this server",
            );
          if (!ids.includes(user.id)) ids.push(user.id);
        }
      }
      const allowTokenBypass = options.allowTokenBypass === true;
      await ctx.appdb.requests.protect({
        environmentId: env.id,
        approvers: ids ? JSON.stringify(ids) : null,
        allowTokenBypass,
        createdBy: actorOf(caller).actorId,
        createdAt: ctx.now(),
      });
      await ctx.audit.event(caller, "environment.protect", where(access, env, ip), {
        approvers: ids ? ids.length : "write",
        allowTokenBypass,
      });
      const emails = ids ? (options.approvers ?? []).map((e) => e.trim().toLowerCase()) : null;
      return { environment: env.name, approvers: emails ? [...new Set(emails)] : null, allowTokenBypass };
    },

    async unprotect(caller: Caller, access: ProjectAccess, envName: string, ip: string | null) {
      requireManage(access);
      const env = environmentNamed(access, envName);
      const was = await ctx.appdb.requests.unprotect(env.id);
      if (was) await ctx.audit.event(caller, "environment.unprotect", where(access, env, ip), {});
      return { environment: env.name, wasProtected: was };
    },

    async list(
      caller: Caller,
      access: ProjectAccess,
      options: { env?: string; all?: boolean; limit?: number },
    ): Promise<RequestView[]> {
      const envs = options.env
        ? [environmentNamed(access, options.env)]
        : access.environments.filter((e) => access.permission(e.id) !== "none");
      const readable = envs.filter((e) => access.permission(e.id) !== "none");
      if (options.env && readable.length === 0) {
        throw new ApiError(
          "FORBIDDEN",
          `no read access to ${options.env}`,
          "ask a project owner to grant access",
        );
      }
      const rows = await ctx.appdb.requests.list(access.project.id, {
        environmentIds: readable.map((e) => e.id),
        open: options.all !== true,
        limit: options.limit ?? 100,
      });
      const protections = new Map(
        (await ctx.appdb.requests.protections(readable.map((e) => e.id))).map((p) => [p.environmentId, p]),
      );
      const heads = new Map<string, number>();
      const out: RequestView[] = [];
      for (const row of rows) {
        const env = envOf(access, row);
        if (!heads.has(env.id)) heads.set(env.id, await headOf(env));
        out.push(view(caller, access, env, row, heads.get(env.id)!, protections.get(env.id)));
      }
      return out;
    },

    async show(caller: Caller, access: ProjectAccess, number: number): Promise<RequestView> {
      const { row, env } = await find(access, number);
      return view(caller, access, env, row, await headOf(env), await ctx.appdb.requests.protection(env.id));
    },

    /**
     * The proposed values of the names the request adds or changes, and those names' values at
     * the base version: for approvers only, audited as a read of both.
     */
    async reveal(caller: Caller, access: ProjectAccess, number: number, ip: string | null) {
      const { row, env } = await find(access, number);
      requireApprover(caller, access, env, await ctx.appdb.requests.protection(env.id));
      if (row.state !== "open") throw closed(row);
      const proposed = await openProposed(row);
      const ops = await operations(access, env, proposed);
      const before = await valuesAt(access, env, row.baseVersion);
      const names = [...ops.set.keys(), ...ops.unset];
      await ctx.audit.event(caller, "secrets.read", where(access, env, ip), {
        version: row.baseVersion,
        keys: names.length,
        ...(names.length <= 20 ? { names } : {}),
        reason: "change request",
        request: row.number,
      });
      const values: Record<string, { from: string | null; to: string | null }> = {};
      for (const [name, value] of ops.set) values[name] = { from: before.get(name) ?? null, to: value };
      for (const name of ops.unset) values[name] = { from: before.get(name) ?? null, to: null };
      return { number: row.number, environment: env.name, values };
    },

    /** Applies the request as a new version (an approver, not its author). */
    async approve(caller: Caller, access: ProjectAccess, number: number, ip: string | null) {
      const found = await find(access, number);
      return exclusive(found.row, async () => {
        const row = await reload(access, found.row);
        const env = found.env;
        if (caller.kind !== "service" && isAuthor(caller, row)) {
          throw new ApiError(
            "SELF_APPROVAL",
            `you opened change request #${row.number}: someone else must approve it`,
            `ask another approver of ${env.name}`,
          );
        }
        requireApprover(caller, access, env, await ctx.appdb.requests.protection(env.id));
        if (!(await authorMayWrite(row, env))) {
          throw new ApiError(
            "FORBIDDEN",
            `the author of change request #${row.number} (${row.authorLabel}) can no longer write ${env.name}`,
            "reject it; the change can be made again by someone with write access",
          );
        }
        const head = await headOf(env);
        if (head !== row.baseVersion) {
          throw new ApiError(
            "REQUEST_STALE",
            `change request #${row.number} was made on version ${row.baseVersion} of ${env.name}, which is now at version ${head}`,
            `rebase it on the latest version, then approve: vault requests rebase ${row.number}`,
          );
        }
        const proposed = await openProposed(row);
        let result: Awaited<ReturnType<SecretService["change"]>>;
        try {
          result = await secrets.change(caller, access.project, env, proposed.change, {
            baseVersion: row.baseVersion,
            ip,
            approval: { request: row.number, author: { actorId: row.authorId, actorLabel: row.authorLabel } },
          });
        } catch (error) {
          if (error instanceof ApiError && error.code === "VERSION_CONFLICT") {
            throw new ApiError(
              "REQUEST_STALE",
              `${env.name} moved on while change request #${row.number} was being approved`,
              `rebase it, then approve: vault requests rebase ${row.number}`,
            );
          }
          throw error;
        }
        await closeRow(row, caller, "applied", { appliedVersion: result.version });
        await ctx.audit.event(caller, "requests.approve", where(access, env, ip), {
          request: row.number,
          author: row.authorLabel,
        });
        await ctx.audit.event(caller, "requests.apply", where(access, env, ip), {
          request: row.number,
          version: result.version,
          author: row.authorLabel,
        });
        return {
          number: row.number,
          environment: env.name,
          state: "applied" as const,
          version: result.version,
          summary: result.summary,
        };
      });
    },

    async reject(
      caller: Caller,
      access: ProjectAccess,
      number: number,
      reason: string | undefined,
      ip: string | null,
    ) {
      const found = await find(access, number);
      return exclusive(found.row, async () => {
        const row = await reload(access, found.row);
        requireApprover(caller, access, found.env, await ctx.appdb.requests.protection(found.env.id));
        const text =
          reason
            ?.replace(/[\u0000-\u001f\u007f]+/g, " ")
            .trim()
            .slice(0, REASON_MAX) || null;
        await closeRow(row, caller, "rejected", { reason: text });
        await ctx.audit.event(caller, "requests.reject", where(access, found.env, ip), {
          request: row.number,
          author: row.authorLabel,
        });
        return { number: row.number, environment: found.env.name, state: "rejected" as const };
      });
    },

    async withdraw(caller: Caller, access: ProjectAccess, number: number, ip: string | null) {
      const found = await find(access, number);
      return exclusive(found.row, async () => {
        const row = await reload(access, found.row);
        if (!isAuthor(caller, row)) {
          throw new ApiError(
            "FORBIDDEN",
            `only its author (${row.authorLabel}) can withdraw change request #${row.number}`,
            `an approver rejects it instead: vault requests reject ${row.number}`,
          );
        }
        await closeRow(row, caller, "withdrawn");
        await ctx.audit.event(caller, "requests.withdraw", where(access, found.env, ip), {
          request: row.number,
        });
        return { number: row.number, environment: found.env.name, state: "withdrawn" as const };
      });
    },

    /**
     * Reapplies the request's key operations on the environment's latest version (its author
     * or an approver); refused, naming them, when a key it touches also changed since its base.
     */
    async rebase(caller: Caller, access: ProjectAccess, number: number, ip: string | null) {
      const found = await find(access, number);
      return exclusive(found.row, async () => {
        const row = await reload(access, found.row);
        const env = found.env;
        if (!isAuthor(caller, row))
          requireApprover(caller, access, env, await ctx.appdb.requests.protection(env.id));
        const head = await headOf(env);
        if (head === row.baseVersion) {
          return { number: row.number, environment: env.name, baseVersion: head, rebased: false };
        }
        const proposed = await openProposed(row);
        const ops = await operations(access, env, proposed);
        const [base, latest] = await Promise.all([
          valuesAt(access, env, row.baseVersion),
          valuesAt(access, env, head),
        ]);
        const next = rebaseOperations(ops, base, latest);
        if (next.conflicts.length > 0) {
          throw new ApiError(
            "CONFLICT",
            `change request #${row.number} and the versions since ${row.baseVersion} both changed ${next.conflicts.slice(0, 20).join(", ")}`,
            `withdraw it (or reject it) and make the change again on version ${head}`,
          );
        }
        if (next.set.size === 0 && next.unset.length === 0) {
          throw new ApiError(
            "CONFLICT",
            `version ${head} of ${env.name} already has every change of request #${row.number}`,
            `nothing is left to approve: withdraw it (vault requests withdraw ${row.number}) or reject it`,
          );
        }
        const change: Change =
          next.set.size > 0
            ? { kind: "set", set: next.set, unset: next.unset }
            : { kind: "unset", unset: next.unset };
        const summary: Summary = {
          added: [...next.set.keys()].filter((n) => !latest.has(n)),
          changed: [...next.set.keys()].filter((n) => latest.has(n)),
          removed: next.unset,
        };
        const text = serializeProposed({ base: head, change, ops: { set: next.set, unset: next.unset } });
        if (Buffer.byteLength(text, "utf8") > REQUEST_MAX_BYTES) {
          throw new ApiError(
            "LIMIT_EXCEEDED",
            "the rebased change is too large to hold",
            "withdraw it and change fewer keys at a time",
          );
        }
        const [ref] = await ctx.keeper.put([ctx.sealer.seal(Buffer.from(text, "utf8"), requestBinding(row))]);
        const stored = await ctx.appdb.requests.rebase(row, {
          ref: Buffer.from(ref!),
          baseVersion: head,
          kind: change.kind,
          summary: JSON.stringify(summary),
          updatedAt: ctx.now(),
        });
        if (!stored) {
          await ctx.keeper.delete([ref!]).catch(() => 0);
          throw new ApiError(
            "CONFLICT",
            `change request #${row.number} changed meanwhile`,
            `see it again: vault requests show ${row.number}`,
          );
        }
        if (row.ref) await ctx.keeper.delete([row.ref]).catch(() => 0);
        await ctx.audit.event(caller, "requests.rebase", where(access, env, ip), {
          request: row.number,
          from: row.baseVersion,
          to: head,
        });
        return { number: row.number, environment: env.name, baseVersion: head, rebased: true, summary };
      });
    },
  };
}

export type RequestService = ReturnType<typeof createRequestService>;
