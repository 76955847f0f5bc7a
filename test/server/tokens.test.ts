import { describe, expect, it } from "bun:test";
import { projectWith } from "./fixtures";
import { startHarness } from "./harness";

describe("service tokens", () => {
  it("record when they were last used, at most once a minute each, without a write per request", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/ci/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    const created = await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
      token: owner.token,
      body: { name: "ci", environments: ["ci"] },
    });
    const lastUsed = async () => {
      await h.ctx.usage.flush();
      const list = await h.request("GET", `/api/v1/projects/${project.id}/tokens`, { token: owner.token });
      return list.body.tokens[0].lastUsedAt as number | null;
    };
    expect(await lastUsed()).toBeNull();
    let writes = 0;
    const touchMany = h.appdb.tokens.touchMany;
    // Sessions record their use too (the account page shows it): count the writes of this token only.
    h.appdb.tokens.touchMany = async (entries) => {
      if (entries.some(([id]) => id === created.body.id)) writes++;
      return touchMany(entries);
    };
    const pull = () => h.request("GET", `${base}/ci/secrets`, { token: created.body.token });

    const first = h.clock.now();
    const answers = await Promise.all(Array.from({ length: 20 }, pull));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await lastUsed()).toBe(first);
    expect(writes).toBe(1);

    h.clock.advance(30_000);
    expect((await pull()).status).toBe(200);
    expect(await lastUsed()).toBe(first);
    expect(writes).toBe(1);

    h.clock.advance(31_000);
    expect((await pull()).status).toBe(200);
    expect(await lastUsed()).toBe(first + 61_000);
    expect(writes).toBe(2);
  });

  it("do not list the project's members (a read-only CI token sees no email)", async () => {
    const h = await startHarness();
    const { owner, project } = await projectWith(h);
    const bob = await h.user("bob@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: bob.email, permissions: { ci: "read" } },
    });
    for (const write of [false, true]) {
      const created = await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: `ci-${write}`, environments: ["ci"], write },
      });
      const res = await h.request("GET", `/api/v1/projects/${project.id}/members`, {
        token: created.body.token,
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
      expect(JSON.stringify(res.body)).not.toContain("@example.com");
    }
    // A member still sees the team.
    const asMember = await h.request("GET", `/api/v1/projects/${project.id}/members`, { token: bob.token });
    expect(asMember.body.members.map((m: { email: string }) => m.email).sort()).toEqual([
      "bob@example.com",
      "owner@example.com",
    ]);
  });
});
