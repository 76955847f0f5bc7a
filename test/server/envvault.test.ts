/**
 * `.env.vault` files built by the server, opened by the real runtimes (npm
 * dotenv 16.4.7 and 17.4.2) with the server's DOTENV_KEYs, across a rotation.
 */
import { afterEach, beforeEach, describe, expect, it, mock, spyOn } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dotenv17 from "dotenv";
import dotenv16 from "dotenv16";
import { openEnvVault, parse, readEnvVaultSettings } from "../../src/dotenv";
import { projectWith, TRICKY_FILE } from "./fixtures";
import { startHarness } from "./harness";

interface Runtime {
  config(options: {
    path: string;
    DOTENV_KEY?: string;
    processEnv: Record<string, string>;
    quiet?: boolean;
  }): {
    parsed?: Record<string, string>;
    error?: Error;
  };
}
const RUNTIMES = [
  ["dotenv 16.4.7", dotenv16 as unknown as Runtime],
  ["dotenv 17.4.2", dotenv17 as unknown as Runtime],
] as const;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vault-envvault-"));
  spyOn(console, "log").mockImplementation(() => {});
  spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  mock.restore();
  rmSync(dir, { recursive: true, force: true });
});

function open(runtime: Runtime, text: string, dotenvKey: string): Record<string, string> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.env.vault`);
  writeFileSync(path, text);
  const result = runtime.config({ path, DOTENV_KEY: dotenvKey, processEnv: {}, quiet: true });
  if (result.error) throw result.error;
  return result.parsed ?? {};
}

describe(".env.vault and DOTENV_KEY", () => {
  it("builds a file every runtime opens with each environment's key, pointing at this server", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/production/secrets`, {
      token: owner.token,
      body: { dotenv: TRICKY_FILE },
    });
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "DEV_ONLY=1\n" },
    });
    const built = await h.request("GET", `/api/v1/projects/${project.id}/vault`, { token: owner.token });
    expect(built.status).toBe(200);
    expect(built.body.environments).toEqual(["development", "production"]);
    const text = built.body.dotenvVault as string;
    expect(readEnvVaultSettings(text)).toMatchObject({
      DOTENV_VAULT: project.id,
      DOTENV_API_URL: "http://localhost:8750",
    });
    expect(text).toContain("DOTENV_VAULT_PRODUCTION_VERSION=1");

    const keys = await h.request("GET", `/api/v1/projects/${project.id}/keys`, { token: owner.token });
    const keyOf = (env: string) =>
      keys.body.keys.find((k: { environment: string }) => k.environment === env).key as string;
    expect(keyOf("production")).toMatch(
      /^dotenv:\/\/:key_[0-9a-f]{64}@localhost:8750\/vault\/\.env\.vault\?environment=production$/,
    );
    for (const [, runtime] of RUNTIMES) {
      expect(open(runtime, text, keyOf("production"))).toEqual(parse(TRICKY_FILE));
      expect(open(runtime, text, keyOf("development"))).toEqual({ DEV_ONLY: "1" });
    }
    expect(openEnvVault(text, keyOf("production"))).toEqual(parse(TRICKY_FILE));
    expect(text).not.toContain("p@ss w0rd");
  });

  it("rotates with overlap: '<old>,<new>' opens both files, the new key alone fails on the old file", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/production/secrets`, { token: owner.token, body: { dotenv: "V=old\n" } });
    const oldFile = (await h.request("GET", `/api/v1/projects/${project.id}/vault`, { token: owner.token }))
      .body.dotenvVault;
    const rotated = await h.request("POST", `${base}/production/rotate-key`, { token: owner.token });
    expect(rotated.status).toBe(200);
    const { key, previousKey } = rotated.body;
    expect(key).not.toBe(previousKey);
    await h.request("PUT", `${base}/production/secrets`, { token: owner.token, body: { dotenv: "V=new\n" } });
    const newFile = (await h.request("GET", `/api/v1/projects/${project.id}/vault`, { token: owner.token }))
      .body.dotenvVault;
    for (const [, runtime] of RUNTIMES) {
      expect(open(runtime, oldFile, `${previousKey},${key}`)).toEqual({ V: "old" });
      expect(open(runtime, newFile, `${previousKey},${key}`)).toEqual({ V: "new" });
      expect(() => open(runtime, oldFile, key)).toThrow();
    }
    const listed = await h.request("GET", `/api/v1/projects/${project.id}/keys?environment=production`, {
      token: owner.token,
    });
    expect(listed.body.keys).toEqual([{ environment: "production", key }]);

    // A second rotation drops the first key from the keeper.
    const before = (await h.keeper.stats()).values;
    await h.request("POST", `${base}/production/rotate-key`, { token: owner.token });
    expect((await h.keeper.stats()).values).toBe(before);
  });

  it("audits every key fetch and rotation", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("GET", `/api/v1/projects/${project.id}/keys?environment=ci`, { token: owner.token });
    await h.request("POST", `${base}/ci/rotate-key`, { token: owner.token });
    const events = await h.appdb.audit.list({ projectId: project.id, limit: 10 });
    expect(events.map((e) => e.action).slice(0, 2)).toEqual(["dotenv_key.rotate", "dotenv_key.read"]);
  });

  it("gives a read-only member keys and files of what they can read only, and no rotation", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const reader = await h.user("reader@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: reader.email, permissions: { staging: "read" } },
    });
    await h.request("PUT", `${base}/staging/secrets`, { token: owner.token, body: { dotenv: "S=1\n" } });
    await h.request("PUT", `${base}/production/secrets`, { token: owner.token, body: { dotenv: "P=1\n" } });
    const keys = await h.request("GET", `/api/v1/projects/${project.id}/keys`, { token: reader.token });
    expect(keys.body.keys.map((k: { environment: string }) => k.environment)).toEqual(["staging"]);
    const built = await h.request("GET", `/api/v1/projects/${project.id}/vault`, { token: reader.token });
    expect(built.body.environments).toEqual(["staging"]);
    expect(
      (
        await h.request("GET", `/api/v1/projects/${project.id}/keys?environment=production`, {
          token: reader.token,
        })
      ).status,
    ).toBe(403);
    expect((await h.request("POST", `${base}/staging/rotate-key`, { token: reader.token })).status).toBe(403);
  });

  it("only project owners and instance admins rotate a DOTENV_KEY: members with write, write tokens and their me_ credentials are refused on every path", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const writer = await h.user("writer@example.com");
    await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email: writer.email, permissions: { staging: "write" } },
    });
    const writeToken = (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: "deploy", environments: ["staging"], write: true },
      })
    ).body.token;
    const writerMe = (await h.request("POST", `/api/v1/projects/${project.id}/me`, { token: writer.token }))
      .body.token;
    const ownerMe = (await h.request("POST", `/api/v1/projects/${project.id}/me`, { token: owner.token }))
      .body.token;
    const keyBefore = (
      await h.request("GET", `/api/v1/projects/${project.id}/keys?environment=staging`, {
        token: writer.token,
      })
    ).body.keys[0].key;

    for (const token of [writer.token, writeToken]) {
      const res = await h.request("POST", `${base}/staging/rotate-key`, { token });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    const compat = await h.request("POST", "/rotatekey", {
      body: { DOTENV_VAULT: project.id, DOTENV_ME: writerMe, environment: "staging" },
    });
    expect(compat.status).toBe(403);
    // Nothing rotated; reading the key stays as it was, for the member and the write token.
    for (const token of [writer.token, writeToken]) {
      const keys = await h.request("GET", `/api/v1/projects/${project.id}/keys?environment=staging`, {
        token,
      });
      expect(keys.body.keys[0].key).toBe(keyBefore);
    }
    // The owner rotates, through the API and through /rotatekey.
    expect((await h.request("POST", `${base}/staging/rotate-key`, { token: owner.token })).status).toBe(200);
    const byOwner = await h.request("POST", "/rotatekey", {
      body: { DOTENV_VAULT: project.id, DOTENV_ME: ownerMe, environment: "staging" },
    });
    expect(byOwner.status).toBe(200);
  });
});
