import { describe, expect, it } from "bun:test";
import { createUserService } from "../../src/server";
import { login } from "../../src/server/modules/auth/service";
import { projectWith } from "./fixtures";
import { type Harness, PASSWORD, startHarness } from "./harness";

/** A browser's sign-in through the web form: the CSRF cookie and token, then the POST. */
async function webSignIn(h: Harness, email: string, password: string) {
  const form = await h.app.handle(new Request("http://localhost/signin"));
  const cookie = form.headers.getSetCookie()[0]!.split(";")[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  return h.app.handle(
    new Request("http://localhost/signin", {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, email, password, next: "/" }).toString(),
    }),
  );
}

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

  it("50 parallel wrong passwords lock the account (each failure is counted, none is lost to a race)", async () => {
    const h = await startHarness();
    await h.user("mallet@example.com");
    // The review's repro: 50 guesses at once (from 50 addresses, so that no address limit interferes).
    const answers = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        login(h.ctx, { email: "mallet@example.com", password: `guess number ${i}`, ip: `10.0.0.${i}` }),
      ),
    );
    const codes = answers.map((a) => (a.status === "rejected" ? (a.reason as { code: string }).code : "OK"));
    expect(codes.filter((c) => c === "INVALID_CREDENTIALS").length).toBe(4);
    expect(codes.filter((c) => c === "ACCOUNT_LOCKED").length).toBe(46);
    const row = await h.appdb.users.byEmail("mallet@example.com");
    expect(row!.lockedUntil).toBe(h.clock.now() + 15 * 60_000);
    await h.ctx.audit.flush();
    const lockouts = await h.appdb.audit.list({ action: "auth.lockout", limit: 10 });
    expect(lockouts).toHaveLength(1);
    const right = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "mallet@example.com", password: PASSWORD },
    });
    expect(right.status).toBe(423);
  });

  it("rate limits /signin per address like the API login, from the same budget", async () => {
    const h = await startHarness();
    for (let i = 0; i < 10; i++)
      expect((await webSignIn(h, "ghost@example.com", "not it at all")).status).toBe(401);
    const limited = await webSignIn(h, "ghost@example.com", "not it at all");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(await limited.text()).toContain("too many requests");
    // The API login from the same address draws on the same budget.
    const api = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "ghost@example.com", password: "not it at all" },
    });
    expect(api.status).toBe(429);
    // Another address is not affected; and the budget refills with time.
    await expect(
      login(h.ctx, { email: "ghost@example.com", password: "not it at all", ip: "192.0.2.7" }),
    ).rejects.toMatchObject({ code: "INVALID_CREDENTIALS" });
    h.clock.advance(1_000);
    expect((await webSignIn(h, "ghost@example.com", "not it at all")).status).toBe(401);
  });

  it("counts a wrong current password on a password change toward the same lockout", async () => {
    const h = await startHarness();
    const gus = await h.user("gus@example.com");
    const change = (currentPassword: string) =>
      h.request("POST", "/api/v1/auth/password", {
        token: gus.token,
        body: { currentPassword, newPassword: "a brand new passphrase" },
      });
    // Two failed sign-ins and three wrong current passwords: five failures of one account.
    for (let i = 0; i < 2; i++) {
      const res = await h.request("POST", "/api/v1/auth/login", {
        body: { email: "gus@example.com", password: "wrong password!" },
      });
      expect(res.status).toBe(401);
    }
    for (let i = 0; i < 2; i++) expect((await change("not my password")).status).toBe(401);
    const fifth = await change("not my password");
    expect(fifth.status).toBe(423);
    expect(fifth.body.error.code).toBe("ACCOUNT_LOCKED");
    // Locked: neither a sign-in nor a change with the right password gets through until the lock ends.
    expect(
      (
        await h.request("POST", "/api/v1/auth/login", {
          body: { email: "gus@example.com", password: PASSWORD },
        })
      ).status,
    ).toBe(423);
    expect((await change(PASSWORD)).status).toBe(423);
    await h.ctx.audit.flush();
    const failed = await h.appdb.audit.list({ action: "auth.password_failed", limit: 10 });
    expect(failed.map((e) => JSON.parse(e.detail!).reason)).toEqual([
      "locked",
      "current password",
      "current password",
      "current password",
    ]);
    h.clock.advance(15 * 60_000 + 1);
    expect((await change(PASSWORD)).status).toBe(200);
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

  it("a changed password revokes the user's other sessions and me_ credentials, keeping the one that changed it", async () => {
    const h = await startHarness();
    const { owner, project } = await projectWith(h);
    const other = await h.request("POST", "/api/v1/auth/login", {
      body: { email: owner.email, password: PASSWORD },
    });
    const me = await h.request("POST", `/api/v1/projects/${project.id}/me`, { token: owner.token });
    const service = await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
      token: owner.token,
      body: { name: "ci", environments: ["ci"] },
    });
    for (const token of [other.body.token, me.body.token, service.body.token])
      expect((await h.request("GET", "/api/v1/me", { token })).status).toBe(200);

    const changed = await h.request("POST", "/api/v1/auth/password", {
      token: owner.token,
      body: { currentPassword: PASSWORD, newPassword: "a brand new passphrase" },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.revoked).toBe(2);
    expect((await h.request("GET", "/api/v1/me", { token: owner.token })).status).toBe(200);
    expect((await h.request("GET", "/api/v1/me", { token: other.body.token })).status).toBe(401);
    expect((await h.request("GET", "/api/v1/me", { token: me.body.token })).status).toBe(401);
    // A service token belongs to its project: it stays.
    expect((await h.request("GET", "/api/v1/me", { token: service.body.token })).status).toBe(200);
    await h.ctx.audit.flush();
    const [event] = await h.appdb.audit.list({ action: "auth.password_changed", limit: 1 });
    expect(JSON.parse(event!.detail!)).toEqual({ revoked: 2 });
  });

  it("disabling a user suspends the service tokens they created, read and write alike; others' tokens keep working", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const hal = await h.user("hal@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: hal.email, role: "owner" },
    });
    const make = async (token: string, name: string, write: boolean) =>
      (
        await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
          token,
          body: { name, environments: ["development"], write },
        })
      ).body.token as string;
    const halRead = await make(hal.token, "hal-read", false);
    const halWrite = await make(hal.token, "hal-write", true);
    const ownerRead = await make(owner.token, "owner-read", false);
    const pull = (token: string) => h.request("GET", `${base}/development/secrets`, { token });
    const push = (token: string) =>
      h.request("PUT", `${base}/development/secrets`, { token, body: { dotenv: "A=1\n" } });
    expect((await push(halWrite)).status).toBe(200);
    expect((await pull(halRead)).status).toBe(200);

    await createUserService({
      appdb: h.appdb,
      audit: h.ctx.audit,
      now: h.clock.now,
      random: h.ctx.random,
    }).disable(hal.email);
    expect((await pull(halRead)).status).toBe(401);
    expect((await pull(halWrite)).status).toBe(401);
    expect((await push(halWrite)).status).toBe(401);
    expect((await pull(ownerRead)).status).toBe(200);
    const list = await h.request("GET", `/api/v1/projects/${project.id}/tokens`, { token: owner.token });
    const status = Object.fromEntries(
      list.body.tokens.map((t: { name: string; status: string }) => [t.name, t.status]),
    );
    expect(status).toEqual({ "hal-read": "suspended", "hal-write": "suspended", "owner-read": "active" });
  });

  it("stores passwords as argon2id hashes", async () => {
    const h = await startHarness();
    await h.user("fay@example.com");
    const row = await h.appdb.users.byEmail("fay@example.com");
    expect(row?.passwordHash.startsWith("$argon2id$")).toBe(true);
    expect(row?.passwordHash).not.toContain(PASSWORD);
  });
});
