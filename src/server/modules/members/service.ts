/**
 * A project's members and their permission per environment: one code path
 * for the API and the web pages. Listing is for anyone who sees the project
 * except service tokens (CI needs values, not the team); adding, granting
 * and removing take a manager (a project owner or an instance admin). An
 * instance owner or admin, signed in, may invite someone who has no account
 * yet: the user is created with a one-time password, returned once.
 */
import type { Permission } from "../../../appdb";
import { environmentNamed, type ProjectAccess, requireManage } from "../../auth/access";
import { type Caller, isInstanceAdmin } from "../../auth/caller";
import type { AppContext } from "../../context";
import { ApiError } from "../../errors";
import { createUserService } from "../users/service";

type Deps = Pick<AppContext, "appdb" | "audit" | "now" | "random">;

export interface MemberView {
  userId: string;
  email: string;
  role: "owner" | "member";
  /** The permission per environment name; a project owner has write everywhere. */
  permissions: Record<string, Permission>;
}

export interface AddMember {
  email: string;
  /** The project role; `member` unless given. */
  role?: "owner" | "member";
  permissions?: Record<string, Permission>;
  /** Create the user when there is none (instance owners and admins, signed in). */
  create?: boolean;
}

export interface AddedMember {
  members: MemberView[];
  /** Set when the user was created: their one-time password, shown once and stored only as a hash. */
  created?: { userId: string; email: string; oneTimePassword: string };
}

/** Who may create users while inviting them: the instance's owners and admins, through a session. */
export const createsUsers = (caller: Caller) => caller.kind === "session" && isInstanceAdmin(caller);

export function createMemberService(ctx: Deps) {
  const users = createUserService(ctx);

  const members = async (projectId: string): Promise<MemberView[]> => {
    const [rows, grants, envs] = await Promise.all([
      ctx.appdb.projects.members(projectId),
      ctx.appdb.projects.projectGrants(projectId),
      ctx.appdb.projects.environments(projectId),
    ]);
    return rows.map((m) => ({
      userId: m.userId,
      email: m.email,
      role: m.role,
      permissions: Object.fromEntries(
        envs.map((e) => [
          e.name,
          m.role === "owner"
            ? "write"
            : (grants.find((g) => g.userId === m.userId && g.environmentId === e.id)?.permission ?? "none"),
        ]),
      ),
    }));
  };

  /** Every environment named, resolved before anything changes (an unknown one is 404 and changes nothing). */
  const resolve = (access: ProjectAccess, permissions: Record<string, Permission>) =>
    Object.entries(permissions).map(([name, p]) => [environmentNamed(access, name), p] as const);

  const event = (caller: Caller, action: string, projectId: string, detail: object, ip: string | null) =>
    ctx.audit.event(caller, action, { projectId, ip }, detail);

  const memberOf = async (projectId: string, userId: string, hint?: string) => {
    const member = await ctx.appdb.projects.membership(projectId, userId);
    if (!member) throw new ApiError("NOT_FOUND", "no such member", hint);
    return member;
  };

  /**
   * A project keeps an owner: its last owner is not removed or made a member
   * (an instance admin could still manage it, but nobody on the team could).
   */
  const keepsAnOwner = async (projectId: string, userId: string, doing: string) => {
    const rows = await ctx.appdb.projects.members(projectId);
    const owners = rows.filter((m) => m.role === "owner");
    if (owners.length === 1 && owners[0]!.userId === userId)
      throw new ApiError(
        "CONFLICT",
        `${owners[0]!.email} is the project's last owner and cannot be ${doing}`,
        "make another member an owner first: vault members add EMAIL --role owner (or the team page)",
      );
  };

  return {
    /** The members and their permissions (refused to service tokens: they never see the team). */
    async list(caller: Caller, access: ProjectAccess): Promise<MemberView[]> {
      if (caller.kind === "service")
        throw new ApiError(
          "FORBIDDEN",
          "a service token cannot list the project's members",
          "list them as a member: vault members list",
        );
      return members(access.project.id);
    },

    /**
     * Adds a user (or changes the project role of a member) and sets the
     * permissions given; the member sees nothing until granted. A user who
     * does not exist is created only when asked and only by an instance
     * owner or admin; anyone else gets 404 (or 403 when they asked to create).
     */
    async add(
      caller: Caller,
      access: ProjectAccess,
      input: AddMember,
      ip: string | null,
    ): Promise<AddedMember> {
      requireManage(access);
      const projectId = access.project.id;
      const permissions = input.permissions ?? {};
      const role = input.role ?? "member";
      let user = await ctx.appdb.users.byEmail(input.email.trim());
      let created: AddedMember["created"];
      if (!user && !input.create)
        throw new ApiError(
          "NOT_FOUND",
          `no user ${input.email}`,
          "an admin creates users: vault admin user add EMAIL (or invites them from the web page)",
        );
      const envs = resolve(access, permissions);
      if (!user) {
        if (!createsUsers(caller))
          throw new ApiError(
            "FORBIDDEN",
            "only instance owners and admins, signed in, create users",
            "ask an admin to create the user, then add them",
          );
        const actor = caller.kind === "service" ? undefined : caller.user;
        const made = await users.add({ email: input.email, role: "member", actor, ip });
        user = made.user;
        created = { userId: user.id, email: user.email, oneTimePassword: made.oneTimePassword! };
      }
      if (role !== "owner") await keepsAnOwner(projectId, user.id, "made a member");
      await ctx.appdb.projects.addMember({ projectId, userId: user.id, role, createdAt: ctx.now() });
      for (const [env, permission] of envs) await ctx.appdb.projects.setGrant(env.id, user.id, permission);
      await event(
        caller,
        "member.add",
        projectId,
        { email: user.email, role, permissions, ...(created ? { created: true } : {}) },
        ip,
      );
      return { members: await members(projectId), ...(created ? { created } : {}) };
    },

    /** Sets a member's permission on the environments named (the others stay as they are). */
    async grant(
      caller: Caller,
      access: ProjectAccess,
      userId: string,
      permissions: Record<string, Permission>,
      ip: string | null,
    ): Promise<MemberView[]> {
      requireManage(access);
      const projectId = access.project.id;
      await memberOf(projectId, userId, "add them first: POST .../members");
      const envs = resolve(access, permissions);
      for (const [env, permission] of envs) await ctx.appdb.projects.setGrant(env.id, userId, permission);
      await event(caller, "member.grant", projectId, { userId, permissions }, ip);
      return members(projectId);
    },

    /** Removes a member and their grants. */
    async remove(
      caller: Caller,
      access: ProjectAccess,
      userId: string,
      ip: string | null,
    ): Promise<MemberView[]> {
      requireManage(access);
      const projectId = access.project.id;
      await memberOf(projectId, userId);
      await keepsAnOwner(projectId, userId, "removed");
      await ctx.appdb.projects.removeMember(projectId, userId);
      await event(caller, "member.remove", projectId, { userId }, ip);
      return members(projectId);
    },
  };
}

export type MemberService = ReturnType<typeof createMemberService>;
