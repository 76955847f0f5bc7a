/**
 * Layers through the API: references between values (resolved on every
 * values read, as written in a pull, checked when written), branch
 * environments, personal overrides and explain, on real libsql files and a
 * real keeper. The security properties are named tests at the end.
 */
import { describe, expect, it } from "bun:test";
import { openEnvVault } from "../../src/dotenv";
import { binding } from "../../src/server/crypto/app-seal";
import { projectWith } from "./fixtures";
import { type Harness, type Json, startHarness } from "./harness";
import { WebBrowser } from "./web-helpers";

async function setup(options: { cacheTtlMs?: number } = {}) {
  const h = await startHarness(options);
  const { owner, project, base } = await projectWith(h);
  const as = (token: string) => ({
    push: (env: string, dotenv: string, extra: object = {}) =>
      h.request("PUT", `${base}/${env}/secrets`, { token, body: { dotenv, ...extra } }),
    set: (env: string, set: Record<string, string>, unset?: string[]) =>
      h.request("PATCH", `${base}/${env}/secrets`, { token, body: { set, ...(unset ? { unset } : {}) } }),
    unset: (env: string, unset: string[]) =>
      h.request("PATCH", `${base}/${env}/secrets`, { token, body: { unset } }),
    values: (env: string, query = "") =>
      h.request("GET", `${base}/${env}/secrets?format=json${query}`, { token }),
    file: (env: string, query = "") =>
      h.request("GET", `${base}/${env}/secrets?format=dotenv${query}`, { token }),
    explain: (env: string, key: string, reveal = false) =>
      h.request("GET", `${base}/${env}/explain?key=${key}${reveal ? "&reveal=true" : ""}`, { token }),
    personal: (env: string, body: { set?: Record<string, string>; unset?: string[] }) =>
      h.request("PATCH", `${base}/${env}/overrides`, { token, body }),
    branch: (name: string, parent: string) =>
      h.request("POST", `/api/v1/projects/${project.id}/environments`, { token, body: { name, parent } }),
    diff: (env: string, other: string) =>
      h.request("GET", `${base}/${env}/diff?other=${other}&reveal=true`, { token }),
    build: () => h.request("GET", `/api/v1/projects/${project.id}/vault`, { token }),
    keys: () => h.request("GET", `/api/v1/projects/${project.id}/keys`, { token }),
    rollback: (env: string, version: number) =>
      h.request("POST", `${base}/${env}/rollback`, { token, body: { version } }),
    versions: (env: string) => h.request("GET", `${base}/${env}/versions`, { token }),
  });
  const member = async (email: string, permissions: Record<string, string>) => {
    const u = await h.user(email);
    const res = await h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email, permissions },
    });
    expect(res.status).toBe(201);
    return u;
  };
  const token = async (environments: string[]) =>
    (
      await h.request("POST", `/api/v1/projects/${project.id}/tokens`, {
        token: owner.token,
        body: { name: `t${environments.join("-")}`, environments },
      })
    ).body.token as string;
  return { h, owner, project, base, as, o: as(owner.token), member, token };
}

const headOf = async (h: Harness, projectId: string, env: string) =>
  (await h.appdb.projects.environment(projectId, env))!.head;

describe("references", () => {
  it("are resolved in values (run, export, get) and kept as written in a pull; a pull with resolve=true resolves the file", async () => {
    const { o } = await setup();
    expect((await o.push("production", "API_HOST=api.example.com\nDB_PASS=s3cret\n")).status).toBe(200);
    const file =
      'URL="https://@{production.API_HOST}/v1"\nDB=postgres://app:@{production.DB_PASS}@@{x}@db/app\n';
    expect((await o.push("staging", file)).status).toBe(200);
    const values = await o.values("staging");
    expect(values.body.values).toEqual({
      URL: "https://api.example.com/v1",
      DB: "postgres://app:s3cret@{x}@db/app",
    });
    expect((await o.file("staging")).body.dotenv).toBe(file);
    const resolved = (await o.file("staging", "&resolve=true")).body.dotenv as string;
    expect(resolved).toContain("api.example.com/v1");
    expect(resolved).not.toContain("@{production");
    // As written on request, too.
    expect((await o.values("staging", "&resolve=false")).body.values.URL).toBe(
      "https://@{production.API_HOST}/v1",
    );
    // One key.
    expect((await o.values("staging", "&key=URL")).body.values).toEqual({
      URL: "https://api.example.com/v1",
    });
  });

  it("a change of the referenced value is seen by the next read, without a new version of the referring environment", async () => {
    const { h, project, o } = await setup();
    await o.push("production", "API_HOST=one\n");
    await o.push("staging", "URL=@{production.API_HOST}\n");
    expect((await o.values("staging")).body.values.URL).toBe("one");
    const before = await headOf(h, project.id, "staging");
    await o.set("production", { API_HOST: "two" });
    const after = await o.values("staging");
    expect(after.body.values.URL).toBe("two");
    expect(after.body.version).toBe(before);
    expect(await headOf(h, project.id, "staging")).toBe(before);
  });

  it("a push whose reference points at nothing, at a missing environment, or forms a cycle is refused with a 400 naming the key and the reference, and stores nothing", async () => {
    const { h, project, o } = await setup();
    await o.push("production", "A=1\n");
    const cases: [string, string][] = [
      ["X=@{production.NOPE}\n", "@{production.NOPE}"],
      ["X=@{qa.A}\n", "@{qa.A}"],
      ["X=@{Y}\nY=@{X}\n", "@{"],
      ["X=p@{ss\n", "@{ss"],
      [`X=@{vlt_${"0".repeat(64)}/production.A}\n`, "production.A"],
    ];
    for (const [file, reference] of cases) {
      const res = await o.push("staging", file);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("INVALID_REQUEST");
      expect(res.body.error.message).toStartWith("X:");
      expect(res.body.error.message).toContain(reference);
      expect(res.body.error.hint).toContain("@@{");
    }
    expect(await headOf(h, project.id, "staging")).toBe(0);
    // Escaped, the look-alike is a literal.
    expect((await o.push("staging", "X=p@@{ss\n")).status).toBe(200);
    expect((await o.values("staging")).body.values.X).toBe("p@{ss");
  });

  it("a set that removes a key another value of the environment refers to is refused", async () => {
    const { o } = await setup();
    await o.push("development", "DB_USER=app\nURL=pg://@{DB_USER}@h\n");
    const res = await o.unset("development", ["DB_USER"]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("URL");
    expect(res.body.error.message).toContain("@{DB_USER}");
  });

  it("resolve references inside quoted and multi-line values of a pushed file", async () => {
    const { o } = await setup();
    const file = [
      "USER=app",
      `SINGLE='user @{USER} # not a comment'`,
      'DOUBLE="line1\\n@{USER}"',
      'MULTI="-----BEGIN-----',
      "user=@{USER}",
      '-----END-----"',
      "",
    ].join("\n");
    expect((await o.push("development", file)).status).toBe(200);
    const values = (await o.values("development")).body.values;
    expect(values.SINGLE).toBe("user app # not a comment");
    expect(values.DOUBLE).toBe("line1\napp");
    expect(values.MULTI).toBe("-----BEGIN-----\nuser=app\n-----END-----");
    expect((await o.file("development")).body.dotenv).toBe(file);
  });

  it("a reference to a value that was removed later answers 409 on read, naming the key and the reference", async () => {
    const { o } = await setup();
    await o.push("production", "A=1\n");
    await o.push("staging", "X=@{production.A}\n");
    await o.push("production", "B=2\n");
    const res = await o.values("staging");
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain("X in staging");
    expect(res.body.error.message).toContain("@{production.A}");
  });

  it("another project is named by its id, and resolves for someone who can read it", async () => {
    const { h, owner, o } = await setup();
    const other = (
      await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "common" } })
    ).body;
    await h.request("PUT", `/api/v1/projects/${other.id}/environments/production/secrets`, {
      token: owner.token,
      body: { dotenv: "SENTRY=https://sentry/1\n" },
    });
    expect((await o.push("development", `SENTRY=@{${other.id}/production.SENTRY}\n`)).status).toBe(200);
    expect((await o.values("development")).body.values.SENTRY).toBe("https://sentry/1");
    expect((await o.push("development", "SENTRY=@{common/production.SENTRY}\n")).status).toBe(400);
  });

  it("every environment a resolved read touches is audited as a read", async () => {
    const { h, project, o } = await setup();
    await o.push("production", "A=1\n");
    await o.push("ci", "B=2\n");
    await o.push("staging", "X=@{production.A}@{ci.B}\n");
    await o.values("staging");
    await h.ctx.audit.flush();
    const events = await h.request("GET", `/api/v1/audit?project=${project.id}&action=secrets.read`, {
      token: (await setupOwnerToken(h)).token,
    });
    const reads = (events.body.events as Json[]).map((e) => [e.environment, e.detail?.reason ?? null]);
    expect(reads).toContainEqual(["staging", null]);
    expect(reads).toContainEqual(["production", "reference"]);
    expect(reads).toContainEqual(["ci", "reference"]);
  });

  it("reads through a reference that arrive together are audited as one read of that environment with their count", async () => {
    const { h, project, o } = await setup();
    await o.push("production", "A=1\n");
    await o.push("staging", "X=@{production.A}\n");
    const answers = await Promise.all(Array.from({ length: 10 }, () => o.values("staging")));
    for (const a of answers) expect(a.body.values).toEqual({ X: "1" });
    await h.ctx.audit.flush();
    const events = (
      await h.request("GET", `/api/v1/audit?project=${project.id}&action=secrets.read&limit=500`, {
        token: (await setupOwnerToken(h)).token,
      })
    ).body.events as Json[];
    const production = events.filter(
      (e) => e.environment === "production" && e.detail?.reason === "reference",
    );
    const staging = events.filter((e) => e.environment === "staging" && e.detail?.resolved);
    expect(staging).toHaveLength(10);
    expect(production.reduce((n, e) => n + (e.detail.requests ?? 1), 0)).toBe(10);
    expect(production.length).toBeLessThan(10);
  });
});

/** The project owner's session again (the first user of the harness). */
async function setupOwnerToken(h: Harness) {
  const res = await h.request("POST", "/api/v1/auth/login", {
    body: { email: "owner@example.com", password: "correct horse battery staple" },
  });
  return { token: res.body.token as string };
}

describe("versions from before references", () => {
  /** A version as the previous release made it: no resolves flag (and its MAC without one). */
  async function legacyVersion(
    h: Harness,
    projectId: string,
    envName: string,
    values: Record<string, string>,
  ) {
    const env = (await h.appdb.projects.environment(projectId, envName))!;
    const { parseFile } = await import("../../src/server/modules/secrets/document");
    const text = Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n");
    const parsed = parseFile(`${text}\n`);
    const blobs = h.ctx.sealer.sealMany([
      ...[...parsed.values].map(([name, value]) => ({
        plaintext: Buffer.from(value),
        binding: binding("value", projectId, env.id, name),
      })),
      { plaintext: parsed.layout, binding: binding("layout", projectId, env.id, env.head + 1) },
    ]);
    const refs = (await h.keeper.put(blobs)).map((r) => Buffer.from(r));
    await h.appdb.versions.commit({
      projectId,
      environmentId: env.id,
      expectedHead: env.head,
      entries: [...parsed.values.keys()].map((name, i) => [name, refs[i]!.toString("hex")]),
      layoutRef: refs.at(-1)!,
      summary: { added: Object.keys(values), changed: [], removed: [] },
      kind: "push",
      resolves: false,
      authorId: null,
      authorLabel: "old release",
      createdAt: h.clock.now(),
      newRefs: refs,
    });
  }

  it("never resolve: what looked like a reference stays the literal text it always was", async () => {
    const { h, project, o } = await setup();
    await o.push("production", "A=1\n");
    await legacyVersion(h, project.id, "staging", { PASS: "x@{production.A}", B: "@{PASS}" });
    expect((await o.values("staging")).body.values).toEqual({ PASS: "x@{production.A}", B: "@{PASS}" });
  });

  it("a set on such a version keeps it literal, and refuses a new reference with the way out (push the whole file)", async () => {
    const { h, project, o } = await setup();
    await o.push("production", "A=1\n");
    await legacyVersion(h, project.id, "staging", { PASS: "x@{production.A}" });
    expect((await o.set("staging", { OTHER: "1" })).status).toBe(200);
    expect((await o.values("staging")).body.values.PASS).toBe("x@{production.A}");
    const refused = await o.set("staging", { NEW: "@{production.A}" });
    expect(refused.status).toBe(400);
    expect(refused.body.error.hint).toContain("push the whole file");
    // A push of the whole file turns references on, checked like any.
    expect((await o.push("staging", "PASS=x@{production.A}\nNEW=@{production.A}\n")).status).toBe(200);
    expect((await o.values("staging")).body.values).toEqual({ PASS: "x1", NEW: "1" });
  });

  it("turning a version's resolves flag on in app.db fails its integrity check", async () => {
    const { h, project, o } = await setup({ cacheTtlMs: 0 });
    await legacyVersion(h, project.id, "staging", { PASS: "x@{B}", B: "1" });
    await h.appdb.database.client.execute("UPDATE versions SET resolves = 1");
    const res = await o.values("staging");
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("INTEGRITY");
  });
});

describe("branch environments", () => {
  it("inherit every key of the parent, store only their own changes, and show the parent's changes unless overridden", async () => {
    const { h, project, o } = await setup();
    await o.push(
      "development",
      "# dev\nDB_USER=app\nDB_HOST=localhost\nDATABASE_URL=pg://@{DB_USER}@@{DB_HOST}\nLOG=info\n",
    );
    expect((await o.branch("dev_alice", "development")).status).toBe(201);
    expect((await o.file("dev_alice")).body.dotenv).toBe((await o.file("development")).body.dotenv);
    await o.set("dev_alice", { DB_USER: "alice", EXTRA: "1" }, ["LOG"]);
    const alice = (await o.values("dev_alice")).body.values;
    expect(alice).toEqual({
      DB_USER: "alice",
      DB_HOST: "localhost",
      DATABASE_URL: "pg://alice@{DB_HOST}",
      EXTRA: "1",
    });
    // What the branch stores: its overrides, additions and removals only.
    const env = (await h.appdb.projects.environment(project.id, "dev_alice"))!;
    const stored = await h.appdb.versions.get(project.id, env.id, env.head);
    expect(stored!.entries.map(([n, r]) => [n, r === ""])).toEqual([
      ["DB_USER", false],
      ["EXTRA", false],
      ["LOG", true],
    ]);
    // The parent moves on: its change shows through where the branch did not override.
    await o.set("development", { DB_HOST: "db.dev", DB_USER: "app2", NEW_KEY: "n" });
    const after = (await o.values("dev_alice")).body.values;
    expect(after.DB_HOST).toBe("db.dev");
    expect(after.DB_USER).toBe("alice");
    expect(after.NEW_KEY).toBe("n");
    expect("LOG" in after).toBe(false);
    expect((await o.file("dev_alice")).body.dotenv).toBe(
      "# dev\nDB_USER=alice\nDB_HOST=db.dev\nDATABASE_URL=pg://@{DB_USER}@@{DB_HOST}\nNEW_KEY=n\nEXTRA=1\n",
    );
  });

  it("diff against the parent shows only the overrides", async () => {
    const { o } = await setup();
    await o.push("development", "A=1\nB=2\nC=3\n");
    await o.branch("dev_alice", "development");
    await o.set("dev_alice", { B: "20", D: "4" }, ["C"]);
    const diff = (await o.diff("dev_alice", "development")).body;
    expect(diff.added).toEqual(["C"]);
    expect(diff.changed).toEqual(["B"]);
    expect(diff.removed).toEqual(["D"]);
    expect(diff.unchanged).toBe(1);
  });

  it("a push of the merged file back stores only what differs from the parent, and keeps earlier overrides", async () => {
    const { h, project, o } = await setup();
    await o.push("development", "A=1\nB=2\n");
    await o.branch("b", "development");
    await o.set("b", { B: "2" }); // explicitly: an override equal to the parent's value
    const file = (await o.file("b")).body.dotenv as string;
    expect((await o.push("b", `${file}C=3\n`)).status).toBe(200);
    const env = (await h.appdb.projects.environment(project.id, "b"))!;
    const stored = await h.appdb.versions.get(project.id, env.id, env.head);
    expect(stored!.entries.map(([n]) => n)).toEqual(["B", "C"]);
    await o.set("development", { A: "10", B: "20" });
    expect((await o.values("b")).body.values).toEqual({ A: "10", B: "2", C: "3" });
  });

  it("have their own versions and roll back their own changes over the parent as it is now", async () => {
    const { o } = await setup();
    await o.push("development", "A=1\n");
    await o.branch("b", "development");
    await o.set("b", { X: "1" });
    await o.set("b", { X: "2" });
    expect((await o.versions("b")).body.versions.map((v: Json) => v.version)).toEqual([2, 1]);
    await o.set("development", { A: "9" });
    const rolled = await o.rollback("b", 1);
    expect(rolled.status).toBe(200);
    expect((await o.values("b")).body.values).toEqual({ A: "9", X: "1" });
  });

  it("a branch of a branch works; a parent with branches cannot be removed (409 with a hint); the chain is bounded", async () => {
    const { h, project, o } = await setup();
    await o.push("development", "A=1\n");
    expect((await o.branch("b1", "development")).status).toBe(201);
    expect((await o.branch("b2", "b1")).status).toBe(201);
    await o.set("b1", { B: "2" });
    await o.set("b2", { C: "3" });
    expect((await o.values("b2")).body.values).toEqual({ A: "1", B: "2", C: "3" });
    const removed = await h.request("DELETE", `/api/v1/projects/${project.id}/environments/b1`, {
      token: (await setupOwnerToken(h)).token,
      body: { confirm: "b1" },
    });
    expect(removed.status).toBe(409);
    expect(removed.body.error.message).toContain("b2");
    expect(removed.body.error.hint).toContain("vault envs rm b2");
    let parent = "b2";
    for (let i = 3; i <= 8; i++) {
      expect((await o.branch(`b${i}`, parent)).status).toBe(201);
      parent = `b${i}`;
    }
    const tooDeep = await o.branch("b9", "b8");
    expect(tooDeep.status).toBe(400);
    expect((await o.values("b8")).body.values.C).toBe("3");
    expect((await o.branch("x", "nope")).status).toBe(404);
    expect((await o.branch("example", "development")).status).toBe(400);
  });

  it("a project with branches can be deleted, with every value", async () => {
    const { h, project, o } = await setup();
    await o.push("development", "A=1\n");
    await o.branch("b1", "development");
    await o.set("b1", { B: "2" });
    const res = await h.request("DELETE", `/api/v1/projects/${project.id}`, {
      token: (await setupOwnerToken(h)).token,
      body: { confirm: "shop" },
    });
    expect(res.status).toBe(200);
    expect(await h.appdb.projects.byId(project.id)).toBeUndefined();
  });

  it("a .env.vault build holds the branch's merged, resolved values", async () => {
    const { o } = await setup();
    await o.push("production", "HOST=prod.example\n");
    await o.push("development", "HOST=dev.example\nURL=https://@{HOST}/\n");
    await o.branch("dev_alice", "development");
    await o.set("dev_alice", { HOST: "alice.example", P: "@{production.HOST}" });
    const built = await o.build();
    expect(built.status).toBe(200);
    const keys = (await o.keys()).body.keys as { environment: string; key: string }[];
    const key = keys.find((k) => k.environment === "dev_alice")!.key;
    expect(openEnvVault(built.body.dotenvVault, key)).toEqual({
      HOST: "alice.example",
      URL: "https://alice.example/",
      P: "prod.example",
    });
  });
});

describe("personal overrides", () => {
  it("apply to the user's own resolved reads, marked personal, and to explain; never to the file as written", async () => {
    const { o } = await setup();
    await o.push("development", "DB_USER=app\nURL=pg://@{DB_USER}@h\n");
    const set = await o.personal("development", { set: { DB_USER: "me", MINE: "x" } });
    expect(set.status).toBe(200);
    expect(set.body.names).toEqual(["DB_USER", "MINE"]);
    const values = await o.values("development", "&written=true");
    expect(values.body.values).toEqual({ DB_USER: "me", URL: "pg://me@h", MINE: "x" });
    expect(values.body.personal.sort()).toEqual(["DB_USER", "MINE"]);
    expect(values.body.written).toEqual({ DB_USER: "app", URL: "pg://@{DB_USER}@h", MINE: null });
    expect((await o.file("development")).body.dotenv).toBe("DB_USER=app\nURL=pg://@{DB_USER}@h\n");
    const explained = (await o.explain("development", "DB_USER", true)).body;
    expect(explained.layers.map((l: Json) => l.kind)).toEqual(["personal", "environment"]);
    expect(explained.value).toBe("me");
    expect((await o.personal("development", { unset: ["DB_USER", "MINE"] })).body.unset.sort()).toEqual([
      "DB_USER",
      "MINE",
    ]);
    expect((await o.values("development")).body.values.DB_USER).toBe("app");
  });

  it("are refused when their references do not resolve for the user", async () => {
    const { o } = await setup();
    const res = await o.personal("development", { set: { X: "@{production.NOPE}" } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("@{production.NOPE}");
  });

  it("are removed with their member, and their blobs collected", async () => {
    const { h, owner, project, o, member } = await setup();
    await o.push("development", "A=1\n");
    const bob = await member("bob@example.com", { development: "read" });
    expect(
      (
        await h.request("PATCH", `/api/v1/projects/${project.id}/environments/development/overrides`, {
          token: bob.token,
          body: { set: { A: "bob" } },
        })
      ).status,
    ).toBe(200);
    expect(await h.appdb.overrides.count()).toBe(1);
    await h.request("DELETE", `/api/v1/projects/${project.id}/members/${bob.id}`, { token: owner.token });
    expect(await h.appdb.overrides.count()).toBe(0);
    const { collectGarbage } = await import("../../src/server/gc");
    h.clock.advance(2 * 3_600_000);
    const gc = await collectGarbage({
      appdb: h.appdb,
      keeper: h.keeper,
      now: h.clock.now,
      graceMs: 3_600_000,
    });
    expect(gc.removed).toBe(1);
  });

  it("go with their user (foreign key, cascade)", async () => {
    const { h, project, member } = await setup();
    const bob = await member("bob@example.com", { development: "read" });
    await h.request("PATCH", `/api/v1/projects/${project.id}/environments/development/overrides`, {
      token: bob.token,
      body: { set: { A: "bob" } },
    });
    await h.appdb.database.client.execute({ sql: "DELETE FROM tokens WHERE user_id = ?", args: [bob.id] });
    await h.appdb.database.client.execute({ sql: "DELETE FROM users WHERE id = ?", args: [bob.id] });
    expect(await h.appdb.overrides.count()).toBe(0);
  });
});

describe("explain", () => {
  it("names the layer, the references and what they point at, with versions; the value only with reveal", async () => {
    const { o } = await setup();
    await o.push("production", "PASS=p\n");
    await o.push("development", "USER=app\nURL=pg://@{USER}:@{production.PASS}@h\n");
    await o.branch("dev_alice", "development");
    await o.set("dev_alice", { USER: "alice" });
    const hidden = (await o.explain("dev_alice", "URL")).body;
    expect(hidden.value).toBeUndefined();
    expect(hidden.layers).toEqual([{ kind: "parent", environment: "development", version: 1, state: "set" }]);
    expect(hidden.references).toEqual([
      {
        reference: "@{USER}",
        environment: "dev_alice",
        version: 1,
        layer: "environment",
        key: "USER",
        references: [],
      },
      {
        reference: "@{production.PASS}",
        environment: "production",
        version: 1,
        layer: "environment",
        key: "PASS",
        references: [],
      },
    ]);
    const shown = (await o.explain("dev_alice", "URL", true)).body;
    expect(shown.value).toBe("pg://alice:p@h");
    expect(shown.written).toBe("pg://@{USER}:@{production.PASS}@h");
    await o.set("dev_alice", {}, ["URL"]);
    const gone = (await o.explain("dev_alice", "URL")).body;
    expect(gone.found).toBe(false);
    expect(gone.layers.map((l: Json) => [l.environment, l.state])).toEqual([
      ["dev_alice", "removed"],
      ["development", "set"],
    ]);
  });
});

describe("security", () => {
  it("a member with read on development only cannot read production through any reference, branch, override, explain or build", async () => {
    const { o, as, member } = await setup();
    const SECRET = "prod-secret-value-0123";
    await o.push("production", `SECRET=${SECRET}\n`);
    await o.push("staging", "S=@{production.SECRET}\n");
    expect((await o.push("development", "X=@{production.SECRET}\nY=@{staging.S}\n")).status).toBe(200);
    await o.branch("prod_copy", "production");
    const bob = await member("bob@example.com", { development: "read", prod_copy: "read", staging: "none" });
    const b = as(bob.token);
    const answers: Json[] = [];
    const expectRefused = async (res: Promise<{ status: number; body: Json }>, status: number) => {
      const r = await res;
      answers.push(r.body);
      expect(r.status).toBe(status);
    };
    await expectRefused(b.values("development"), 403);
    await expectRefused(b.values("development", "&key=X"), 403);
    await expectRefused(b.values("development", "&key=Y"), 403);
    await expectRefused(b.file("development", "&resolve=true"), 403);
    await expectRefused(b.values("prod_copy"), 403);
    await expectRefused(b.file("prod_copy"), 403);
    await expectRefused(b.values("prod_copy", "&resolve=false"), 403);
    await expectRefused(b.diff("prod_copy", "development"), 403);
    await expectRefused(b.explain("prod_copy", "SECRET", true), 403);
    await expectRefused(b.personal("development", { set: { Z: "@{production.SECRET}" } }), 400);
    await expectRefused(b.build(), 403);
    const explained = await b.explain("development", "X", true);
    answers.push(explained.body);
    expect(explained.body.references[0].error).toContain("cannot read");
    // The owner's .env.vault would put production's value in development's part, which bob opens.
    await expectRefused(o.build(), 403);
    for (const body of answers) expect(JSON.stringify(body)).not.toContain(SECRET);
    // As written, development is his to read: the reference text, not the value.
    expect((await b.file("development")).body.dotenv).toBe("X=@{production.SECRET}\nY=@{staging.S}\n");
  });

  it("a member who may write development but not read production cannot write a reference to it", async () => {
    const { o, as, member } = await setup();
    await o.push("production", "SECRET=s\n");
    const carol = await member("carol@example.com", { development: "write" });
    const res = await as(carol.token).push("development", "X=@{production.SECRET}\n");
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("cannot read");
  });

  it("a CI token never sees a personal override, in its values, its file or a build", async () => {
    const { o, as, token } = await setup();
    await o.push("ci", "A=stored\n");
    await o.personal("ci", { set: { A: "personal-value", B: "personal-only" } });
    const ci = as(await token(["ci"]));
    const values = await ci.values("ci");
    expect(values.body.values).toEqual({ A: "stored" });
    expect(values.body.personal).toBeUndefined();
    expect((await ci.file("ci", "&resolve=true")).body.dotenv).toBe("A=stored\n");
    const built = await ci.build();
    const key = ((await ci.keys()).body.keys as Json[])[0].key;
    expect(openEnvVault(built.body.dotenvVault, key)).toEqual({ A: "stored" });
    expect((await ci.personal("ci", { set: { A: "x" } })).status).toBe(403);
    // Nor the owner's own build.
    const ownerBuild = await o.build();
    expect(ownerBuild.body.dotenvVault).toBeDefined();
    const ownerKey = ((await o.keys()).body.keys as Json[]).find((k) => k.environment === "ci").key;
    expect(openEnvVault(ownerBuild.body.dotenvVault, ownerKey)).toEqual({ A: "stored" });
  });

  it("an override is invisible to other users in every client: values, one key, resolved file, explain, list, web reveal, dotenv-vault pull", async () => {
    const { h, project, o, as, member } = await setup();
    await o.push("development", "A=stored\n");
    expect((await o.personal("development", { set: { A: "owner-personal", P: "owner-only" } })).status).toBe(
      200,
    );
    const dave = await member("dave@example.com", { development: "read" });
    const d = as(dave.token);
    expect((await d.values("development")).body.values).toEqual({ A: "stored" });
    expect((await d.values("development", "&key=A")).body.values).toEqual({ A: "stored" });
    expect((await d.file("development", "&resolve=true")).body.dotenv).toBe("A=stored\n");
    const explained = (await d.explain("development", "A", true)).body;
    expect(explained.layers.map((l: Json) => l.kind)).toEqual(["environment"]);
    expect(explained.value).toBe("stored");
    expect(
      (await h.request("GET", `/api/v1/projects/${project.id}/overrides`, { token: dave.token })).body
        .overrides,
    ).toEqual([]);
    const web = await new WebBrowser(h).withSession(dave.token);
    const page = await web.get(`/p/${project.id}/e/development`);
    expect(page.text).not.toContain("personal");
    const revealed = await web.script(`/p/${project.id}/e/development/reveal`, { name: "A", version: "1" });
    expect(revealed.json.value).toBe("stored");
    const me = (await h.request("POST", `/api/v1/projects/${project.id}/me`, { token: dave.token })).body
      .token;
    const pulled = await h.request("POST", "/pull", { body: { DOTENV_VAULT: project.id, DOTENV_ME: me } });
    expect(pulled.body.data.dotenv).toBe("A=stored\n");
    // The owner's own reveal shows theirs, marked.
    const ownerWeb = await new WebBrowser(h).withSession((await setupOwnerToken(h)).token);
    expect((await ownerWeb.get(`/p/${project.id}/e/development`)).text).toContain("personal");
    const mine = await ownerWeb.script(`/p/${project.id}/e/development/reveal`, { name: "A", version: "1" });
    expect(mine.json).toMatchObject({ value: "owner-personal", personal: true, written: "stored" });
  });
});

describe("the dotenv-vault protocol", () => {
  it("pull returns references as written and a push back keeps them", async () => {
    const { h, project, o } = await setup();
    await o.push("production", "A=1\n");
    const file = "X=@{production.A}\nY='@@{literal}'\n";
    await o.push("development", file);
    const me = (
      await h.request("POST", `/api/v1/projects/${project.id}/me`, {
        token: (await setupOwnerToken(h)).token,
      })
    ).body.token;
    const pulled = await h.request("POST", "/pull", { body: { DOTENV_VAULT: project.id, DOTENV_ME: me } });
    expect(pulled.body.data.dotenv).toBe(file);
    const pushed = await h.request("POST", "/push", {
      body: {
        DOTENV_VAULT: project.id,
        DOTENV_ME: me,
        environment: "development",
        dotenv: `${file}Z=@{X}\n`,
      },
    });
    expect(pushed.status).toBe(200);
    expect((await o.file("development")).body.dotenv).toBe(`${file}Z=@{X}\n`);
    expect((await o.values("development")).body.values).toEqual({ X: "1", Y: "@{literal}", Z: "1" });
    const refused = await h.request("POST", "/push", {
      body: { DOTENV_VAULT: project.id, DOTENV_ME: me, environment: "development", dotenv: "X=@{NOPE}\n" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].message).toContain("@{NOPE}");
  });
});
