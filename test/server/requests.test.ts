/**
 * Approvals for protected environments: every write path is held as a
 * change request, who may approve (not the author, not a reader, not
 * someone off the list), applying (the version's number, author and audit
 * events), stale requests and rebase, service tokens and their bypass, and
 * that the proposed values never reach app.db (nor the keeper) in clear.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KeeperApi } from "../../src/vault";
import { projectWith } from "./fixtures";
import { type Harness, type Json, startHarness } from "./harness";

const SENTINEL = "pr0posed-v4lue-that-must-never-be-stored-in-clear-QZJX";

async function setup(options: { keeper?: (k: KeeperApi) => KeeperApi } = {}) {
  const h = await startHarness(options);
  const { owner, project } = await projectWith(h);
  const base = `/api/v1/projects/${project.id}`;
  const env = `${base}/environments/production`;
  const writer = await h.user("writer@example.com");
  const second = await h.user("second@example.com");
  const reader = await h.user("reader@example.com");
  for (const [u, permission] of [
    [writer, "write"],
    [second, "write"],
    [reader, "read"],
  ] as const) {
    const res = await h.request("POST", `${base}/members`, {
      token: owner.token,
      body: { email: u.email, permissions: { production: permission, development: permission } },
    });
    expect(res.status).toBe(201);
  }
  // Version 1 before protection.
  expect(
    (await h.request("PUT", `${env}/secrets`, { token: owner.token, body: { dotenv: "A=1\nB=2\nC=3\n" } }))
      .status,
  ).toBe(200);
  const protect = (body: object = {}) => h.request("PUT", `${env}/protection`, { token: owner.token, body });
  expect((await protect()).status).toBe(200);
  const head = async () =>
    (await h.request("GET", `${env}/versions`, { token: owner.token })).body.head as number;
  const pull = async (version?: number) =>
    (
      await h.request(
        "GET",
        `${env}/secrets?format=json&resolve=false${version ? `&version=${version}` : ""}`,
        {
          token: owner.token,
        },
      )
    ).body.values as Record<string, string>;
  const act = (token: string, n: number, verb: string, body?: object) =>
    h.request("POST", `${base}/requests/${n}/${verb}`, { token, body });
  const show = (token: string, n: number) => h.request("GET", `${base}/requests/${n}`, { token });
  return { h, owner, project, base, env, writer, second, reader, protect, head, pull, act, show };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const audit = async (h: Harness, action: string): Promise<Json[]> =>
  (
    await h.appdb.database.client.execute({
      sql: "SELECT * FROM audit WHERE action = ? ORDER BY seq",
      args: [action],
    })
  ).rows as Json[];

async function expectHeld(s: Setup, res: { status: number; body: Json }, before: number) {
  expect(res.status).toBe(202);
  expect(res.body.request.number).toBeGreaterThan(0);
  expect(res.body.request.baseVersion).toBe(before);
  expect(await s.head()).toBe(before);
  const shown = await s.show(s.owner.token, res.body.request.number);
  expect(shown.status).toBe(200);
  expect(shown.body.state).toBe("open");
  return shown.body;
}

describe("a protected environment", () => {
  it("holds every write path of the API as a change request: push, merge, set, unset, rename, rollback", async () => {
    const s = await setup();
    const { h, writer, env } = s;
    const t = writer.token;
    const cases: [string, () => Promise<{ status: number; body: Json }>, object][] = [
      [
        "push",
        () => h.request("PUT", `${env}/secrets`, { token: t, body: { dotenv: "A=1\nB=20\n" } }),
        { changed: ["B"], removed: ["C", "E"] },
      ],
      [
        "merge",
        () => h.request("PUT", `${env}/secrets`, { token: t, body: { dotenv: "D=4\n", merge: true } }),
        { added: ["D"] },
      ],
      [
        "set",
        () => h.request("PATCH", `${env}/secrets`, { token: t, body: { set: { A: "10" } } }),
        { changed: ["A"] },
      ],
      [
        "unset",
        () => h.request("PATCH", `${env}/secrets`, { token: t, body: { unset: ["C"] } }),
        { removed: ["C"] },
      ],
      [
        "rename",
        () => h.request("PATCH", `${env}/secrets`, { token: t, body: { rename: { A: "ALPHA" } } }),
        { added: ["ALPHA"], removed: ["A"] },
      ],
      [
        "rollback",
        () => h.request("POST", `${env}/rollback`, { token: t, body: { version: 1 } }),
        { removed: ["E"] },
      ],
    ];
    // A rollback to the version it is at changes nothing: make version 2 first (before protecting).
    await s.h.request("DELETE", `${env}/protection`, { token: s.owner.token });
    await h.request("PATCH", `${env}/secrets`, { token: s.owner.token, body: { set: { E: "5" } } });
    await s.protect();
    for (const [kind, call, summary] of cases) {
      const res = await call();
      const shown = await expectHeld(s, res, 2);
      expect({ kind, shown: shown.kind, author: shown.author }).toEqual({
        kind,
        shown: kind === "rename" ? "set" : kind,
        author: "writer@example.com",
      });
      expect(shown.summary).toMatchObject(summary);
    }
    expect(await s.pull()).toEqual({ A: "1", B: "2", C: "3", E: "5" });
    expect((await audit(h, "requests.open")).length).toBe(cases.length);
  });

  it("holds the web editor's save, and the owner's own pushes too", async () => {
    const s = await setup();
    const res = await s.h.request("PATCH", `${s.env}/secrets`, {
      token: s.owner.token,
      body: { set: { A: "x" } },
    });
    await expectHeld(s, res, 1);
    // The editor saves a draft through the same change path (drafts.save -> secrets.change).
    const { createDraftService } = await import("../../src/server/modules/secrets/drafts");
    const { createSecretService } = await import("../../src/server/modules/secrets/service");
    const secrets = createSecretService(s.h.ctx);
    const drafts = createDraftService(s.h.ctx, secrets);
    const session = await s.h.appdb.tokens.byHash(
      (await import("../../src/server/auth/credentials")).hashCredential(
        s.h.appdb.credentialKey,
        s.writer.token,
      ),
    );
    const user = (await s.h.appdb.users.byId(s.writer.id))!;
    const caller = { kind: "session" as const, user, token: session! };
    const project = (await s.h.appdb.projects.byId(s.project.id))!;
    const env = (await s.h.appdb.projects.environment(s.project.id, "production"))!;
    const draft = await drafts.edit(caller, project, env, { op: "edit", name: "B", value: "from-editor" });
    const saved = await drafts.save(
      caller,
      project,
      env,
      { id: draft!.row.id, revision: draft!.row.revision },
      null,
    );
    expect(saved.request?.number).toBe(2);
    expect(saved.version).toBe(1);
    expect(await s.head()).toBe(1);
    expect((await s.show(s.owner.token, 2)).body.summary.changed).toEqual(["B"]);
  });

  it("holds a dotenv-vault push and says so in the protocol's error shape", async () => {
    const s = await setup();
    const me = (await s.h.request("POST", `${s.base}/me`, { token: s.writer.token })).body.token;
    const res = await s.h.request("POST", "/push", {
      body: { environment: "production", projectUid: s.project.id, meUid: me, dotenv: "A=9\n" },
    });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe("CHANGE_REQUEST_OPENED");
    expect(res.body.errors[0].message).toContain("change request #1");
    expect(res.body.errors[0].suggestions).toEqual(["vault requests show 1"]);
    expect(await s.head()).toBe(1);
    expect((await s.show(s.owner.token, 1)).body.author).toBe("writer@example.com");
  });

  it("holds a service token's write unless the owner allows tokens to bypass", async () => {
    const s = await setup();
    const token = (
      await s.h.request("POST", `${s.base}/tokens`, {
        token: s.owner.token,
        body: { name: "deploy", environments: ["production"], write: true },
      })
    ).body.token as string;
    const set = (value: string) =>
      s.h.request("PATCH", `${s.env}/secrets`, { token, body: { set: { A: value } } });
    const held = await set("held");
    await expectHeld(s, held, 1);
    expect((await s.show(s.owner.token, 1)).body.author).toBe("token:deploy");
    // A token cannot approve anything.
    expect((await s.act(token, 1, "approve")).status).toBe(403);
    expect((await s.protect({ allowTokenBypass: true })).body.allowTokenBypass).toBe(true);
    const through = await set("through");
    expect(through.status).toBe(200);
    expect(through.body.version).toBe(2);
    // A person is still held with the bypass on.
    const person = await s.h.request("PATCH", `${s.env}/secrets`, {
      token: s.writer.token,
      body: { set: { A: "p" } },
    });
    expect(person.status).toBe(202);
  });

  it("is protected and unprotected by owners only, and unprotecting is audited", async () => {
    const s = await setup();
    const byWriter = await s.h.request("PUT", `${s.env}/protection`, { token: s.writer.token, body: {} });
    expect(byWriter.status).toBe(403);
    const off = await s.h.request("DELETE", `${s.env}/protection`, { token: s.writer.token });
    expect(off.status).toBe(403);
    const listed = await s.h.request("GET", `${s.base}/protections`, { token: s.reader.token });
    expect(listed.body.protections).toEqual([
      { environment: "production", approvers: null, allowTokenBypass: false },
    ]);
    const done = await s.h.request("DELETE", `${s.env}/protection`, { token: s.owner.token });
    expect(done.body).toEqual({ environment: "production", wasProtected: true });
    expect((await audit(s.h, "environment.unprotect")).length).toBe(1);
    expect((await audit(s.h, "environment.protect")).length).toBe(1);
    const direct = await s.h.request("PATCH", `${s.env}/secrets`, {
      token: s.writer.token,
      body: { set: { A: "d" } },
    });
    expect(direct.status).toBe(200);
    expect(direct.body.version).toBe(2);
  });
});

describe("approving a change request", () => {
  it("refuses self-approval (403 SELF_APPROVAL), also for an owner approving their own", async () => {
    const s = await setup();
    await s.h.request("PATCH", `${s.env}/secrets`, { token: s.writer.token, body: { set: { A: "x" } } });
    const self = await s.act(s.writer.token, 1, "approve");
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe("SELF_APPROVAL");
    await s.h.request("PATCH", `${s.env}/secrets`, { token: s.owner.token, body: { set: { B: "y" } } });
    expect((await s.act(s.owner.token, 2, "approve")).body.error.code).toBe("SELF_APPROVAL");
    expect(await s.head()).toBe(1);
  });

  it("refuses a reader (approving takes write), and someone not on the approvers list", async () => {
    const s = await setup();
    await s.h.request("PATCH", `${s.env}/secrets`, { token: s.writer.token, body: { set: { A: "x" } } });
    const byReader = await s.act(s.reader.token, 1, "approve");
    expect(byReader.status).toBe(403);
    expect(byReader.body.error.code).toBe("FORBIDDEN");
    expect((await s.show(s.reader.token, 1)).body.canApprove).toBe(false);
    // Only the reader may approve now: the second writer is not on the list.
    expect((await s.protect({ approvers: ["reader@example.com"] })).status).toBe(200);
    const offList = await s.act(s.second.token, 1, "approve");
    expect(offList.status).toBe(403);
    expect(offList.body.error.message).toContain("not one of the approvers");
    expect((await s.act(s.owner.token, 1, "approve")).status).toBe(403);
    expect(await s.head()).toBe(1);
    const listed = await s.act(s.reader.token, 1, "approve");
    expect(listed.status).toBe(200);
    expect(listed.body.version).toBe(2);
  });

  it("makes the next version, authored by the request's author, with the approver in the audit events", async () => {
    const s = await setup();
    const held = await s.h.request("PUT", `${s.env}/secrets`, {
      token: s.writer.token,
      body: { dotenv: "# kept comment\nA=1\nB=new\nD=4\n" },
    });
    expect(held.status).toBe(202);
    const approved = await s.act(s.second.token, 1, "approve");
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ number: 1, state: "applied", version: 2 });
    const versions = (await s.h.request("GET", `${s.env}/versions`, { token: s.owner.token })).body;
    expect(versions.head).toBe(2);
    expect(versions.versions[0]).toMatchObject({ version: 2, kind: "push", author: "writer@example.com" });
    // The file is the pushed one, byte for byte.
    const file = (await s.h.request("GET", `${s.env}/secrets`, { token: s.owner.token })).body.dotenv;
    expect(file).toBe("# kept comment\nA=1\nB=new\nD=4\n");
    const shown = (await s.show(s.owner.token, 1)).body;
    expect(shown).toMatchObject({ state: "applied", appliedVersion: 2, decidedBy: "second@example.com" });
    const actorOf = (row: Json) => ({ actor: row.actor_label, detail: JSON.parse(row.detail) });
    expect((await audit(s.h, "requests.open")).map(actorOf)).toEqual([
      {
        actor: "writer@example.com",
        detail: { request: 1, kind: "push", base: 1, added: 1, changed: 1, removed: 1 },
      },
    ]);
    expect((await audit(s.h, "requests.approve")).map(actorOf)).toEqual([
      { actor: "second@example.com", detail: { request: 1, author: "writer@example.com" } },
    ]);
    expect((await audit(s.h, "requests.apply")).map(actorOf)).toEqual([
      { actor: "second@example.com", detail: { request: 1, version: 2, author: "writer@example.com" } },
    ]);
    const pushes = (await audit(s.h, "secrets.push")).map(actorOf);
    expect(pushes.at(-1)).toEqual({
      actor: "second@example.com",
      detail: { version: 2, added: 1, changed: 1, removed: 1, request: 1, author: "writer@example.com" },
    });
    // Closed: it cannot be approved twice, and its sealed change is gone from the keeper.
    expect((await s.act(s.owner.token, 1, "approve")).status).toBe(409);
    const row = await s.h.appdb.requests.byNumber(s.project.id, 1);
    expect(row?.ref).toBeNull();
  });

  it("lets only the author withdraw, and an approver reject with a reason", async () => {
    const s = await setup();
    await s.h.request("PATCH", `${s.env}/secrets`, { token: s.writer.token, body: { set: { A: "x" } } });
    await s.h.request("PATCH", `${s.env}/secrets`, { token: s.writer.token, body: { set: { B: "y" } } });
    expect((await s.act(s.second.token, 1, "withdraw")).status).toBe(403);
    expect((await s.act(s.writer.token, 1, "withdraw")).body.state).toBe("withdrawn");
    expect((await s.act(s.reader.token, 2, "reject")).status).toBe(403);
    const rejected = await s.act(s.second.token, 2, "reject", { reason: "not\u001b[31m now" });
    expect(rejected.body.state).toBe("rejected");
    expect((await s.show(s.writer.token, 2)).body).toMatchObject({
      state: "rejected",
      reason: "not [31m now",
    });
    expect((await s.act(s.second.token, 2, "approve")).status).toBe(409);
    const open = (await s.h.request("GET", `${s.base}/requests`, { token: s.writer.token })).body.requests;
    expect(open).toEqual([]);
    const all = (await s.h.request("GET", `${s.base}/requests?all=true`, { token: s.writer.token })).body
      .requests;
    expect(all.map((r: Json) => [r.number, r.state])).toEqual([
      [2, "rejected"],
      [1, "withdrawn"],
    ]);
    expect((await audit(s.h, "requests.withdraw")).length).toBe(1);
    expect((await audit(s.h, "requests.reject")).length).toBe(1);
    expect(await s.head()).toBe(1);
  });

  it("reveals values to approvers only, as an audited read; shows names to readers", async () => {
    const s = await setup();
    await s.h.request("PATCH", `${s.env}/secrets`, {
      token: s.writer.token,
      body: { set: { A: SENTINEL }, unset: ["C"] },
    });
    const shown = await s.show(s.reader.token, 1);
    expect(JSON.stringify(shown.body)).not.toContain(SENTINEL);
    expect(shown.body.summary).toEqual({ added: [], changed: ["A"], removed: ["C"] });
    expect((await s.act(s.reader.token, 1, "reveal")).status).toBe(403);
    const revealed = await s.act(s.second.token, 1, "reveal");
    expect(revealed.status).toBe(200);
    expect(revealed.body.values).toEqual({ A: { from: "1", to: SENTINEL }, C: { from: "3", to: null } });
    const reads = (await audit(s.h, "secrets.read")).map((r) => ({
      actor: r.actor_label,
      detail: JSON.parse(r.detail),
    }));
    expect(reads.at(-1)).toEqual({
      actor: "second@example.com",
      detail: { version: 1, keys: 2, names: ["A", "C"], reason: "change request", request: 1 },
    });
    // An outsider sees nothing at all.
    const outsider = await s.h.user("outsider@example.com");
    expect((await s.show(outsider.token, 1)).status).toBe(404);
  });
});

describe("a stale change request", () => {
  it("cannot be approved once the base moved on (409 REQUEST_STALE, hint: rebase), and applies after a rebase", async () => {
    const s = await setup();
    await s.h.request("PATCH", `${s.env}/secrets`, {
      token: s.writer.token,
      body: { set: { A: "mine" }, unset: ["C"] },
    });
    await s.h.request("PATCH", `${s.env}/secrets`, { token: s.second.token, body: { set: { B: "theirs" } } });
    // The second one approved by the writer: version 2, and request 1 is now stale.
    expect((await s.act(s.writer.token, 2, "approve")).body.version).toBe(2);
    expect((await s.show(s.owner.token, 1)).body.state).toBe("stale");
    const stale = await s.act(s.second.token, 1, "approve");
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("REQUEST_STALE");
    expect(stale.body.error.hint).toContain("vault requests rebase 1");
    // Someone who is neither its author nor an approver cannot rebase it.
    expect((await s.act(s.reader.token, 1, "rebase")).status).toBe(403);
    const rebased = await s.act(s.writer.token, 1, "rebase");
    expect(rebased.status).toBe(200);
    expect(rebased.body).toMatchObject({
      baseVersion: 2,
      rebased: true,
      summary: { changed: ["A"], removed: ["C"] },
    });
    expect((await s.show(s.owner.token, 1)).body).toMatchObject({
      state: "open",
      baseVersion: 2,
      kind: "set",
    });
    const approved = await s.act(s.second.token, 1, "approve");
    expect(approved.body.version).toBe(3);
    expect(await s.pull()).toEqual({ A: "mine", B: "theirs" });
    expect((await audit(s.h, "requests.rebase")).map((r) => JSON.parse(r.detail))).toEqual([
      { request: 1, from: 1, to: 2 },
    ]);
  });

  it("refuses a rebase, naming them, when a key it changes also changed since its base", async () => {
    const s = await setup();
    await s.h.request("PUT", `${s.env}/secrets`, {
      token: s.writer.token,
      body: { dotenv: "A=mine\nB=2\n" },
    });
    await s.h.request("PATCH", `${s.env}/secrets`, {
      token: s.second.token,
      body: { set: { A: "theirs", C: "33" } },
    });
    expect((await s.act(s.writer.token, 2, "approve")).status).toBe(200);
    const refused = await s.act(s.writer.token, 1, "rebase");
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("both changed A, C");
    expect((await s.show(s.owner.token, 1)).body).toMatchObject({ state: "stale", baseVersion: 1 });
  });
});

describe("a change request's proposed values", () => {
  it("are not in app.db in clear (every table and the raw file bytes), nor in what the keeper receives", async () => {
    const seen: Uint8Array[] = [];
    const s = await setup({
      keeper: (k) => ({
        ...k,
        put: async (blobs) => {
          seen.push(...blobs);
          return k.put(blobs);
        },
        get: (r) => k.get(r),
        delete: (r) => k.delete(r),
        list: (o) => k.list(o),
        stats: () => k.stats(),
        health: () => k.health(),
        rotate: () => k.rotate(),
        rotateRoot: () => k.rotateRoot(),
      }),
    });
    await s.h.request("PUT", `${s.env}/secrets`, {
      token: s.writer.token,
      body: { dotenv: `# note ${SENTINEL}\nA=${SENTINEL}\n` },
    });
    await s.h.request("PATCH", `${s.env}/secrets`, { token: s.writer.token, body: { set: { B: SENTINEL } } });
    const rows = await s.h.appdb.requests.list(s.project.id, { open: true, limit: 10 });
    expect(rows.length).toBe(2);
    const tables = await s.h.appdb.database.client.execute(
      "SELECT name FROM sqlite_master WHERE type = 'table'",
    );
    let text = "";
    for (const { name } of tables.rows) {
      const all = await s.h.appdb.database.client.execute(`SELECT * FROM "${String(name)}"`);
      text += JSON.stringify(all.rows, (_k, v) =>
        v instanceof ArrayBuffer ? Buffer.from(v).toString("latin1") : v,
      );
    }
    expect(text).toContain("writer@example.com");
    expect(text).not.toContain(SENTINEL);
    const dir = join(s.h.dir, "app");
    const raw = Buffer.concat(
      readdirSync(dir)
        .filter((f) => f.startsWith("app.db"))
        .map((f) => readFileSync(join(dir, f))),
    );
    expect(raw.includes(Buffer.from(SENTINEL))).toBe(false);
    expect(seen.length).toBeGreaterThan(0);
    for (const blob of seen) expect(Buffer.from(blob).includes(Buffer.from(SENTINEL))).toBe(false);
  });
});
