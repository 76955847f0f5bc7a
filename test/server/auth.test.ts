import { describe, expect, it } from "bun:test";
import { createUserService } from "../../src/server";
import { PASSWORD, startHarness } from "./harness";

describe("sign-in", () => {
  it("gives an expiring session token for the right password, and 401 for a wrong one", async () => {
    const h = await startHarness();
    const alice = await h.user("alice@example.com");
    const me = await h.request("GET", "/api/v1/me", { token: alice.token });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe("alice@example.com");
    expect(me.body.expiresAt).toBe(h.clock.now() + 12 * 3_600_000);

    const wrong = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "alice@example.com", password: "nope nope nope" },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("INVALID_CREDENTIALS");
    expect(JSON.stringify(wrong.body)).not.toContain("nope");
  });

  it("answers an unknown email exactly like a wrong password", async () => {
    const h = await startHarness();
    const res = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "ghost@example.com", password: PASSWORD },
    });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("INVALID_CREDENTIALS");
  });

  it("expires sessions after their lifetime", async () => {
    const h = await startHarness();
    const alice = await h.user("alice@example.com");
    h.clock.advance(12 * 3_600_000 + 1);
    const res = await h.request("GET", "/api/v1/me", { token: alice.token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("revokes the session on logout", async () => {
    const h = await startHarness();
    const alice = await h.user("alice@example.com");
    expect((await h.request("POST", "/api/v1/auth/logout", { token: alice.token })).status).toBe(200);
    expect((await h.request("GET", "/api/v1/me", { token: alice.token })).status).toBe(401);
  });

  it("treats malformed and unknown tokens as unauthenticated without echoing them", async () => {
    const h = await startHarness();
    for (const token of ["garbage", `vss_${"0".repeat(64)}`, `vst_${"z".repeat(64)}`, "me_123"]) {
      const res = await h.request("GET", "/api/v1/me", { token });
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).not.toContain(token);
    }
  });
});

describe("lockout", () => {
  it("locks the account after 5 failures within 15 minutes, announces it with Retry-After, and unlocks after 15 minutes", async () => {
    const h = await startHarness();
    await h.user("bob@example.com");
    const attempt = (password: string) =>
      h.request("POST", "/api/v1/auth/login", { body: { email: "bob@example.com", password } });
    for (let i = 0; i < 4; i++) expect((await attempt("wrong password!")).status).toBe(401);
    const fifth = await attempt("wrong password!");
    expect(fifth.status).toBe(423);
    expect(fifth.body.error.code).toBe("ACCOUNT_LOCKED");
    expect(fifth.body.error.message).toContain("15 more minutes");
    expect(fifth.headers.get("retry-after")).toBe("900");

    const right = await attempt(PASSWORD);
    expect(right.status).toBe(423);

    h.clock.advance(15 * 60_000 + 1);
    expect((await attempt(PASSWORD)).status).toBe(200);
  });

  it("forgets failures older than the window", async () => {
    const h = await startHarness();
    await h.user("carol@example.com");
    const attempt = (password: string) =>
      h.request("POST", "/api/v1/auth/login", { body: { email: "carol@example.com", password } });
    for (let i = 0; i < 4; i++) await attempt("wrong password!");
    h.clock.advance(16 * 60_000);
    expect((await attempt("wrong password!")).status).toBe(401);
  });
});

describe("users", () => {
  it("makes a one-time password that must be changed before anything else", async () => {
    const h = await startHarness();
    const users = createUserService({
      appdb: h.appdb,
      audit: h.ctx.audit,
      now: h.clock.now,
      random: h.ctx.random,
    });
    const { oneTimePassword } = await users.add({ email: "dan@example.com", role: "member" });
    expect(oneTimePassword).toMatch(/^[A-Za-z0-9]{20}$/);
    const login = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "dan@example.com", password: oneTimePassword },
    });
    expect(login.status).toBe(200);
    expect(login.body.user.mustChangePassword).toBe(true);
    const blocked = await h.request("GET", "/api/v1/projects", { token: login.body.token });
    expect(blocked.status).toBe(403);
    expect(blocked.body.error.code).toBe("PASSWORD_CHANGE_REQUIRED");
    const change = await h.request("POST", "/api/v1/auth/password", {
      token: login.body.token,
      body: { currentPassword: oneTimePassword, newPassword: "a much better passphrase" },
    });
    expect(change.status).toBe(200);
    expect((await h.request("GET", "/api/v1/projects", { token: login.body.token })).status).toBe(200);
  });

  it("signs a disabled user out everywhere and refuses their password", async () => {
    const h = await startHarness();
    const erin = await h.user("erin@example.com");
    const users = createUserService({
      appdb: h.appdb,
      audit: h.ctx.audit,
      now: h.clock.now,
      random: h.ctx.random,
    });
    await users.disable("erin@example.com");
    expect((await h.request("GET", "/api/v1/me", { token: erin.token })).status).toBe(401);
    const again = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "erin@example.com", password: PASSWORD },
    });
    expect(again.status).toBe(401);
  });

  it("stores passwords as argon2id hashes", async () => {
    const h = await startHarness();
    await h.user("fay@example.com");
    const row = await h.appdb.users.byEmail("fay@example.com");
    expect(row?.passwordHash.startsWith("$argon2id$")).toBe(true);
    expect(row?.passwordHash).not.toContain(PASSWORD);
  });
});
