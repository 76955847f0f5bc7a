/**
 * Browser hand-offs: a CLI makes a random `req_<64 hex>` id, a signed-in
 * user approves it on a page, and the CLI collects what the approval bound
 * (a new project's id, a new `me_` credential, the revoked one, or a session
 * for the vault CLI). A request id is single use and expires ten minutes
 * after a page first showed it or after its first poll, whichever was first.
 * Bound credentials wait sealed, and are wiped once collected.
 *
 * Consent phishing (anyone can make a request and send its link to a
 * signed-in victim) is met in two ways:
 *
 * - Every request records where it came from: the address, time and
 *   User-Agent of its first poll. Its page shows them beside the browser's
 *   own address, and a request that nothing has polled yet cannot be
 *   approved (or a maker could wait to poll until after the approval, and
 *   the page would have nothing to show). The approval's audit event records
 *   it too.
 * - `vault login --browser` also registers, in the body of its first poll
 *   and with the secret that alone can collect, the hash of a verification
 *   code it shows only in the terminal (src/verification-code.ts). The page
 *   asks for the code; each request takes a few attempts, counted
 *   atomically, and is refused for good after the last wrong one. The CLI
 *   polls before it prints the link, so nobody who only saw the link can
 *   register first. The stock dotenv-vault CLI shows no code (it cannot be
 *   changed), so its pages ask for an explicit confirmation instead.
 */
import { timingSafeEqual } from "node:crypto";
import { type Handoff, type HandoffKind, type HandoffOrigin, newId, type User } from "../../../appdb";
import { parseVerificationCode } from "../../../verification-code";
import { projectAccess } from "../../auth/access";
import type { Caller } from "../../auth/caller";
import { hashCredential, newCredential, sameHash } from "../../auth/credentials";
import type { AppContext } from "../../context";
import { binding } from "../../crypto/app-seal";
import { ApiError } from "../../errors";
import { SESSION_TTL_MS } from "../auth/service";
import { createProjectService } from "../projects/service";

export const REQUEST_ID = /^req_[0-9a-f]{64}$/;
export const HANDOFF_TTL_MS = 10 * 60_000;
/** Codes a `vault login --browser` request takes on its page (right or wrong) before it is refused. */
export const CODE_ATTEMPTS = 5;

type Deps = Pick<AppContext, "appdb" | "keeper" | "sealer" | "audit" | "now" | "random" | "snapshots">;
type Session = Extract<Caller, { kind: "session" }>;

/** A poll as the server saw it. */
export interface PollOrigin {
  ip: string | null;
  userAgent: string | null;
}

/** The approving browser: its address, and whether the person confirmed that they made the request. */
export interface Approval {
  ip: string | null;
  confirmed?: boolean;
}

/** Why a request cannot be approved yet: nothing polled it, no vault CLI registered it, or one too old to show a code. */
export type Waiting = "poll" | "cli" | "old-cli";

/** A wrong verification code, with the attempts the request has left (more than zero). */
export class WrongCodeError extends ApiError {
  constructor(
    readonly attemptsLeft: number,
    message: string,
  ) {
    super(
      "INVALID_REQUEST",
      message,
      `type the code your terminal shows (${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} left)`,
    );
  }
}

const refused = (message: string, hint: string) => new ApiError("INVALID_REQUEST", message, hint);

/** An address as shown and compared: an IPv4-mapped IPv6 address is its IPv4 address. */
export function normalizeAddress(ip: string | null): string | null {
  if (!ip) return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return (mapped ? mapped[1]! : ip).toLowerCase();
}

/** A User-Agent to keep and show: no control or direction-changing characters, at most 200 characters. */
export function cleanUserAgent(value: string | null): string | null {
  if (!value) return null;
  const clean = value
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "")
    .trim();
  return clean === "" ? null : clean.slice(0, 200);
}

/** Where a request came from, for audit details (never a secret). */
export const requestOrigin = (origin: HandoffOrigin) => ({
  ip: origin.ip,
  at: origin.seenAt,
  userAgent: origin.userAgent,
});

const WAITING: Record<Waiting, [string, string]> = {
  poll: [
    "no CLI has asked for this request yet",
    "if you just ran the command, wait a moment and reload this page",
  ],
  cli: [
    "no vault CLI has registered this request",
    "start the sign-in from your own terminal (vault login --browser) and use the link it prints",
  ],
  "old-cli": [
    "this request came from a vault CLI too old to show a verification code",
    "update vault on the machine you sign in from, then run vault login --browser again",
  ],
};

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
  // The request id salts the code's hash: one code hashes differently on every request.
  const codeHash = (id: string, code: string) =>
    hashCredential(ctx.appdb.credentialKey, `vault/v1/handoff-code|${id}|${code}`);

  /** A request id as a page shows it: known from now on, refused once used, refused or expired. */
  async function open(kind: HandoffKind, id: string): Promise<{ row: Handoff; origin?: HandoffOrigin }> {
    if (!REQUEST_ID.test(id))
      throw refused("this link has no valid request id", "start again from your terminal");
    const now = ctx.now();
    await ctx.appdb.handoffs.open({ id, kind, createdAt: now, expiresAt: now + HANDOFF_TTL_MS });
    const row = (await ctx.appdb.handoffs.get(id))!;
    if (row.kind !== kind)
      throw refused("this request id belongs to another kind of request", "start again from your terminal");
    if (row.result !== null) throw refused("this request was already used", "start again from your terminal");
    if (row.refusedAt !== null)
      throw refused(
        "this request was refused: its code was typed wrong too many times",
        "start again from your terminal",
      );
    const origin = await ctx.appdb.handoffs.origin(id);
    if (row.expiresAt <= now || (origin && origin.seenAt + HANDOFF_TTL_MS <= now))
      throw refused("this request expired", "start again from your terminal; links last ten minutes");
    return { row, origin };
  }

  function waitingFor(row: Handoff, origin: HandoffOrigin | undefined): Waiting | undefined {
    if (row.kind === "cli") {
      if (row.pollHash === null || !origin) return "cli";
      if (row.codeHash === null) return "old-cli";
      return undefined;
    }
    return origin ? undefined : "poll";
  }

  /** A request that can be approved now: open, polled (and for the vault CLI, with a code), and confirmed. */
  async function ready(kind: HandoffKind, id: string, approval: Approval) {
    const { row, origin } = await open(kind, id);
    const waiting = waitingFor(row, origin);
    if (waiting) throw refused(...WAITING[waiting]);
    if (kind !== "cli" && approval.confirmed !== true)
      throw refused(
        "confirm that you started this request yourself",
        "tick the box on the page, after checking where the request came from",
      );
    return { row, origin: origin! };
  }

  async function bind(row: Handoff, secret: string, projectId: string | null): Promise<void> {
    if (!(await ctx.appdb.handoffs.bind(row.id, seal(row.id, secret), projectId))) {
      throw refused("this request was already used", "start again from your terminal");
    }
  }

  const event = (
    caller: Caller,
    action: string,
    projectId: string | null,
    approval: Approval,
    origin: HandoffOrigin,
    detail: object,
  ) =>
    ctx.audit.event(
      caller,
      action,
      { projectId, ip: approval.ip },
      { ...detail, request: requestOrigin(origin) },
    );

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
    /**
     * A request as its page shows it: where it came from, and what it still waits for (a
     * page shows no form then). Refused once used, refused or expired.
     */
    async view(kind: HandoffKind, id: string) {
      const { row, origin } = await open(kind, id);
      return {
        origin,
        waiting: waitingFor(row, origin),
        attemptsLeft: Math.max(0, CODE_ATTEMPTS - row.codeAttempts),
      };
    },

    /** A poll of the dotenv-vault CLI (`/check`, `/vault`): the first one says where the request came from. */
    async recordPoll(id: string, poll: PollOrigin): Promise<void> {
      if (!REQUEST_ID.test(id)) return;
      await ctx.appdb.handoffs.recordOrigin({
        requestId: id,
        seenAt: ctx.now(),
        ip: normalizeAddress(poll.ip),
        userAgent: cleanUserAgent(poll.userAgent),
      });
    },

    /** `dotenv-vault login`: a new `me_` credential for this user and project. */
    async approveLogin(caller: Session, id: string, projectId: string, approval: Approval): Promise<void> {
      const { row, origin } = await ready("login", id, approval);
      await projectAccess(ctx, caller, projectId);
      const token = await newMeCredential(caller.user, projectId);
      await bind(row, token, projectId);
      await event(caller, "handoff.login", projectId, approval, origin, { kind: "me" });
    },

    /** `dotenv-vault new`: creates the project and binds its id. */
    async approveNew(caller: Session, id: string, name: string, approval: Approval): Promise<string> {
      const { row, origin } = await ready("new", id, approval);
      const { project } = await projects.create(caller, name, approval.ip);
      await bind(row, project.id, project.id);
      await event(caller, "handoff.new", project.id, approval, origin, { kind: "project" });
      return project.id;
    },

    /** `dotenv-vault logout`: revokes this user's `me_` credentials for the project and binds the revoked one's prefix. */
    async approveLogout(caller: Session, id: string, projectId: string, approval: Approval): Promise<number> {
      const { row, origin } = await ready("logout", id, approval);
      await projectAccess(ctx, caller, projectId);
      const revoked = await ctx.appdb.tokens.revokeMe(caller.user.id, projectId, ctx.now());
      await bind(row, revoked[0] ?? "me_", projectId);
      await event(caller, "handoff.logout", projectId, approval, origin, { revoked: revoked.length });
      return revoked.length;
    },

    /**
     * `vault login --browser`: a session for the vault CLI, once the code typed on the page is
     * the one the CLI registered. Every well-formed code takes one of the request's attempts
     * (atomically, so parallel guesses cannot share one); the last wrong one refuses it.
     */
    async approveCli(caller: Session, id: string, typed: string, approval: Approval): Promise<void> {
      const { row, origin } = await ready("cli", id, approval);
      const code = parseVerificationCode(typed);
      if (code === undefined) {
        throw new WrongCodeError(
          Math.max(1, CODE_ATTEMPTS - row.codeAttempts),
          "that is not a code: a code is eight letters, like WDJB-MJHT",
        );
      }
      const attempt = await ctx.appdb.handoffs.takeCodeAttempt(id, CODE_ATTEMPTS);
      if (attempt === undefined) {
        const now = await ctx.appdb.handoffs.get(id);
        throw now?.result !== null
          ? refused("this request was already used", "start again from your terminal")
          : refused(
              "this request was refused: its code was typed wrong too many times",
              "start again from your terminal",
            );
      }
      if (!sameHash(codeHash(id, code), row.codeHash!)) {
        const left = CODE_ATTEMPTS - attempt;
        if (left === 0) await ctx.appdb.handoffs.refuse(id, ctx.now());
        await event(caller, "handoff.cli_code_wrong", null, approval, origin, { attempt, left });
        if (left === 0) {
          throw refused(
            "wrong code: this request is now refused",
            "if you did start it, run vault login --browser again and type the code it shows",
          );
        }
        throw new WrongCodeError(left, "wrong code");
      }
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
      await event(caller, "handoff.cli", null, approval, origin, { kind: "session" });
    },

    /**
     * `vault login --browser` collects its session with the request id and a
     * secret that never appears in the URL (nor in the browser opener's
     * arguments): the first poll claims the request with the secret's hash
     * and the verification code's, and only that secret can collect; it also
     * says where the request came from. Undefined while pending.
     */
    async collectCli(
      id: string,
      secret: string,
      code: string | undefined,
      poll: PollOrigin,
    ): Promise<string | undefined> {
      if (!REQUEST_ID.test(id))
        throw refused("not a request id", "the CLI makes one: req_ and 64 hex characters");
      const now = ctx.now();
      // Stored keyed, like a credential (appdb/keyed.ts).
      const hash = hashCredential(ctx.appdb.credentialKey, secret);
      const normalized = code === undefined ? undefined : parseVerificationCode(code);
      const row = await ctx.appdb.handoffs.claim({
        id,
        kind: "cli",
        createdAt: now,
        expiresAt: now + HANDOFF_TTL_MS,
        pollHash: hash,
        codeHash: normalized === undefined ? null : codeHash(id, normalized),
      });
      const held = Buffer.from(row.pollHash ?? "", "hex");
      const given = Buffer.from(hash, "hex");
      if (row.kind !== "cli" || held.length !== given.length || !timingSafeEqual(held, given)) {
        throw new ApiError("NOT_FOUND", "no such request", "start again: vault login --browser");
      }
      await this.recordPoll(id, poll);
      if (row.refusedAt !== null) {
        throw new ApiError(
          "NOT_FOUND",
          "the sign-in was refused: its code was typed wrong too many times on the page",
          "start again: vault login --browser",
        );
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
