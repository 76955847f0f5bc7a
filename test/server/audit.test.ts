import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { asc, eq, gte } from "drizzle-orm";
import { AuditIntegrityError, GENESIS, hashEvent, openAppDb, schema } from "../../src/appdb";
import { projectWith } from "./fixtures";
import { startHarness } from "./harness";

describe("audit", () => {
  it("records every read and write of values, logins and failed logins, without values", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("POST", "/api/v1/auth/login", {
      body: { email: "owner@example.com", password: "wrong password!" },
    });
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "SECRET_NAME=value-never-logged\n" },
    });
    await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    await h.request("GET", `${base}/development/secrets?format=json`, { token: owner.token });
    const rows = await h.appdb.audit.list({ limit: 100 });
    const actions = rows.map((r) => r.action).reverse();
    expect(actions).toEqual([
      "user.add",
      "auth.login",
      "project.create",
      "auth.login_failed",
      "secrets.push",
      "secrets.read",
      "secrets.read",
    ]);
    expect(rows.every((r) => r.projectId === null || r.projectId === project.id)).toBe(true);
    expect(JSON.stringify(rows)).not.toContain("value-never-logged");
  });

  it("stores an event carrying ill-formed Unicode well-formed: it reads back, and the chain verifies", async () => {
    const h = await startHarness();
    await projectWith(h);
    // A lone surrogate in what an event records (here the label of a direct append, as an email would be).
    await h.appdb.audit.append(
      [
        {
          at: Date.now(),
          action: "auth.login_failed",
          actorKind: "anonymous",
          actorId: null,
          actorLabel: "mallory\ud800@example.com",
          projectId: null,
          environmentId: null,
          detail: JSON.stringify({ reason: "unknown user", note: "\udfff" }),
          ip: "127.0.0.1\udc00",
        },
      ],
      Date.now(),
    );
    const [last] = await h.appdb.audit.list({ limit: 1 });
    expect(last!.actorLabel).toBe("mallory\ufffd@example.com");
    expect(last!.ip).toBe("127.0.0.1\ufffd");
    expect(await h.appdb.audit.verify()).toMatchObject({ ok: true });
    // And through the API: a failed sign-in with such an email is refused, audited or not, never a crash.
    const res = await h.request("POST", "/api/v1/auth/login", {
      body: { email: "eve\ud800@example.com", password: "whatever password" },
    });
    expect(res.status).toBeLessThan(500);
    expect(await h.appdb.audit.verify()).toMatchObject({ ok: true });
  });

  it("answers a read only once its audit event is committed", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    const before = (await h.appdb.audit.head()).seq;
    await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect((await h.appdb.audit.head()).seq).toBe(before + 1);
  });

  it("groups concurrent events into few commits and keeps the chain intact", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    let commits = 0;
    const append = h.appdb.audit.append;
    h.appdb.audit.append = async (events, at) => {
      commits++;
      return append(events, at);
    };
    await Promise.all(
      Array.from({ length: 40 }, () =>
        h.request("GET", `${base}/development/secrets`, { token: owner.token }),
      ),
    );
    expect(commits).toBeLessThan(40);
    expect(await h.appdb.audit.verify()).toMatchObject({ ok: true });
  });

  it("verify names an edited, a deleted and an inserted row", async () => {
    for (const tamper of ["edit", "delete", "insert", "truncate"] as const) {
      const h = await startHarness();
      const { owner, base } = await projectWith(h);
      for (let i = 0; i < 3; i++) {
        await h.request("PUT", `${base}/development/secrets`, {
          token: owner.token,
          body: { dotenv: `A=${i}\n` },
        });
      }
      await h.ctx.audit.flush();
      expect(await h.appdb.audit.verify()).toMatchObject({ ok: true });
      const db = h.appdb.orm;
      const rows = await h.appdb.audit.list({ limit: 100 });
      const last = rows[0]!.seq;
      if (tamper === "edit")
        await db.update(schema.audit).set({ action: "secrets.read" }).where(eq(schema.audit.seq, 3));
      if (tamper === "delete") await db.delete(schema.audit).where(eq(schema.audit.seq, 3));
      if (tamper === "truncate") await db.delete(schema.audit).where(eq(schema.audit.seq, last));
      if (tamper === "insert") {
        const row = rows.find((r) => r.seq === 3)!;
        await db
          .update(schema.audit)
          .set({ seq: last + 100 })
          .where(eq(schema.audit.seq, last));
        await db.insert(schema.audit).values({ ...row, seq: last, action: "forged" });
      }
      const result = await h.appdb.audit.verify();
      expect(result.ok).toBe(false);
      if (!result.ok) {
        const expected = { edit: 3, delete: 3, truncate: last, insert: last }[tamper];
        expect(result.seq).toBe(expected);
        expect(result.problem).toContain(String(expected));
      }
    }
  });

  it("a me_ credential, even an instance admin's, lists only its own project's events: never another project's nor the instance's", async () => {
    const h = await startHarness();
    const admin = await h.user("admin@example.com", "admin");
    const create = async (name: string) =>
      (await h.request("POST", "/api/v1/projects", { token: admin.token, body: { name } })).body.id as string;
    const mine = await create("mine");
    const other = await create("other");
    const me = (await h.request("POST", `/api/v1/projects/${mine}/me`, { token: admin.token })).body.token;
    // The admin's session reads the whole log (instance events too).
    const all = await h.request("GET", "/api/v1/audit", { token: admin.token });
    expect(all.status).toBe(200);
    expect(all.body.events.some((e: { projectId: string | null }) => e.projectId === null)).toBe(true);

    const whole = await h.request("GET", "/api/v1/audit", { token: me });
    expect(whole.status).toBe(403);
    expect(whole.body.error.hint).toContain(mine);
    expect((await h.request("GET", `/api/v1/audit?project=${other}`, { token: me })).status).toBe(404);
    expect((await h.request("GET", "/api/v1/audit/verify", { token: me })).status).toBe(403);
    const own = await h.request("GET", `/api/v1/audit?project=${mine}`, { token: me });
    expect(own.status).toBe(200);
    expect(own.body.events.length).toBeGreaterThan(0);
    expect(own.body.events.every((e: { projectId: string }) => e.projectId === mine)).toBe(true);
  });

  it("deleting an audit row and recomputing the chain with SHA-256 fails verify", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    for (let i = 0; i < 4; i++)
      await h.request("PUT", `${base}/development/secrets`, {
        token: owner.token,
        body: { dotenv: `A=${i}\n` },
      });
    await h.ctx.audit.flush();
    expect(await h.appdb.audit.verify()).toMatchObject({ ok: true });
    const db = h.appdb.orm;
    // The forger removes row 3, renumbers the rest and recomputes every hash after it, and the head,
    // the way the chain was computed before it was keyed.
    await db.delete(schema.audit).where(eq(schema.audit.seq, 3));
    const rest = await db
      .select()
      .from(schema.audit)
      .where(gte(schema.audit.seq, 4))
      .orderBy(asc(schema.audit.seq));
    const [before] = await db.select().from(schema.audit).where(eq(schema.audit.seq, 2));
    let prevHash = before!.hash;
    for (const row of rest) {
      const seq = row.seq - 1;
      const hash = hashEvent(seq, prevHash, row);
      await db.update(schema.audit).set({ seq, prevHash, hash }).where(eq(schema.audit.seq, row.seq));
      prevHash = hash;
    }
    await db
      .update(schema.meta)
      .set({ value: JSON.stringify({ seq: rest.at(-1)!.seq - 1, hash: prevHash }) })
      .where(eq(schema.meta.key, "audit_head"));
    const result = await h.appdb.audit.verify();
    expect(result).toMatchObject({ ok: false, seq: 3, problem: "row 3 was edited" });
  });

  it("removing the last rows and moving the head back fails verify, even with a head copied from an earlier row", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await h.ctx.audit.flush();
    const db = h.appdb.orm;
    const [head] = await db.select().from(schema.meta).where(eq(schema.meta.key, "audit_head"));
    const last = JSON.parse(head!.value).seq as number;
    await db.delete(schema.audit).where(eq(schema.audit.seq, last));
    const [kept] = await db
      .select()
      .from(schema.audit)
      .where(eq(schema.audit.seq, last - 1));
    // The head as it would be after row last-1, with the MAC the real head carried (the forger has no other).
    const forged = { ...JSON.parse(head!.value), seq: last - 1, hash: kept!.hash };
    await db
      .update(schema.meta)
      .set({ value: JSON.stringify(forged) })
      .where(eq(schema.meta.key, "audit_head"));
    const result = await h.appdb.audit.verify();
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ seq: last, problem: expect.stringContaining("head") });
    // A restarted app does not append after that head (which would make the removal look like history).
    const restarted = await openAppDb({
      appDb: join(h.dir, "app", "app.db"),
      appKeyFile: join(h.dir, "app", "app.key"),
      appDbAuthTokenFile: undefined,
    });
    try {
      const e = { ...kept!, at: Date.now(), action: "auth.login" };
      await expect(restarted.audit.append([e], Date.now())).rejects.toBeInstanceOf(AuditIntegrityError);
      expect((await restarted.audit.verify()).ok).toBe(false);
    } finally {
      restarted.close();
    }
  });

  it("a deleted or moved audit anchor fails verify", async () => {
    for (const tamper of ["delete", "move"] as const) {
      const h = await startHarness();
      const { owner, base } = await projectWith(h);
      await h.request("PUT", `${base}/development/secrets`, {
        token: owner.token,
        body: { dotenv: "A=1\n" },
      });
      await h.ctx.audit.flush();
      expect(await h.appdb.audit.verify()).toMatchObject({ ok: true });
      const db = h.appdb.orm;
      const where = eq(schema.meta.key, "audit_anchor");
      if (tamper === "delete") await db.delete(schema.meta).where(where);
      else {
        // Pass every row off as written before the keying, to recompute them all with SHA-256.
        const [anchor] = await db.select().from(schema.meta).where(where);
        const moved = { ...JSON.parse(anchor!.value), from: 1_000, prev: GENESIS };
        await db
          .update(schema.meta)
          .set({ value: JSON.stringify(moved) })
          .where(where);
      }
      const result = await h.appdb.audit.verify();
      expect(result.ok).toBe(false);
      expect(result).toMatchObject({ problem: expect.stringContaining("anchor") });
    }
  });

  it("serves the log to instance admins and project owners, filtered", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const member = await h.user("member@example.com");
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    const mine = await h.request("GET", `/api/v1/audit?project=${project.id}&action=secrets.push`, {
      token: owner.token,
    });
    expect(mine.status).toBe(200);
    expect(mine.body.events.map((e: { action: string }) => e.action)).toEqual(["secrets.push"]);
    expect((await h.request("GET", "/api/v1/audit", { token: owner.token })).status).toBe(403);
    expect(
      (await h.request("GET", `/api/v1/audit?project=${project.id}`, { token: member.token })).status,
    ).toBe(404);
  });

  it("names each event's environment and project, the user it is about, and an actor recorded without a label", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const bob = await h.user("bob@example.com");
    await h.request("PUT", `${base}/staging/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: bob.email, permissions: { staging: "read" } },
    });
    await h.request("PUT", `/api/v1/projects/${project.id}/members/${bob.id}/permissions`, {
      token: owner.token,
      body: { permissions: { production: "read" } },
    });
    await h.request("POST", `/api/v1/projects/${project.id}/environments`, {
      token: owner.token,
      body: { name: "qa" },
    });
    await h.request("DELETE", `/api/v1/projects/${project.id}/environments/qa`, {
      token: owner.token,
      body: { confirm: "qa" },
    });
    await h.ctx.audit.flush();
    // An actor recorded without a label (as an older row may be): the label is looked up.
    const push = (await h.appdb.audit.list({ action: "secrets.push", limit: 1 }))[0]!;
    await h.appdb.orm.update(schema.audit).set({ actorLabel: null }).where(eq(schema.audit.seq, push.seq));
    const res = await h.request("GET", `/api/v1/audit?project=${project.id}`, { token: owner.token });
    expect(res.status).toBe(200);
    const events = res.body.events as {
      action: string;
      actor: { label: string };
      project: string | null;
      environment: string | null;
      subject: string | null;
    }[];
    const of = (action: string) => events.find((e) => e.action === action)!;
    expect(of("secrets.push")).toMatchObject({
      project: "shop",
      environment: "staging",
      actor: { label: "owner@example.com" },
      subject: null,
    });
    expect(of("member.grant")).toMatchObject({ subject: "bob@example.com", environment: null });
    expect(of("environment.add")).toMatchObject({ environment: "(removed)" });
    expect(events.every((e) => e.project === "shop")).toBe(true);
  });
});
