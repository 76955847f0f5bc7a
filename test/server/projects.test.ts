import { describe, expect, it } from "bun:test";
import { startHarness } from "./harness";

describe("projects", () => {
  it("creates a project with the four default environments, development the main one", async () => {
    const h = await startHarness();
    const alice = await h.user("alice@example.com");
    const res = await h.request("POST", "/api/v1/projects", { token: alice.token, body: { name: "shop" } });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^vlt_[0-9a-f]{64}$/);
    expect(res.body.environments.map((e: { name: string }) => e.name)).toEqual([
      "development",
      "ci",
      "staging",
      "production",
    ]);
    expect(res.body.environments.find((e: { main: boolean }) => e.main).name).toBe("development");
    expect(res.body.canManage).toBe(true);
  });

  it("lists only what the caller may see: a new member sees nothing until granted", async () => {
    const h = await startHarness();
    const owner = await h.user("owner@example.com");
    const member = await h.user("member@example.com");
    const p = (await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "shop" } }))
      .body;
    await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "other" } });

    await h.request("POST", `/api/v1/projects/${p.id}/members`, {
      token: owner.token,
      body: { email: "member@example.com" },
    });
    expect((await h.request("GET", "/api/v1/projects", { token: member.token })).body.projects).toEqual([]);
    expect((await h.request("GET", `/api/v1/projects/${p.id}`, { token: member.token })).status).toBe(404);

    await h.request("PUT", `/api/v1/projects/${p.id}/members/${member.id}/permissions`, {
      token: owner.token,
      body: { permissions: { staging: "read" } },
    });
    const list = (await h.request("GET", "/api/v1/projects", { token: member.token })).body.projects;
    expect(list.map((x: { name: string }) => x.name)).toEqual(["shop"]);
    const detail = (await h.request("GET", `/api/v1/projects/${p.id}`, { token: member.token })).body;
    expect(
      Object.fromEntries(
        detail.environments.map((e: { name: string; permission: string }) => [e.name, e.permission]),
      ),
    ).toEqual({
      development: "none",
      ci: "none",
      staging: "read",
      production: "none",
    });
  });

  it("renames, and deletes only with the exact name as confirmation", async () => {
    const h = await startHarness();
    const owner = await h.user("owner@example.com");
    const p = (await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "shop" } }))
      .body;
    const renamed = await h.request("PATCH", `/api/v1/projects/${p.id}`, {
      token: owner.token,
      body: { name: "store" },
    });
    expect(renamed.body.name).toBe("store");
    const wrong = await h.request("DELETE", `/api/v1/projects/${p.id}`, {
      token: owner.token,
      body: { confirm: "shop" },
    });
    expect(wrong.status).toBe(400);
    expect((await h.request("GET", `/api/v1/projects/${p.id}`, { token: owner.token })).status).toBe(200);
    const gone = await h.request("DELETE", `/api/v1/projects/${p.id}`, {
      token: owner.token,
      body: { confirm: "store" },
    });
    expect(gone.status).toBe(200);
    expect((await h.request("GET", `/api/v1/projects/${p.id}`, { token: owner.token })).status).toBe(404);
  });

  it("adds and removes custom environments, refusing bad names and the main environment", async () => {
    const h = await startHarness();
    const owner = await h.user("owner@example.com");
    const p = (await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "shop" } }))
      .body;
    const added = await h.request("POST", `/api/v1/projects/${p.id}/environments`, {
      token: owner.token,
      body: { name: "staging_eu" },
    });
    expect(added.status).toBe(201);
    expect(added.body.environments.map((e: { name: string }) => e.name)).toContain("staging_eu");
    for (const name of ["Staging", "1abc", "a".repeat(33), "with-dash", "", "../x"]) {
      const bad = await h.request("POST", `/api/v1/projects/${p.id}/environments`, {
        token: owner.token,
        body: { name },
      });
      expect(bad.status).toBe(400);
    }
    const dup = await h.request("POST", `/api/v1/projects/${p.id}/environments`, {
      token: owner.token,
      body: { name: "ci" },
    });
    expect(dup.status).toBe(409);
    const main = await h.request("DELETE", `/api/v1/projects/${p.id}/environments/development`, {
      token: owner.token,
      body: { confirm: "development" },
    });
    expect(main.status).toBe(400);
    const removed = await h.request("DELETE", `/api/v1/projects/${p.id}/environments/staging_eu`, {
      token: owner.token,
      body: { confirm: "staging_eu" },
    });
    expect(removed.status).toBe(200);
    expect(removed.body.environments.map((e: { name: string }) => e.name)).not.toContain("staging_eu");
  });

  it("gives each environment its own DOTENV_KEY, sealed in the keeper", async () => {
    const h = await startHarness();
    const owner = await h.user("owner@example.com");
    const p = (await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "shop" } }))
      .body;
    const envs = await h.appdb.projects.environments(p.id);
    const refs = envs.map((e) => e.dotenvKeyRef!);
    expect(new Set(refs.map((r) => Buffer.from(r).toString("hex"))).size).toBe(4);
    const blobs = await h.keeper.get(refs);
    expect(blobs.every((b) => b !== null && b.length === 1 + 4 + 12 + 32 + 16)).toBe(true);
  });
});
