import { describe, expect, it } from "bun:test";
import { CRLF_FILE, projectWith, TRICKY_FILE } from "./fixtures";
import { startHarness } from "./harness";

describe("push and pull", () => {
  it("returns a pushed file byte for byte: comments, blank lines, export, every quoting style, multi-line, Unicode", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    for (const [env, file] of [
      ["development", TRICKY_FILE],
      ["staging", CRLF_FILE],
    ] as const) {
      const push = await h.request("PUT", `${base}/${env}/secrets`, {
        token: owner.token,
        body: { dotenv: file },
      });
      expect(push.status).toBe(200);
      expect(push.body.version).toBe(1);
      const pull = await h.request("GET", `${base}/${env}/secrets`, { token: owner.token });
      expect(pull.body.dotenv).toBe(file);
    }
  });

  it("pulls as JSON with dotenv's values", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: TRICKY_FILE },
    });
    const pull = await h.request("GET", `${base}/development/secrets?format=json`, { token: owner.token });
    expect(pull.body.values.DB_PASS).toBe("p@ss w0rd # not a comment");
    expect(pull.body.values.API_KEY).toBe("sk_live_\nline2");
    expect(pull.body.values.MULTI).toBe("first line\nsecond line");
    expect(pull.body.values.INLINE).toBe("value");
    expect(pull.body.values.UNICODE).toBe("héllo wörld ✓ 日本");
  });

  it("keeps every version, pulls any of them, and keeps the ref of an unchanged value", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=1\nB=2\n" },
    });
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=1\nB=3\nC=4\n" },
    });
    const v1 = await h.request("GET", `${base}/development/secrets?version=1`, { token: owner.token });
    expect(v1.body.dotenv).toBe("A=1\nB=2\n");
    const env = (await h.appdb.projects.environment(project.id, "development"))!;
    const e1 = new Map((await h.appdb.versions.get(project.id, env.id, 1))!.entries);
    const e2 = new Map((await h.appdb.versions.get(project.id, env.id, 2))!.entries);
    expect(e2.get("A")).toBe(e1.get("A"));
    expect(e2.get("B")).not.toBe(e1.get("B"));
    const versions = await h.request("GET", `${base}/development/versions`, { token: owner.token });
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.body.versions[0].summary).toEqual({ added: ["C"], changed: ["B"], removed: [] });
    expect(versions.body.versions[0].author).toBe("owner@example.com");
  });

  it("refuses a stale baseVersion with 409 VERSION_CONFLICT and a hint, changing nothing", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=2\n", baseVersion: 1 },
    });
    const stale = await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=3\n", baseVersion: 1 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("VERSION_CONFLICT");
    expect(stale.body.error.hint).toContain("pull");
    const pull = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(pull.body).toMatchObject({ version: 2, dotenv: "A=2\n" });
  });

  it("reads its head from memory, and a stale one (another writer) neither loses a push nor refuses a right base", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    const push = (body: object) =>
      h.request("PUT", `${base}/development/secrets`, { token: owner.token, body });
    await push({ dotenv: "A=1\n" });
    await push({ dotenv: "A=2\n" });
    const env = (await h.appdb.projects.environment(project.id, "development"))!;
    expect(h.ctx.heads.get(env.id)).toBe(2);
    // As if another writer had committed version 2 behind this process's back.
    h.ctx.heads.set(env.id, 1);
    const unbased = await push({ dotenv: "A=3\n" });
    expect([unbased.status, unbased.body.version]).toEqual([200, 3]);
    h.ctx.heads.set(env.id, 1);
    const based = await push({ dotenv: "A=4\n", baseVersion: 3 });
    expect([based.status, based.body.version]).toEqual([200, 4]);
    h.ctx.heads.set(env.id, 1);
    expect((await push({ dotenv: "A=5\n", baseVersion: 3 })).status).toBe(409);
    const versions = await h.request("GET", `${base}/development/versions`, { token: owner.token });
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([4, 3, 2, 1]);
    const pull = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(pull.body).toMatchObject({ version: 4, dotenv: "A=4\n" });
  });

  it("merges only the given keys in merge mode", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "# keep me\nA=1\nB=2\n" },
    });
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "B=20\nC=30\n", merge: true },
    });
    const pull = await h.request("GET", `${base}/development/secrets?format=json`, { token: owner.token });
    expect(pull.body.values).toEqual({ A: "1", B: "20", C: "30" });
    const file = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(file.body.dotenv.startsWith("# keep me\nA=1\n")).toBe(true);
  });

  it("sets and unsets single keys, each call one new version", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=1\nB=2\n" },
    });
    const set = await h.request("PATCH", `${base}/development/secrets`, {
      token: owner.token,
      body: { set: { B: "two words", D: "x\ny" } },
    });
    expect(set.body.version).toBe(2);
    const unset = await h.request("PATCH", `${base}/development/secrets`, {
      token: owner.token,
      body: { unset: ["A"] },
    });
    expect(unset.body.version).toBe(3);
    const pull = await h.request("GET", `${base}/development/secrets?format=json`, { token: owner.token });
    expect(pull.body.values).toEqual({ B: "two words", D: "x\ny" });
    const one = await h.request("GET", `${base}/development/secrets?format=json&key=D`, {
      token: owner.token,
    });
    expect(one.body.values).toEqual({ D: "x\ny" });
    const missing = await h.request("GET", `${base}/development/secrets?format=json&key=NOPE`, {
      token: owner.token,
    });
    expect(missing.status).toBe(404);
  });

  it("sets and unsets in one call as one version, keeping the file's comments", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "# top\nA=1\nB=2\n" },
    });
    const both = await h.request("PATCH", `${base}/development/secrets`, {
      token: owner.token,
      body: { set: { C: "3", A: "10" }, unset: ["B"], baseVersion: 1 },
    });
    expect(both.body).toMatchObject({
      version: 2,
      summary: { added: ["C"], changed: ["A"], removed: ["B"] },
    });
    const pull = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(pull.body.dotenv.startsWith("# top\n")).toBe(true);
    expect(
      (await h.request("GET", `${base}/development/secrets?format=json`, { token: owner.token })).body.values,
    ).toEqual({ A: "10", C: "3" });
  });

  it("rolls back by making a new version equal to an old one", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "# v1\nA=1\n" },
    });
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=2\nB=3\n" },
    });
    const rb = await h.request("POST", `${base}/development/rollback`, {
      token: owner.token,
      body: { version: 1 },
    });
    expect(rb.body.version).toBe(3);
    const pull = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(pull.body).toMatchObject({ version: 3, dotenv: "# v1\nA=1\n" });
    const missing = await h.request("POST", `${base}/development/rollback`, {
      token: owner.token,
      body: { version: 9 },
    });
    expect(missing.status).toBe(404);
  });

  it("diffs versions and environments with values masked unless revealed", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=1\nB=2\nC=3\n" },
    });
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "A=1\nB=22\nD=4\n" },
    });
    const masked = await h.request("GET", `${base}/development/diff?from=1&to=2`, { token: owner.token });
    expect(masked.body).toMatchObject({ added: ["D"], removed: ["C"], changed: ["B"], unchanged: 1 });
    expect(masked.body.values).toBeUndefined();
    expect(JSON.stringify(masked.body)).not.toContain("22");
    const revealed = await h.request("GET", `${base}/development/diff?from=1&to=2&reveal=true`, {
      token: owner.token,
    });
    expect(revealed.body.values.B).toEqual({ from: "2", to: "22" });

    await h.request("PUT", `${base}/staging/secrets`, { token: owner.token, body: { dotenv: "A=1\nB=9\n" } });
    const envs = await h.request("GET", `${base}/development/diff?other=staging`, { token: owner.token });
    expect(envs.body).toMatchObject({ added: [], removed: ["D"], changed: ["B"] });
  });

  it("answers an empty environment with version 0 and an empty file", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    const pull = await h.request("GET", `${base}/ci/secrets`, { token: owner.token });
    expect(pull.body).toMatchObject({ version: 0, dotenv: "" });
  });
});

describe("version integrity", () => {
  const OLD = "old-token-value-8d1f";
  const NEW = "new-token-value-42c7";

  /** Two versions of development where TOKEN changed and OTHER kept its ref; a raw handle on the rows. */
  async function twoVersions() {
    const h = await startHarness({ cacheTtlMs: 0 });
    const { owner, project, base } = await projectWith(h);
    for (const token of [OLD, NEW]) {
      const push = await h.request("PUT", `${base}/development/secrets`, {
        token: owner.token,
        body: { dotenv: `TOKEN=${token}\nOTHER=same\n` },
      });
      expect(push.status).toBe(200);
    }
    const env = (await h.appdb.projects.environment(project.id, "development"))!;
    const sql = h.appdb.database.client;
    const row = async (number: number) =>
      (
        await sql.execute({
          sql: "SELECT entries, mac FROM versions WHERE environment_id = ? AND number = ?",
          args: [env.id, number],
        })
      ).rows[0]!;
    const set = (number: number, column: "entries" | "mac", value: unknown) =>
      sql.execute({
        sql: `UPDATE versions SET ${column} = ? WHERE environment_id = ? AND number = ?`,
        args: [value as string, env.id, number],
      });
    return { h, owner, project, base, env, row, set };
  }

  /** Every way a version is opened, each of which must refuse the tampered head and serve no value. */
  async function expectRefused(h: Awaited<ReturnType<typeof twoVersions>>) {
    const { owner, project, base } = h;
    const requests: [string, string, unknown?][] = [
      ["GET", `${base}/development/secrets`],
      ["GET", `${base}/development/secrets?version=2`],
      ["GET", `${base}/development/secrets?format=json&key=TOKEN`],
      ["GET", `${base}/development/diff?from=1&to=2&reveal=true`],
      ["POST", `${base}/development/rollback`, { version: 1 }],
      ["PATCH", `${base}/development/secrets`, { set: { ADDED: "x" } }],
      ["GET", `/api/v1/projects/${project.id}/vault`],
    ];
    for (const [method, path, body] of requests) {
      const res = await h.h.request(method, path, { token: owner.token, body });
      expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({
        path,
        status: 500,
        code: "INTEGRITY",
      });
      expect(JSON.stringify(res.body)).not.toContain(OLD);
      expect(JSON.stringify(res.body)).not.toContain(NEW);
    }
    expect(h.h.logs.some((l) => l.includes("a version failed its integrity check"))).toBe(true);
    for (const line of h.h.logs) {
      expect(line).not.toContain(OLD);
      expect(line).not.toContain(NEW);
    }
  }

  it("a version whose entries are swapped to an older ref fails to open", async () => {
    const t = await twoVersions();
    const v1 = new Map(JSON.parse(String((await t.row(1)).entries)) as [string, string][]);
    const v2 = JSON.parse(String((await t.row(2)).entries)) as [string, string][];
    // TOKEN's old ref opens under its name (same project, environment and name): only the MAC tells.
    const swapped = v2.map(([name, ref]) => [name, name === "TOKEN" ? v1.get("TOKEN")! : ref]);
    await t.set(2, "entries", JSON.stringify(swapped));
    await expectRefused(t);
    // The untouched version still opens.
    const v1Pull = await t.h.request("GET", `${t.base}/development/secrets?version=1`, {
      token: t.owner.token,
    });
    expect(v1Pull.body.dotenv).toBe(`TOKEN=${OLD}\nOTHER=same\n`);
  });

  it("a version whose MAC was removed fails to open", async () => {
    const t = await twoVersions();
    await t.set(2, "mac", null);
    await expectRefused(t);
  });

  it("a version carrying another version's MAC fails to open", async () => {
    const t = await twoVersions();
    const v1 = await t.row(1);
    await t.set(2, "entries", String(v1.entries));
    await t.set(2, "mac", Buffer.from(v1.mac as ArrayBuffer));
    await expectRefused(t);
  });
});
