/** Inviting members: adding an existing user, or (instance admins) creating one with a one-time password. */
import { describe, expect, it } from "bun:test";
import { projectWith } from "./fixtures";
import { startHarness } from "./harness";

async function setup() {
  const h = await startHarness();
  const { owner, project, base } = await projectWith(h);
  const admin = await h.user("admin@example.com", "admin");
  return { h, owner, admin, project, base, members: `/api/v1/projects/${project.id}/members` };
}

describe("inviting members", () => {
  it("an instance admin invites someone without an account: created with a one-time password, returned once, with exactly the grants asked", async () => {
    const { h, admin, base, members } = await setup();
    const res = await h.request("POST", members, {
      token: admin.token,
      body: { email: "Newbie@Example.com", create: true, permissions: { staging: "read" } },
    });
    expect(res.status).toBe(201);
    const { oneTimePassword, email, userId } = res.body.created;
    expect(email).toBe("newbie@example.com");
    expect(oneTimePassword).toMatch(/^[A-Za-z0-9]{20}$/);
    const row = res.body.members.find((m: { email: string }) => m.email === "newbie@example.com");
    expect(row).toMatchObject({ userId, role: "member" });
    expect(row.permissions).toEqual({ development: "none", ci: "none", staging: "read", production: "none" });
    expect((await h.appdb.users.byId(userId))?.role).toBe("member");
    // Never again: the member list does not hold it.
    const listed = await h.request("GET", members, { token: admin.token });
    expect(JSON.stringify(listed.body)).not.toContain(oneTimePassword);
    // They sign in with it, change it, and read staging only.
    const login = await h.request("POST", "/api/v1/auth/login", {
      body: { email, password: oneTimePassword },
    });
    await h.request("POST", "/api/v1/auth/password", {
      token: login.body.token,
      body: { currentPassword: oneTimePassword, newPassword: "a new and long passphrase" },
    });
    expect((await h.request("GET", `${base}/staging/secrets`, { token: login.body.token })).status).toBe(200);
    expect((await h.request("GET", `${base}/production/secrets`, { token: login.body.token })).status).toBe(
      403,
    );
    await h.ctx.audit.flush();
    const actions = (await h.appdb.audit.list({ actorId: admin.id, limit: 5 })).map((e) => e.action);
    expect(actions.slice(0, 2)).toEqual(["member.add", "user.add"]);
  });

  it("a project owner who is not an instance admin cannot create users (403), and without create an unknown email stays 404; nothing changes", async () => {
    const { h, owner, members } = await setup();
    const created = await h.request("POST", members, {
      token: owner.token,
      body: { email: "ghost@example.com", create: true },
    });
    expect(created.status).toBe(403);
    const plain = await h.request("POST", members, {
      token: owner.token,
      body: { email: "ghost@example.com" },
    });
    expect(plain.status).toBe(404);
    expect(await h.appdb.users.byEmail("ghost@example.com")).toBeUndefined();
  });

  it("an admin's me_ credential cannot create users: creating takes a session", async () => {
    const { h, admin, project, members } = await setup();
    const me = (await h.request("POST", `/api/v1/projects/${project.id}/me`, { token: admin.token })).body
      .token;
    const res = await h.request("POST", members, {
      token: me,
      body: { email: "ghost@example.com", create: true },
    });
    expect(res.status).toBe(403);
    expect(await h.appdb.users.byEmail("ghost@example.com")).toBeUndefined();
  });

  it("creates no user when the grants name an unknown environment", async () => {
    const { h, admin, members } = await setup();
    const res = await h.request("POST", members, {
      token: admin.token,
      body: { email: "ghost@example.com", create: true, permissions: { nowhere: "read" } },
    });
    expect(res.status).toBe(404);
    expect(await h.appdb.users.byEmail("ghost@example.com")).toBeUndefined();
  });

  it("with create, an existing user is just added: no password is made or returned", async () => {
    const { h, owner, members } = await setup();
    const bob = await h.user("bob@example.com");
    const before = (await h.appdb.users.byId(bob.id))!.passwordHash;
    const res = await h.request("POST", members, {
      token: owner.token,
      body: { email: bob.email, create: true, permissions: { ci: "write" } },
    });
    expect(res.status).toBe(201);
    expect(res.body.created).toBeUndefined();
    expect((await h.appdb.users.byId(bob.id))!.passwordHash).toBe(before);
    expect((await h.request("GET", "/api/v1/me", { token: bob.token })).status).toBe(200);
  });
});

describe("a project keeps an owner", () => {
  it("its last owner is neither removed nor made a member (409, nothing changes), and is once there is another owner", async () => {
    const { h, owner, members } = await setup();
    const removed = await h.request("DELETE", `${members}/${owner.id}`, { token: owner.token });
    expect([removed.status, removed.body.error.code]).toEqual([409, "CONFLICT"]);
    expect(removed.body.error.hint).toContain("--role owner");
    const demoted = await h.request("POST", members, {
      token: owner.token,
      body: { email: owner.email, role: "member" },
    });
    expect(demoted.status).toBe(409);
    const listed = await h.request("GET", members, { token: owner.token });
    expect(listed.body.members.map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([
      [owner.email, "owner"],
    ]);

    const second = await h.user("second@example.com");
    await h.request("POST", members, { token: owner.token, body: { email: second.email, role: "owner" } });
    expect((await h.request("DELETE", `${members}/${owner.id}`, { token: owner.token })).status).toBe(200);
    const after = await h.request("GET", members, { token: second.token });
    expect(after.body.members.map((m: { email: string }) => m.email)).toEqual([second.email]);
  });
});
