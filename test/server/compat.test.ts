/**
 * The dotenv-vault protocol in process: field spellings, answer shapes, the
 * error shape, special cases, and that a `me_` credential reaches only its
 * own project. (The real CLI is driven against the compiled binary in
 * test/e2e.)
 */
import { describe, expect, it } from "bun:test";
import { openEnvVault, readEnvVaultSettings } from "../../src/dotenv";
import { projectWith } from "./fixtures";
import { type Harness, startHarness } from "./harness";

async function meFor(h: Harness, token: string, projectId: string): Promise<string> {
  return (await h.request("POST", `/api/v1/projects/${projectId}/me`, { token })).body.token;
}

describe("dotenv-vault protocol", () => {
  it("pushes, pulls (also name@N and name@vN), builds, lists keys, rotates, lists versions and says who", async () => {
    const h = await startHarness();
    const { owner, project } = await projectWith(h);
    const me = await meFor(h, owner.token, project.id);
    const push = await h.request("POST", "/push", {
      body: { environment: null, projectUid: project.id, meUid: me, dotenv: "# dev\nA=1\n" },
    });
    expect(push.status).toBe(200);
    expect(push.body.data).toMatchObject({ environment: "development", envName: ".env" });
    expect(readEnvVaultSettings(push.body.data.dotenvVault)).toMatchObject({
      DOTENV_VAULT: project.id,
      DOTENV_API_URL: "http://localhost:8750",
    });
    await h.request("POST", "/push", {
      body: { environment: "production", DOTENV_VAULT: project.id, DOTENV_ME: me, dotenv: "P=1\n" },
    });
    await h.request("POST", "/push", {
      body: { environment: "development", projectUid: project.id, meUid: me, dotenv: "A=2\n" },
    });

    const pull = await h.request("POST", "/pull", { body: { DOTENV_VAULT: project.id, DOTENV_ME: me } });
    expect(pull.body.data).toMatchObject({ environment: "development", envName: ".env", dotenv: "A=2\n" });
    for (const env of ["development@1", "development@v1"]) {
      const old = await h.request("POST", "/pull", {
        body: { environment: env, DOTENV_VAULT: project.id, DOTENV_ME: me },
      });
      expect(old.body.data.dotenv).toBe("# dev\nA=1\n");
    }
    const prod = await h.request("POST", "/pull", {
      body: { environment: "production", DOTENV_VAULT: project.id, DOTENV_ME: me },
    });
    expect(prod.body.data).toMatchObject({
      environment: "production",
      envName: ".env.production",
      dotenv: "P=1\n",
    });

    const build = await h.request("POST", "/build", { body: { DOTENV_VAULT: project.id, DOTENV_ME: me } });
    expect(build.body.data.envName).toBe(".env.vault");
    const keys = await h.request("POST", "/keys", {
      body: { DOTENV_VAULT: project.id, DOTENV_ME: me, environment: "production" },
    });
    expect(keys.body.data.keys).toHaveLength(1);
    expect(openEnvVault(build.body.data.dotenv, keys.body.data.keys[0].key)).toEqual({ P: "1" });
    const all = await h.request("POST", "/keys", { body: { DOTENV_VAULT: project.id, DOTENV_ME: me } });
    expect(all.body.data.keys.map((k: { environment: string }) => k.environment)).toEqual([
      "development",
      "ci",
      "staging",
      "production",
    ]);

    const rotated = await h.request("POST", "/rotatekey", {
      body: { DOTENV_VAULT: project.id, DOTENV_ME: me, environment: "production" },
    });
    expect(rotated.body.data.PREVIOUS_DOTENV_KEY).toBe(keys.body.data.keys[0].key);
    expect(rotated.body.data.DOTENV_KEY).not.toBe(keys.body.data.keys[0].key);

    const versions = await h.request("POST", "/versions", {
      body: { environment: null, projectUid: project.id, meUid: me },
    });
    expect(versions.body.data.environment).toBe("development");
    expect(versions.body.data.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.body.data.versions[0]).toMatchObject({ change: "changed A", by: "owner@example.com" });
    const empty = await h.request("POST", "/versions", {
      body: { environment: "ci", projectUid: project.id, meUid: me },
    });
    expect(empty.body.data.versions.length).toBe(1);

    const who = await h.request("POST", "/whoami", { body: { DOTENV_ME: me, DOTENV_VAULT: project.id } });
    expect(who.body.data).toEqual({ email: "owner@example.com" });
  });

  it("answers failures in the protocol's error shape with a 4xx", async () => {
    const h = await startHarness();
    const { owner, project } = await projectWith(h);
    const me = await meFor(h, owner.token, project.id);
    const big = "x".repeat(2 * 1024 * 1024 + 10);
    const cases = [
      ["/push", {}],
      ["/push", { projectUid: project.id, meUid: me }],
      ["/push", { projectUid: 42, meUid: me, dotenv: "A=1" }],
      ["/push", { projectUid: project.id, meUid: `me_${"0".repeat(64)}`, dotenv: "A=1" }],
      ["/push", { projectUid: `vlt_${"0".repeat(64)}`, meUid: me, dotenv: "A=1" }],
      ["/push", { projectUid: project.id, meUid: me, dotenv: `A=${big}` }],
      ["/pull", { DOTENV_VAULT: project.id, DOTENV_ME: me, environment: "nope" }],
      ["/pull", { DOTENV_VAULT: project.id, DOTENV_ME: me, environment: "development@99" }],
      ["/pull", { DOTENV_VAULT: project.id, DOTENV_ME: me, environment: ["x"] }],
      ["/rotatekey", { DOTENV_VAULT: project.id, DOTENV_ME: me }],
      ["/keys", { DOTENV_VAULT: "vlt_short", DOTENV_ME: me }],
      ["/whoami", { DOTENV_ME: "garbage", DOTENV_VAULT: project.id }],
      ["/vault", { requestUid: "req_bad" }],
      ["/vault", { requestUid: `req_${"a".repeat(64)}` }],
    ] as const;
    for (const [path, body] of cases) {
      const res = await h.request("POST", path, { body });
      expect({ path, body: Object.keys(body), ok: res.status >= 400 && res.status < 500 }).toMatchObject({
        ok: true,
      });
      expect(res.body.errors[0].code).toMatch(/^[A-Z_]+$/);
      expect(typeof res.body.errors[0].message).toBe("string");
      expect(Array.isArray(res.body.errors[0].suggestions)).toBe(true);
    }
    const garbage = await h.request("POST", "/push", { raw: "not json" });
    expect(garbage.status).toBe(400);
  });

  it("lets a me_ credential reach only its own project", async () => {
    const h = await startHarness();
    const { owner, project } = await projectWith(h);
    const other = (
      await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "other" } })
    ).body;
    const meOther = await meFor(h, owner.token, other.id);
    for (const verb of ["/pull", "/push", "/build", "/keys", "/versions", "/whoami"]) {
      const res = await h.request("POST", verb, {
        body: { DOTENV_VAULT: project.id, DOTENV_ME: meOther, dotenv: "A=1\n", environment: "development" },
      });
      expect(res.status).toBe(404);
      expect(res.body.errors[0].code).toBe("PROJECT_NOT_FOUND");
    }
    // Nor does a me_ credential reach the native API of another project.
    const native = await h.request("GET", `/api/v1/projects/${project.id}`, { token: meOther });
    expect(native.status).toBe(404);
  });

  it("pulls the example environment without a credential, and only that", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const none = await h.request("POST", "/pull", {
      body: { DOTENV_VAULT: project.id, environment: "example" },
    });
    expect(none.body.data).toEqual({ environment: "example", envName: ".env.example", dotenv: "" });
    await h.request("POST", `/api/v1/projects/${project.id}/environments`, {
      token: owner.token,
      body: { name: "example" },
    });
    await h.request("PUT", `${base}/example/secrets`, {
      token: owner.token,
      body: { dotenv: "API_URL=\nDEBUG=\n" },
    });
    const some = await h.request("POST", "/pull", {
      body: { DOTENV_VAULT: project.id, environment: "example" },
    });
    expect(some.body.data.dotenv).toBe("API_URL=\nDEBUG=\n");
    const denied = await h.request("POST", "/pull", {
      body: { DOTENV_VAULT: project.id, environment: "development" },
    });
    expect(denied.status).toBe(400);
  });

  it("records where a hand-off request came from at its first /check or /vault poll, and no later poll changes it", async () => {
    const h = await startHarness();
    const { project } = await projectWith(h);
    const login = `req_${"1".repeat(64)}`;
    const fresh = `req_${"2".repeat(64)}`;
    const poll = (path: string, body: object, userAgent: string) =>
      h.request("POST", path, { body, headers: { "user-agent": userAgent } });
    expect((await poll("/check", { vaultUid: project.id, requestUid: login }, "axios/0.27.2")).status).toBe(
      404,
    );
    expect((await poll("/vault", { requestUid: fresh }, "axios/0.27.2")).status).toBe(404);
    h.clock.advance(5_000);
    await poll("/check", { vaultUid: project.id, requestUid: login }, "other/1");
    await poll("/vault", { requestUid: fresh }, "other/1");
    for (const id of [login, fresh]) {
      expect(await h.appdb.handoffs.origin(id)).toEqual({
        requestId: id,
        seenAt: Date.UTC(2030, 0, 1),
        ip: null,
        userAgent: "axios/0.27.2",
      });
    }
    // A malformed poll records nothing (and is refused as before).
    expect(
      (await poll("/check", { vaultUid: "vlt_bad", requestUid: `req_${"3".repeat(64)}` }, "x")).status,
    ).toBe(400);
    expect((await poll("/vault", { requestUid: "req_bad" }, "x")).status).toBe(400);
    expect(await h.appdb.handoffs.origin(`req_${"3".repeat(64)}`)).toBeUndefined();
  });
});
