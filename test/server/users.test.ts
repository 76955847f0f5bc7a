/**
 * The users API (/api/v1/users) and the rules of user management, which the
 * host's operator (`vault admin`, the service without an actor) shares.
 */
import { describe, expect, it } from "bun:test";
import { createUserService } from "../../src/server";
import { projectWith } from "./fixtures";
import { type Harness, PASSWORD, startHarness } from "./harness";

async function instance() {
  const h = await startHarness();
  const owner = await h.user("owner@example.com", "owner");
  const admin = await h.user("admin@example.com", "admin");
  const member = await h.user("member@example.com", "member");
  return { h, owner, admin, member };
}

/** The code of the ApiError a call fails with (undefined when it succeeds). */
const refusal = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );

const operator = (h: Harness) =>
  createUserService({ appdb: h.appdb, audit: h.ctx.audit, now: h.clock.now, random: h.ctx.random });

const signIn = (h: Harness, email: string, password: string) =>
  h.request("POST", "/api/v1/auth/login", { body: { email, password } });

describe("users API", () => {
  it("serves instance owners and admins signed in, and refuses members, me_ credentials, service tokens (403) and the signed out (401)", async () => {
    const { h, owner, admin, member } = await instance();
    for (const who of [owner, admin]) {
      const res = await h.request("GET", "/api/v1/users", { token: who.token });
      expect(res.status).toBe(200);
      expect(res.body.users.map((u: { email: string }) => u.email).sort()).toEqual([
        "admin@example.com",
        "member@example.com",
        "owner@example.com",
      ]);
      expect(JSON.stringify(res.body)).not.toContain("argon2");
    }
    const { project } = await projectWith(h, "maker@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: admin.email },
    });
    const adminMe = (await h.request("POST", `/api/v1/projects/${project.id}/me`, { token: admin.token }))
      .body.token;
    const service = (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: "ci", environments: ["ci"] },
      })
    ).body.token;
    const calls = (token?: string) => [
      h.request("GET", "/api/v1/users", { token }),
      h.request("POST", "/api/v1/users", { token, body: { email: "new@example.com" } }),
      h.request("POST", `/api/v1/users/${member.id}/disable`, { token }),
      h.request("POST", `/api/v1/users/${member.id}/reset-password`, { token }),
      h.request("PUT", `/api/v1/users/${member.id}/role`, { token, body: { role: "admin" } }),
    ];
    for (const token of [member.token, adminMe, service]) {
      for (const res of await Promise.all(calls(token))) {
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("FORBIDDEN");
      }
    }
    for (const res of await Promise.all(calls(undefined))) expect(res.status).toBe(401);
    // Nothing changed.
    expect(await h.appdb.users.byEmail("new@example.com")).toBeUndefined();
    const still = await h.appdb.users.byId(member.id);
    expect([still?.role, still?.disabledAt, still?.mustChangePassword]).toEqual(["member", null, false]);
  });

  it("adds a user with a one-time password shown once, never listed, that must be changed at first sign-in", async () => {
    const { h, admin } = await instance();
    const added = await h.request("POST", "/api/v1/users", {
      token: admin.token,
      body: { email: " New@Example.com ", role: "member" },
    });
    expect(added.status).toBe(201);
    expect(added.body.user).toMatchObject({
      email: "new@example.com",
      role: "member",
      status: "must change password",
    });
    const oneTime = added.body.oneTimePassword as string;
    expect(oneTime).toMatch(/^[A-Za-z0-9]{20}$/);
    const list = await h.request("GET", "/api/v1/users", { token: admin.token });
    expect(JSON.stringify(list.body)).not.toContain(oneTime);
    const login = await signIn(h, "new@example.com", oneTime);
    expect(login.body.user.mustChangePassword).toBe(true);
    expect((await h.request("GET", "/api/v1/projects", { token: login.body.token })).status).toBe(403);
    // An email taken, or not an email, changes nothing.
    const again = await h.request("POST", "/api/v1/users", {
      token: admin.token,
      body: { email: "new@example.com" },
    });
    expect(again.status).toBe(409);
    const bad = await h.request("POST", "/api/v1/users", {
      token: admin.token,
      body: { email: "not an email" },
    });
    expect(bad.status).toBe(400);
    expect((await h.appdb.users.list()).length).toBe(4);
  });

  it("lets only an owner make an owner or touch one: an admin cannot add, promote, disable, reset or demote an owner", async () => {
    const { h, owner, admin, member } = await instance();
    const second = await h.user("second@example.com", "owner");
    const refused = [
      await h.request("POST", "/api/v1/users", {
        token: admin.token,
        body: { email: "o@example.com", role: "owner" },
      }),
      await h.request("PUT", `/api/v1/users/${member.id}/role`, {
        token: admin.token,
        body: { role: "owner" },
      }),
      await h.request("POST", `/api/v1/users/${second.id}/disable`, { token: admin.token }),
      await h.request("POST", `/api/v1/users/${second.id}/reset-password`, { token: admin.token }),
      await h.request("PUT", `/api/v1/users/${second.id}/role`, {
        token: admin.token,
        body: { role: "member" },
      }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(403);
      expect(res.body.error.message).toContain("owner");
    }
    expect(await h.appdb.users.byEmail("o@example.com")).toBeUndefined();
    expect((await h.appdb.users.byId(member.id))?.role).toBe("member");
    expect((await h.request("GET", "/api/v1/me", { token: second.token })).status).toBe(200);
    // An admin manages members and admins.
    const promoted = await h.request("PUT", `/api/v1/users/${member.id}/role`, {
      token: admin.token,
      body: { role: "admin" },
    });
    expect(promoted.body.user.role).toBe("admin");
    // An owner does all of it.
    const made = await h.request("PUT", `/api/v1/users/${member.id}/role`, {
      token: owner.token,
      body: { role: "owner" },
    });
    expect(made.body.user.role).toBe("owner");
    const demoted = await h.request("PUT", `/api/v1/users/${second.id}/role`, {
      token: owner.token,
      body: { role: "member" },
    });
    expect(demoted.body.user.role).toBe("member");
  });

  it("lets nobody disable, reset or change the role of their own account", async () => {
    const { h, owner, admin } = await instance();
    await h.user("second@example.com", "owner");
    for (const who of [owner, admin]) {
      const calls = [
        await h.request("POST", `/api/v1/users/${who.id}/disable`, { token: who.token }),
        await h.request("POST", `/api/v1/users/${who.id}/reset-password`, { token: who.token }),
        await h.request("PUT", `/api/v1/users/${who.id}/role`, {
          token: who.token,
          body: { role: "member" },
        }),
      ];
      for (const res of calls) {
        expect(res.status).toBe(403);
        expect(res.body.error.message).toContain("your own account");
      }
      expect((await h.request("GET", "/api/v1/users", { token: who.token })).status).toBe(200);
    }
  });

  it("keeps the last active owner: neither the API nor the host's operator disables or demotes them, until there is another", async () => {
    const { h, owner } = await instance();
    const solo = await h.appdb.users.byId(owner.id);
    for (const attempt of [
      () => operator(h).disable(owner.email),
      () => operator(h).setRole(owner.email, "admin"),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe("CONFLICT");
      expect((error as Error).message).toContain("last active owner");
    }
    expect(await h.appdb.users.byId(owner.id)).toEqual(solo);
    expect((await h.request("GET", "/api/v1/me", { token: owner.token })).status).toBe(200);
    // A disabled owner does not count as one.
    const other = await h.user("other@example.com", "owner");
    await operator(h).disable(other.email);
    expect(await refusal(operator(h).setRole(owner.email, "member"))).toBe("CONFLICT");
    // With a second active owner, the first may go.
    const second = await h.user("second@example.com", "owner");
    const demoted = await h.request("PUT", `/api/v1/users/${owner.id}/role`, {
      token: second.token,
      body: { role: "admin" },
    });
    expect(demoted.status).toBe(200);
    const last = await h.request("POST", `/api/v1/users/${second.id}/disable`, { token: owner.token });
    expect(last.status).toBe(403); // an admin now: cannot touch the owner
    expect(await refusal(operator(h).disable(second.email))).toBe("CONFLICT");
  });

  it("two owners demoting each other at once leave one owner (the check and the change are one statement)", async () => {
    const { h, owner } = await instance();
    const second = await h.user("second@example.com", "owner");
    const [a, b] = await Promise.all([
      h.request("PUT", `/api/v1/users/${second.id}/role`, { token: owner.token, body: { role: "member" } }),
      h.request("PUT", `/api/v1/users/${owner.id}/role`, { token: second.token, body: { role: "member" } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const owners = (await h.appdb.users.list()).filter((u) => u.role === "owner" && u.disabledAt === null);
    expect(owners.length).toBe(1);
  });

  it("disables a user: signed out everywhere at once, their password refused, shown as disabled", async () => {
    const { h, admin, member } = await instance();
    const res = await h.request("POST", `/api/v1/users/${member.id}/disable`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body.user.status).toBe("disabled");
    expect((await h.request("GET", "/api/v1/me", { token: member.token })).status).toBe(401);
    expect((await signIn(h, member.email, PASSWORD)).status).toBe(401);
  });

  it("enables a disabled user again: they sign in, their old sessions stay revoked, their service tokens work again, and it is audited", async () => {
    const { h, owner, admin, member } = await instance();
    const { owner: maker, project, base } = await projectWith(h, "maker@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: maker.token,
      body: { email: member.email, role: "owner" },
    });
    const ci = (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: member.token,
        body: { name: "ci", environments: ["development"] },
      })
    ).body.token as string;
    const pull = () => h.request("GET", `${base}/development/secrets`, { token: ci });
    expect((await pull()).status).toBe(200);
    await h.request("POST", `/api/v1/users/${member.id}/disable`, { token: admin.token });
    expect((await pull()).status).toBe(401);

    // Nobody enables themselves (a disabled user has no session anyway), and an admin does not enable an owner.
    const ownerUser = await h.request("POST", `/api/v1/users/${owner.id}/enable`, { token: admin.token });
    expect([ownerUser.status, ownerUser.body.error.code]).toEqual([403, "FORBIDDEN"]);
    const self = await h.request("POST", `/api/v1/users/${admin.id}/enable`, { token: admin.token });
    expect(self.status).toBe(403);

    const res = await h.request("POST", `/api/v1/users/${member.id}/enable`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body.user.status).toBe("active");
    expect((await pull()).status).toBe(200);
    expect((await h.request("GET", "/api/v1/me", { token: member.token })).status).toBe(401);
    expect((await signIn(h, member.email, PASSWORD)).status).toBe(200);
    // Enabling an active user changes nothing and records nothing.
    expect(
      (await h.request("POST", `/api/v1/users/${member.id}/enable`, { token: admin.token })).status,
    ).toBe(200);
    await h.ctx.audit.flush();
    const events = await h.appdb.audit.list({ action: "user.enable", limit: 10 });
    expect(events.length).toBe(1);
    expect(events[0]!.actorLabel).toBe(admin.email);
    expect(JSON.parse(events[0]!.detail!).email).toBe(member.email);
  });

  it("resets a password: a one-time password shown once, the lockout cleared, every session revoked, the old password refused", async () => {
    const { h, admin, member } = await instance();
    for (let i = 0; i < 5; i++) await signIn(h, member.email, "wrong password here");
    expect((await signIn(h, member.email, PASSWORD)).status).toBe(423);
    const res = await h.request("POST", `/api/v1/users/${member.id}/reset-password`, { token: admin.token });
    expect(res.status).toBe(200);
    h.clock.advance(30_000); // the sign-in rate limit's budget, not the lockout (which the reset cleared)
    const oneTime = res.body.oneTimePassword as string;
    expect(oneTime).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(res.body.user.status).toBe("must change password");
    expect((await h.request("GET", "/api/v1/me", { token: member.token })).status).toBe(401);
    expect((await signIn(h, member.email, PASSWORD)).status).toBe(401);
    expect((await signIn(h, member.email, oneTime)).body.user.mustChangePassword).toBe(true);
    const list = await h.request("GET", "/api/v1/users", { token: admin.token });
    expect(JSON.stringify(list.body)).not.toContain(oneTime);
  });

  it("applies a role change at once: a demoted admin's next request is refused", async () => {
    const { h, owner, admin } = await instance();
    expect((await h.request("GET", "/api/v1/users", { token: admin.token })).status).toBe(200);
    await h.request("PUT", `/api/v1/users/${admin.id}/role`, {
      token: owner.token,
      body: { role: "member" },
    });
    expect((await h.request("GET", "/api/v1/users", { token: admin.token })).status).toBe(403);
  });

  it("audits each change with the acting admin, their address and the user it is about, never a password", async () => {
    const { h, admin, member } = await instance();
    const added = await h.request("POST", "/api/v1/users", {
      token: admin.token,
      body: { email: "n@example.com" },
    });
    const reset = await h.request("POST", `/api/v1/users/${member.id}/reset-password`, {
      token: admin.token,
    });
    await h.request("PUT", `/api/v1/users/${member.id}/role`, {
      token: admin.token,
      body: { role: "admin" },
    });
    await h.request("POST", `/api/v1/users/${member.id}/disable`, { token: admin.token });
    await h.ctx.audit.flush();
    const events = (await h.appdb.audit.list({ actorId: admin.id, limit: 10 })).filter((e) =>
      e.action.startsWith("user."),
    );
    expect(events.map((e) => e.action).reverse()).toEqual([
      "user.add",
      "user.reset_password",
      "user.role",
      "user.disable",
    ]);
    for (const e of events) expect(e.actorLabel).toBe(admin.email);
    expect(JSON.parse(events[1]!.detail!)).toEqual({
      email: member.email,
      userId: member.id,
      role: "admin",
      previous: "member",
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain(added.body.oneTimePassword);
    expect(text).not.toContain(reset.body.oneTimePassword);
    // The audit API names the user an event is about.
    const api = await h.request("GET", "/api/v1/audit?action=user.disable", { token: admin.token });
    expect(api.body.events[0].subject).toBe(member.email);
  });

  it("answers an unknown user 404 and a bad role or id 400, changing nothing", async () => {
    const { h, owner } = await instance();
    const missing = `usr_${"0".repeat(24)}`;
    expect((await h.request("POST", `/api/v1/users/${missing}/disable`, { token: owner.token })).status).toBe(
      404,
    );
    expect(
      (
        await h.request("PUT", `/api/v1/users/${missing}/role`, {
          token: owner.token,
          body: { role: "admin" },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await h.request("PUT", `/api/v1/users/${owner.id}/role`, {
          token: owner.token,
          body: { role: "root" },
        })
      ).status,
    ).toBe(400);
    expect(
      (await h.request("POST", "/api/v1/users/owner@example.com/disable", { token: owner.token })).status,
    ).toBe(400);
  });
});
