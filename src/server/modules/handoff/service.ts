/**
 * Browser hand-offs: a CLI makes a random `req_<64 hex>` id, a signed-in
 * user approves it on a page, and the CLI collects what the approval bound
 * (a new project's id, a new `me_` credential, the revoked one, or a session
 * for the vault CLI). A request id is single use and expires ten minutes
 * after a page first showed it. Bound credentials wait sealed, and are wiped
 * once collected.
 */
import { timingSafeEqual } from "node:crypto";
import { type Handoff, type HandoffKind, newId, type User } from "../../../appdb";
import { projectAccess } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import { hashCredential, newCredential } from "../../auth/credentials";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { SESSION_TTL_MS } from "../auth/service";
import { createProjectService } from "../projects/service";

export const REQUEST_ID = /^req_[0-9a-f]{64}$/;
export const HANDOFF_TTL_MS = 10 * 60_000;

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now" | "random" | "snapshots">;

const refused = (message: string, hint: string) => new ApiError("INVALID_REQUEST", message, hint);

export function createHandoffService(ctx: Deps) {
  const projects = createProjectService(ctx);
  const seal = (id: string, text: string) =>
    Buffer.from(ctx.sealer.seal(Buffer.from(text, "utf8"), binding("value", "handoff", id))).toString(
      "base64",
    );
  const unseal = (id: string, sealed: string) =>
    Buffer.from(ctx.sealer.open(Buffer.from(sealed, "base64"), binding("value", "handoff", id))).toString(
      "utf8",
    );

  /** A request id as a page shows it: known from now on, refused once used or expired. */
  async function open(kind: HandoffKind, id: string): Promise<Handoff> {
    if (!REQUEST_ID.test(id))
      throw refused("this link has no valid request id", "start again from your terminal");
    const now = ctx.now();
    await ctx.appdb.handoffs.open({ id, kind, createdAt: now, expiresAt: now + HANDOFF_TTL_MS });
    const row = (await ctx.appdb.handoffs.get(id))!;
    if (row.kind !== kind)
      throw refused("this request id belongs to another kind of request", "start again from your terminal");
    if (row.result !== null) throw refused("this request was already used", "start again from your terminal");
    if (row.expiresAt <= now)
      throw refused("this request expired", "start again from your terminal; links last ten minutes");
    return row;
  }

  async function bind(row: Handoff, secret: string, projectId: string | null): Promise<void> {
    if (!(await ctx.appdb.handoffs.bind(row.id, seal(row.id, secret), projectId))) {
      throw refused("this request was already used", "start again from your terminal");
    }
  }

  const event = (caller: Caller, action: string, projectId: string | null, detail: object) =>
    ctx.audit.event(caller, action, { projectId }, detail);

  async function newMeCredential(user: User, projectId: string): Promise<string> {
    const token = newCredential("me", ctx.random);
    await ctx.appdb.tokens.insert({
      id: newId.token(ctx.random),
      kind: "me",
      hash: hashCredential(ctx.appdb.credentialKey, token),
      userId: user.id,
      projectId,
      // A short, non-secret prefix, so a revocation can say which credential it revoked.
      name: token.slice(0, 9),
      createdAt: ctx.now(),
    });
    return token;
  }

  return {
    open,

    /** `dotenv-vault login`: a new `me_` credential for this user and project. */
    async approveLogin(
      caller: Extract<Caller, { kind: "session" }>,
      id: string,
      projectId: string,
    ): Promise<void> {
      const row = await open("login", id);
      await projectAccess(ctx, caller, projectId);
      const token = await newMeCredential(caller.user, projectId);
      await bind(row, token, projectId);
      await event(caller, "handoff.login", projectId, { kind: "me" });
    },

    /** `dotenv-vault new`: creates the project and binds its id. */
    async approveNew(
      caller: Extract<Caller, { kind: "session" }>,
      id: string,
      name: string,
    ): Promise<string> {
      const row = await open("new", id);
      const { project } = await projects.create(caller, name, null);
      await bind(row, project.id, project.id);
      return project.id;
    },

    /** `dotenv-vault logout`: revokes this user's `me_` credentials for the project and binds the revoked one's prefix. */
    async approveLogout(
      caller: Extract<Caller, { kind: "session" }>,
      id: string,
      projectId: string,
    ): Promise<number> {
      const row = await open("logout", id);
      await projectAccess(ctx, caller, projectId);
      const revoked = await ctx.appdb.tokens.revokeMe(caller.user.id, projectId, ctx.now());
      await bind(row, revoked[0] ?? "me_", projectId);
      await event(caller, "handoff.logout", projectId, { revoked: revoked.length });
      return revoked.length;
    },

    /** `vault login --browser`: a session for the vault CLI. */
    async approveCli(caller: Extract<Caller, { kind: "session" }>, id: string): Promise<void> {
      const row = await open("cli", id);
      const token = newCredential("session", ctx.random);
      await ctx.appdb.tokens.insert({
        id: newId.token(ctx.random),
        kind: "session",
        hash: hashCredential(ctx.appdb.credentialKey, token),
        userId: caller.user.id,
        createdAt: ctx.now(),
        expiresAt: ctx.now() + SESSION_TTL_MS,
      });
      await bind(row, token, null);
      await event(caller, "handoff.cli", null, { kind: "session" });
    },

    /**
     * `vault login --browser` collects its session with the request id and a
     * secret that never appears in the URL (nor in the browser opener's
     * arguments): the first poll claims the request with the secret's hash,
     * and only that secret can collect. Undefined while pending.
     */
    async collectCli(id: string, secret: string): Promise<string | undefined> {
      if (!REQUEST_ID.test(id))
        throw refused("not a request id", "the CLI makes one: req_ and 64 hex characters");
      const now = ctx.now();
      // Stored keyed, like a credential (appdb/keyed.ts).
      const hash = hashCredential(ctx.appdb.credentialKey, secret);
      const row = await ctx.appdb.handoffs.claim({
        id,
        kind: "cli",
        createdAt: now,
        expiresAt: now + HANDOFF_TTL_MS,
        pollHash: hash,
      });
      const held = Buffer.from(row.pollHash ?? "", "hex");
      const given = Buffer.from(hash, "hex");
      if (row.kind !== "cli" || held.length !== given.length || !timingSafeEqual(held, given)) {
        throw new ApiError("NOT_FOUND", "no such request", "start again: vault login --browser");
      }
      return this.collect("cli", id);
    },

    /**
     * What the approval bound, once: undefined while pending; an error when
     * the id is malformed, of another kind, expired or already collected.
     */
    async collect(kind: HandoffKind, id: string, projectId?: string): Promise<string | undefined> {
      if (!REQUEST_ID.test(id))
        throw refused("not a request id", "the CLI makes one: req_ and 64 hex characters");
      const row = await ctx.appdb.handoffs.get(id);
      if (!row || row.result === null) return undefined;
      if (row.kind !== kind || (projectId !== undefined && row.projectId !== projectId)) {
        throw new ApiError("NOT_FOUND", "no such request", "start again from your terminal");
      }
      if (row.collectedAt !== null)
        throw new ApiError("NOT_FOUND", "this request was already collected", "start again");
      if (row.expiresAt <= ctx.now())
        throw new ApiError("NOT_FOUND", "this request expired", "start again; links last ten minutes");
      if (!(await ctx.appdb.handoffs.collect(id, ctx.now())))
        throw new ApiError("NOT_FOUND", "this request was already collected");
      return unseal(id, row.result);
    },
  };
}

export type HandoffService = ReturnType<typeof createHandoffService>;
