/** The signed-in user's own sessions and me_ credentials: /api/v1/me/sessions. */
import { describe, expect, it } from "bun:test";
import { SESSION_TTL_MS } from "../../src/server/modules/auth/service";
import { projectWith } from "./fixtures";
import { PASSWORD, startHarness } from "./harness";

async function setup() {
  const h = await startHarness();
  const { owner, project } = await projectWith(h);
  h.clock.advance(1_000);
  const laptop = (
    await h.request("POST", "/api/v1/auth/login", { body: { email: owner.email, password: PASSWORD } })
  ).body.token as string;
  h.clock.advance(1_000);
  const me = (await h.request("POST", `/api/v1/projects/${project.id}/me`, { token: owner.token })).body;
  return { h, owner, project, laptop, me: me as { id: string; token: string } };
}

describe("sessions API", () => {
  it("lists the user's own live sessions and me_ credentials, newest first, with created, last used and expiry, the current one marked, and never a token or hash", async () => {
    const { h, owner, project, laptop, me } = await setup();
    const bob = await h.user("bob@example.com");
    h.clock.advance(5_000);
    await h.request("GET", "/api/v1/me", { token: laptop });
    await h.ctx.usage.flush();
    const res = await h.request("GET", "/api/v1/me/sessions", { token: owner.token });
    expect(res.status).toBe(200);
    const sessions = res.body.sessions as { kind: string; current: boolean; [k: string]: unknown }[];
    expect(sessions.map((s) => s.kind)).toEqual(["me", "session", "session"]);
    expect(sessions[0]).toMatchObject({
      id: me.id,
      project: { id: project.id, name: "shop" },
      expiresAt: null,
    });
    expect(sessions.map((s) => s.current)).toEqual([false, false, true]);
    const start = Date.UTC(2030, 0, 1);
    expect(sessions[1]).toMatchObject({
      createdAt: start + 1_000,
      expiresAt: start + 1_000 + SESSION_TTL_MS,
    });
    expect(sessions[1]!.lastUsedAt).toBe(start + 7_000);
    const text = JSON.stringify(res.body);
    for (const secret of [owner.token, laptop, me.token, bob.token]) expect(text).not.toContain(secret);
    const hashes = await Promise.all(
      sessions.map(async (s) => (await h.appdb.tokens.byId(s.id as string))!.hash),
    );
    for (const hash of hashes) expect(text).not.toContain(hash);
    expect(text).not.toContain(bob.id);
  });

  it("leaves out revoked and expired credentials", async () => {
    const { h, owner, laptop } = await setup();
    await h.request("POST", "/api/v1/auth/logout", { token: laptop });
    h.clock.advance(SESSION_TTL_MS - 2_000);
    const fresh = (
      await h.request("POST", "/api/v1/auth/login", { body: { email: owner.email, password: PASSWORD } })
    ).body.token;
    h.clock.advance(2_001); // the first session expired, the me_ credential does not
    const res = await h.request("GET", "/api/v1/me/sessions", { token: fresh });
    expect(res.body.sessions.map((s: { kind: string; current: boolean }) => [s.kind, s.current])).toEqual([
      ["session", true],
      ["me", false],
    ]);
  });

  it("revokes one at once, audited; revoking the current one signs out", async () => {
    const { h, owner, laptop, me } = await setup();
    const listed = (await h.request("GET", "/api/v1/me/sessions", { token: owner.token })).body.sessions;
    const laptopId = listed.find(
      (s: { kind: string; current: boolean }) => s.kind === "session" && !s.current,
    ).id;
    const res = await h.request("DELETE", `/api/v1/me/sessions/${laptopId}`, { token: owner.token });
    expect(res.body).toEqual({ ok: true, current: false });
    expect((await h.request("GET", "/api/v1/me", { token: laptop })).status).toBe(401);
    expect((await h.request("DELETE", `/api/v1/me/sessions/${me.id}`, { token: owner.token })).status).toBe(
      200,
    );
    expect((await h.request("GET", "/api/v1/me", { token: me.token })).status).toBe(401);
    const current = listed.find((s: { current: boolean }) => s.current).id;
    const out = await h.request("DELETE", `/api/v1/me/sessions/${current}`, { token: owner.token });
    expect(out.body.current).toBe(true);
    expect((await h.request("GET", "/api/v1/me", { token: owner.token })).status).toBe(401);
    await h.ctx.audit.flush();
    const events = await h.appdb.audit.list({ action: "auth.session_revoke", limit: 10 });
    expect(events.map((e) => JSON.parse(e.detail!).kind).reverse()).toEqual(["session", "me", "session"]);
    expect(events.every((e) => e.actorId === owner.id)).toBe(true);
  });

  it("answers another user's session, a service token, an unknown or a revoked one as not found, and revokes nothing", async () => {
    const { h, owner, project, laptop } = await setup();
    const bob = await h.user("bob@example.com");
    const bobs = (await h.request("GET", "/api/v1/me/sessions", { token: bob.token })).body.sessions[0].id;
    const service = (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: "ci", environments: ["ci"] },
      })
    ).body;
    const laptopId = (await h.request("GET", "/api/v1/me/sessions", { token: laptop })).body.sessions.find(
      (s: { current: boolean }) => s.current,
    ).id;
    await h.request("POST", "/api/v1/auth/logout", { token: laptop });
    for (const id of [bobs, service.id, `tok_${"0".repeat(24)}`, laptopId]) {
      const res = await h.request("DELETE", `/api/v1/me/sessions/${id}`, { token: owner.token });
      expect(res.status).toBe(404);
    }
    expect((await h.request("GET", "/api/v1/me", { token: bob.token })).status).toBe(200);
    expect((await h.request("GET", "/api/v1/me", { token: service.token })).status).toBe(200);
    expect((await h.request("DELETE", "/api/v1/me/sessions/not-an-id", { token: owner.token })).status).toBe(
      400,
    );
  });

  it("is for sessions only: a me_ credential and a service token are refused, the signed out unauthenticated", async () => {
    const { h, owner, project, me } = await setup();
    const service = (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: "ci", environments: ["ci"] },
      })
    ).body.token;
    for (const token of [me.token, service]) {
      expect((await h.request("GET", "/api/v1/me/sessions", { token })).status).toBe(403);
      expect((await h.request("DELETE", `/api/v1/me/sessions/${me.id}`, { token })).status).toBe(403);
    }
    expect((await h.request("GET", "/api/v1/me", { token: me.token })).status).toBe(200);
    expect((await h.request("GET", "/api/v1/me/sessions")).status).toBe(401);
  });

  it("works while a one-time password must still be changed (the account page lists them)", async () => {
    const h = await startHarness();
    const admin = await h.user("admin@example.com", "admin");
    const added = await h.request("POST", "/api/v1/users", {
      token: admin.token,
      body: { email: "new@example.com" },
    });
    const login = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "new@example.com", password: added.body.oneTimePassword },
    });
    const res = await h.request("GET", "/api/v1/me/sessions", { token: login.body.token });
    expect(res.status).toBe(200);
    expect(res.body.sessions.length).toBe(1);
  });
});
