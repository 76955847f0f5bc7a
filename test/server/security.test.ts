import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { schema } from "../../src/appdb";
import { VERSION_MAC_LABEL, versionMac } from "../../src/appdb/repos/versions";
import { hkdf32, openDatabase, readKeyFile } from "../../src/db";
import { collectGarbage } from "../../src/server";
import type { KeeperApi } from "../../src/vault";
import { projectWith } from "./fixtures";
import { startHarness } from "./harness";

const SECRET = "s3cr3t-value-0f-a-very-distinctive-kind";
const NAME = "DISTINCTIVE_KEY_NAME_ZQX";

function filesOf(dir: string, prefix: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.startsWith(prefix))
      .map((f) => readFileSync(join(dir, f))),
  );
}

/** Wraps a keeper and records every blob that crosses to it. */
function recording(inner: KeeperApi, seen: Uint8Array[]): KeeperApi {
  return {
    ...inner,
    put: async (blobs) => {
      seen.push(...blobs);
      return inner.put(blobs);
    },
    get: (refs) => inner.get(refs),
    delete: (refs) => inner.delete(refs),
    list: (o) => inner.list(o),
    stats: () => inner.stats(),
    health: () => inner.health(),
    rotate: () => inner.rotate(),
    rotateRoot: () => inner.rotateRoot(),
  };
}

describe("two stores", () => {
  it("app.db holds no value that was pushed, and vault.db holds no key name and no project name", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: `# comment ${SECRET}\n${NAME}=${SECRET}\n` },
    });
    // Open app.db with its key and read every table as text.
    const tables = [
      "users",
      "tokens",
      "projects",
      "environments",
      "memberships",
      "grants",
      "versions",
      "refs",
      "audit",
      "meta",
    ];
    let appText = "";
    for (const table of tables) {
      const rows = await h.appdb.database.client.execute(`SELECT * FROM ${table}`);
      appText += JSON.stringify(rows.rows, (_k, v) =>
        v instanceof ArrayBuffer ? Buffer.from(v).toString("latin1") : v,
      );
    }
    expect(appText).toContain(NAME);
    expect(appText).not.toContain(SECRET);
    expect(appText).toContain("shop");

    // Open vault.db with its own at-rest key and read every table as text.
    const rootKey = readKeyFile(join(h.dir, "keeper", "root.key"), "root key");
    const vault = await openDatabase({
      location: join(h.dir, "keeper", "vault.db"),
      atRestKey: hkdf32(rootKey, "vault/v1/at-rest"),
      label: "vault.db",
    });
    let vaultText = "";
    const names = await vault.client.execute("SELECT name FROM sqlite_master WHERE type = 'table'");
    for (const { name } of names.rows) {
      const rows = await vault.client.execute(`SELECT * FROM "${String(name)}"`);
      vaultText += JSON.stringify(rows.rows, (_k, v) =>
        v instanceof ArrayBuffer ? Buffer.from(v).toString("latin1") : v,
      );
    }
    vault.close();
    expect(vaultText.length).toBeGreaterThan(100);
    for (const needle of [NAME, "shop", "development", SECRET, "owner@example.com"])
      expect(vaultText).not.toContain(needle);
    const raw = filesOf(join(h.dir, "keeper"), "vault.db");
    expect(raw.includes(Buffer.from(NAME))).toBe(false);
    expect(raw.includes(Buffer.from("shop"))).toBe(false);
    expect(raw.includes(Buffer.from(SECRET))).toBe(false);
    const appRaw = filesOf(join(h.dir, "app"), "app.db");
    expect(appRaw.includes(Buffer.from(NAME))).toBe(false);
  });

  it("the keeper never receives a plaintext value, and its blobs opened with its own keys are still ciphertext", async () => {
    const seen: Uint8Array[] = [];
    const h = await startHarness({ keeper: (k) => recording(k, seen) });
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: `${NAME}=${SECRET}\n` },
    });
    expect(seen.length).toBeGreaterThan(0);
    for (const blob of seen) {
      expect(Buffer.from(blob).includes(Buffer.from(SECRET))).toBe(false);
      expect(blob[0]).toBe(0x01);
    }
    // What the keeper returns (its own seal opened) is the app's envelope, not the value.
    const projectId = (await h.appdb.projects.all())[0]!.id;
    const env = (await h.appdb.projects.environments(projectId)).find((e) => e.name === "development")!;
    const { entries } = (await h.appdb.versions.get(projectId, env.id, 1))!;
    const [opened] = await h.keeper.get([Buffer.from(entries[0]![1], "hex")]);
    expect(Buffer.from(opened!).includes(Buffer.from(SECRET))).toBe(false);
    expect(opened!.length).toBe(1 + 4 + 12 + SECRET.length + 16);
  });

  it("a ref moved to another name in app.db fails with an integrity error instead of returning the other value", async () => {
    const h = await startHarness({ cacheTtlMs: 0 });
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "PUBLIC=harmless\nPRIVATE=topsecret\n" },
    });
    const env = (await h.appdb.projects.environment(project.id, "development"))!;
    const { entries } = (await h.appdb.versions.get(project.id, env.id, 1))!;
    const swapped = entries.map(([name], i) => [name, entries[(i + 1) % entries.length]![1]] as const);
    // The version's MAC would refuse this first; recompute it (as only app.key can) to reach the binding.
    const row = (
      await h.appdb.orm.select().from(schema.versions).where(eq(schema.versions.environmentId, env.id))
    )[0]!;
    const macKey = hkdf32(readKeyFile(join(h.dir, "app", "app.key"), "app key"), VERSION_MAC_LABEL);
    await h.appdb.orm
      .update(schema.versions)
      .set({
        entries: JSON.stringify(swapped),
        mac: versionMac(macKey, { ...row, projectId: project.id, entries: swapped }),
      })
      .where(eq(schema.versions.environmentId, env.id));
    const pull = await h.request("GET", `${base}/development/secrets?format=json&key=PUBLIC`, {
      token: owner.token,
    });
    expect(pull.status).toBe(500);
    expect(pull.body.error.code).toBe("INTEGRITY");
    expect(JSON.stringify(pull.body)).not.toContain("topsecret");
    // Refused by the value's binding: the version itself passed its MAC.
    expect(h.logs.some((line) => line.includes("a version failed its integrity check"))).toBe(false);
  });
});

describe("cross-store writes", () => {
  it("a crash between the keeper write and the app commit leaves no name without a value, and gc removes the orphans only", async () => {
    let failCommit = false;
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "KEEP=1\n" },
    });
    const realCommit = h.appdb.versions.commit;
    h.appdb.versions.commit = async (v) => {
      if (failCommit) throw new Error("injected crash before the app commit");
      return realCommit(v);
    };
    const realDelete = h.keeper.delete;
    h.keeper.delete = async () => 0; // the process dies before it can clean up
    failCommit = true;
    const res = await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "KEEP=1\nNEW=orphan\n" },
    });
    expect(res.status).toBe(500);
    failCommit = false;
    h.keeper.delete = realDelete;

    // Every name still points at a value.
    const pull = await h.request("GET", `${base}/development/secrets?format=json`, { token: owner.token });
    expect(pull.body).toMatchObject({ version: 1, values: { KEEP: "1" } });
    const statsBefore = await h.keeper.stats();

    // Within the grace period nothing is collected; after it, only the orphans are.
    const early = await collectGarbage({
      appdb: h.appdb,
      keeper: h.keeper,
      now: Date.now,
      graceMs: 3_600_000,
    });
    expect(early.removed).toBe(0);
    const late = await collectGarbage({
      appdb: h.appdb,
      keeper: h.keeper,
      now: () => Date.now() + 7_200_000,
      graceMs: 3_600_000,
    });
    expect(late.removed).toBe(2); // the new value and the new layout
    expect((await h.keeper.stats()).values).toBe(statsBefore.values - 2);
    const after = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(after.body.dotenv).toBe("KEEP=1\n");
    void project;
  });
});

describe("concurrency", () => {
  it("50 concurrent pushes make 50 consecutive versions, each readable and equal to what was pushed", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    const files = Array.from({ length: 50 }, (_, i) => `N=${i}\nSHARED=same\nX${i}=only-in-${i}\n`);
    const results = await Promise.all(
      files.map((dotenv) =>
        h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv } }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const versions = results.map((r) => r.body.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const [i, r] of results.entries()) {
      const pull = await h.request("GET", `${base}/development/secrets?version=${r.body.version}`, {
        token: owner.token,
      });
      expect(pull.body.dotenv).toBe(files[i]);
    }
  });

  it("concurrent pushes with the same stale baseVersion: one wins, the rest get 409 and change nothing", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=0\n" } });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.request("PUT", `${base}/development/secrets`, {
          token: owner.token,
          body: { dotenv: `A=${i + 1}\n`, baseVersion: 1 },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    const pull = await h.request("GET", `${base}/development/versions`, { token: owner.token });
    expect(pull.body.head).toBe(2);
  });
});
