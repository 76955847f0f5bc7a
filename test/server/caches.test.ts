import { describe, expect, it } from "bun:test";
import { createAccessCache } from "../../src/server/auth/access";
import { createCredentialCache } from "../../src/server/auth/caller";
import { createSnapshotCache } from "../../src/server/snapshot-cache";
import { projectWith } from "./fixtures";
import { startHarness } from "./harness";

const snap = (n: number) => ({
  values: new Map([["A", "x".repeat(n)]]),
  layout: new Uint8Array(10),
  entries: [["A", "00"]] as [string, string][],
  resolves: false,
});

describe("snapshot cache", () => {
  it("forgets an entry once it has not been used for the TTL", () => {
    let t = 0;
    const cache = createSnapshotCache({ ttlMs: 1000, maxBytes: 1 << 20, now: () => t });
    cache.put("env_a", 1, snap(10));
    t = 900;
    expect(cache.get("env_a", 1)).toBeDefined();
    t = 1800;
    expect(cache.get("env_a", 1)).toBeDefined();
    t = 2801;
    expect(cache.get("env_a", 1)).toBeUndefined();
  });

  it("stays within its byte bound, evicting the least recently used", () => {
    const cache = createSnapshotCache({ ttlMs: 60_000, maxBytes: 40_000, now: () => 0 });
    for (let v = 1; v <= 10; v++) cache.put("env_a", v, snap(1000));
    expect(cache.size().bytes).toBeLessThanOrEqual(40_000);
    expect(cache.get("env_a", 10)).toBeDefined();
    expect(cache.get("env_a", 1)).toBeUndefined();
  });

  it("keeps only the newest version of an environment once a push supersedes the others", () => {
    const cache = createSnapshotCache({ ttlMs: 60_000, maxBytes: 1 << 20, now: () => 0 });
    cache.put("env_a", 1, snap(10));
    cache.put("env_a", 2, snap(10));
    cache.put("env_b", 1, snap(10));
    cache.put("env_a", 3, snap(10), { latest: true });
    expect(cache.get("env_a", 1)).toBeUndefined();
    expect(cache.get("env_a", 2)).toBeUndefined();
    expect(cache.get("env_a", 3)).toBeDefined();
    expect(cache.get("env_b", 1)).toBeDefined();
    expect(cache.size().entries).toBe(2);
  });

  it("keeps nothing with a TTL of zero, and forgets an environment on demand", () => {
    const off = createSnapshotCache({ ttlMs: 0, maxBytes: 1 << 20, now: () => 0 });
    off.put("env_a", 1, snap(1));
    expect(off.get("env_a", 1)).toBeUndefined();
    const on = createSnapshotCache({ ttlMs: 1000, maxBytes: 1 << 20, now: () => 0 });
    on.put("env_a", 1, snap(1));
    on.put("env_b", 1, snap(1));
    on.forget("env_a");
    expect(on.get("env_a", 1)).toBeUndefined();
    expect(on.get("env_b", 1)).toBeDefined();
  });

  it("serves a pull right after a push without asking the keeper", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    let gets = 0;
    const get = h.keeper.get;
    h.keeper.get = async (refs) => {
      gets++;
      return get(refs);
    };
    const pull = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(pull.body.dotenv).toBe("A=1\n");
    expect(gets).toBe(0);
  });
});

describe("credential cache", () => {
  it("expires entries after its TTL", () => {
    let t = 0;
    const cache = createCredentialCache(() => t, 100);
    cache.put("h", { token: {} as never, user: undefined });
    t = 50;
    expect(cache.get("h")).toBeDefined();
    t = 101;
    expect(cache.get("h")).toBeUndefined();
  });

  it("refuses a revoked service token at once, though it was used a moment before", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const svc = (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: "ci", environments: ["ci"] },
      })
    ).body;
    expect((await h.request("GET", `${base}/ci/secrets`, { token: svc.token })).status).toBe(200);
    await h.request("DELETE", `/api/v1/projects/${project.id}/tokens/${svc.id}`, { token: owner.token });
    expect((await h.request("GET", `${base}/ci/secrets`, { token: svc.token })).status).toBe(401);
  });
});

describe("access cache", () => {
  it("moves a cached environment's head forward, never back", () => {
    const cache = createAccessCache(() => 0);
    const env = { id: "env_a", head: 3 } as never as { id: string; head: number };
    cache.put("tok:prj", { environments: [env] } as never);
    cache.moved("env_a", 5);
    expect(env.head).toBe(5);
    cache.moved("env_a", 4);
    expect(env.head).toBe(5);
    cache.moved("env_b", 9);
    expect(env.head).toBe(5);
  });

  it("a push keeps the caller's credential and access decisions, and the next pull sees the new version", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    let decisions = 0;
    const byId = h.appdb.projects.byId;
    h.appdb.projects.byId = async (id) => {
      decisions++;
      return byId(id);
    };
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=2\n" } });
    const pull = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(pull.body).toMatchObject({ version: 2, dotenv: "A=2\n" });
    expect(decisions).toBe(0);
  });
});
