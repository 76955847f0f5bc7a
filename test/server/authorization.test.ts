/**
 * The authorization matrix: every kind of caller against every kind of
 * operation, with the status each must get, and a check that a refused call
 * changed nothing.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { newId } from "../../src/appdb";
import { createUserService } from "../../src/server";
import { hashCredential } from "../../src/server/auth/credentials";
import { type Harness, startHarness } from "./harness";

type Who =
  | "owner"
  | "admin"
  | "none"
  | "read"
  | "write"
  | "svcRead"
  | "svcWrite"
  | "expired"
  | "revoked"
  | "disabled"
  | "svcOfDisabled"
  | "meOther";
const WHO: Who[] = [
  "owner",
  "admin",
  "none",
  "read",
  "write",
  "svcRead",
  "svcWrite",
  "expired",
  "revoked",
  "disabled",
  "svcOfDisabled",
  "meOther",
];

interface Op {
  name: string;
  call(h: Harness, token: string, p: string): Promise<{ status: number }>;
  expect: Record<Who, number>;
}

const dead = { expired: 401, revoked: 401, disabled: 401, svcOfDisabled: 401, meOther: 404 } as const;
const readAll = {
  owner: 200,
  admin: 200,
  none: 404,
  read: 200,
  write: 200,
  svcRead: 200,
  svcWrite: 200,
  ...dead,
};
const manage = (ok: number) => ({
  owner: ok,
  admin: ok,
  none: 404,
  read: 403,
  write: 403,
  svcRead: 403,
  svcWrite: 403,
  ...dead,
});

let counter = 0;
const OPS: Op[] = [
  {
    name: "see the project",
    call: (h, t, p) => h.request("GET", `/api/v1/projects/${p}`, { token: t }),
    expect: readAll,
  },
  {
    name: "pull development",
    call: (h, t, p) =>
      h.request("GET", `/api/v1/projects/${p}/environments/development/secrets`, { token: t }),
    expect: readAll,
  },
  {
    name: "pull production",
    call: (h, t, p) =>
      h.request("GET", `/api/v1/projects/${p}/environments/production/secrets`, { token: t }),
    expect: {
      owner: 200,
      admin: 200,
      none: 404,
      read: 403,
      write: 403,
      svcRead: 403,
      svcWrite: 403,
      ...dead,
    },
  },
  {
    name: "list versions of development",
    call: (h, t, p) =>
      h.request("GET", `/api/v1/projects/${p}/environments/development/versions`, { token: t }),
    expect: readAll,
  },
  {
    name: "push development",
    call: (h, t, p) =>
      h.request("PUT", `/api/v1/projects/${p}/environments/development/secrets`, {
        token: t,
        body: { dotenv: `A=${++counter}\n` },
      }),
    expect: {
      owner: 200,
      admin: 200,
      none: 404,
      read: 403,
      write: 200,
      svcRead: 403,
      svcWrite: 200,
      ...dead,
    },
  },
  {
    name: "set a key in development",
    call: (h, t, p) =>
      h.request("PATCH", `/api/v1/projects/${p}/environments/development/secrets`, {
        token: t,
        body: { set: { B: `${++counter}` } },
      }),
    expect: {
      owner: 200,
      admin: 200,
      none: 404,
      read: 403,
      write: 200,
      svcRead: 403,
      svcWrite: 200,
      ...dead,
    },
  },
  {
    name: "push production",
    call: (h, t, p) =>
      h.request("PUT", `/api/v1/projects/${p}/environments/production/secrets`, {
        token: t,
        body: { dotenv: `A=${++counter}\n` },
      }),
    expect: {
      owner: 200,
      admin: 200,
      none: 404,
      read: 403,
      write: 403,
      svcRead: 403,
      svcWrite: 403,
      ...dead,
    },
  },
  {
    name: "rename the project",
    call: (h, t, p) =>
      h.request("PATCH", `/api/v1/projects/${p}`, { token: t, body: { name: `shop-${++counter}` } }),
    expect: manage(200),
  },
  {
    name: "add an environment",
    call: (h, t, p) =>
      h.request("POST", `/api/v1/projects/${p}/environments`, { token: t, body: { name: `e${++counter}` } }),
    expect: manage(201),
  },
  {
    name: "add a member",
    call: (h, t, p) =>
      h.request("POST", `/api/v1/projects/${p}/members`, { token: t, body: { email: "extra@example.com" } }),
    expect: manage(201),
  },
  {
    name: "create a service token",
    call: (h, t, p) =>
      h.request("POST", `/api/v1/projects/${p}/tokens`, {
        token: t,
        body: { name: `t${++counter}`, environments: ["ci"] },
      }),
    expect: manage(201),
  },
  {
    name: "list service tokens",
    call: (h, t, p) => h.request("GET", `/api/v1/projects/${p}/tokens`, { token: t }),
    expect: manage(200),
  },
  {
    name: "rotate the DOTENV_KEY of development",
    call: (h, t, p) =>
      h.request("POST", `/api/v1/projects/${p}/environments/development/rotate-key`, { token: t }),
    expect: manage(200),
  },
  {
    name: "read the DOTENV_KEY of development",
    call: (h, t, p) => h.request("GET", `/api/v1/projects/${p}/keys?environment=development`, { token: t }),
    expect: readAll,
  },
  {
    name: "list members",
    call: (h, t, p) => h.request("GET", `/api/v1/projects/${p}/members`, { token: t }),
    expect: { ...readAll, svcRead: 403, svcWrite: 403 },
  },
  {
    name: "read the project's audit",
    call: (h, t, p) => h.request("GET", `/api/v1/audit?project=${p}`, { token: t }),
    expect: manage(200),
  },
  {
    name: "list the instance's users",
    call: (h, t) => h.request("GET", "/api/v1/users", { token: t }),
    expect: {
      owner: 200,
      admin: 200,
      none: 403,
      read: 403,
      write: 403,
      svcRead: 403,
      svcWrite: 403,
      expired: 401,
      revoked: 401,
      disabled: 401,
      svcOfDisabled: 401,
      meOther: 403,
    },
  },
  {
    name: "list one's own sessions",
    call: (h, t) => h.request("GET", "/api/v1/me/sessions", { token: t }),
    expect: {
      owner: 200,
      admin: 200,
      none: 200,
      read: 200,
      write: 200,
      svcRead: 403,
      svcWrite: 403,
      expired: 401,
      revoked: 401,
      disabled: 401,
      svcOfDisabled: 401,
      meOther: 403,
    },
  },
];

let h: Harness;
let project: string;
const tokens = {} as Record<Who, string>;

async function state() {
  const envs = await h.appdb.projects.environments(project);
  return JSON.stringify({
    project: await h.appdb.projects.byId(project),
    envs: envs.map((e) => [e.name, e.head]),
    members: await h.appdb.projects.members(project),
    grants: await h.appdb.projects.projectGrants(project),
    tokens: (await h.appdb.tokens.listServiceTokens(project)).map((t) => [t.id, t.revokedAt]),
  });
}

beforeAll(async () => {
  h = await startHarness();
  const owner = await h.user("owner@example.com", "owner");
  const admin = await h.user("admin@example.com", "admin");
  const none = await h.user("none@example.com");
  const read = await h.user("read@example.com");
  const write = await h.user("write@example.com");
  const disabled = await h.user("disabled@example.com");
  await createUserService({ appdb: h.appdb, audit: h.ctx.audit, now: h.clock.now, random: h.ctx.random }).add(
    {
      email: "extra@example.com",
      role: "member",
      password: "another long password",
    },
  );
  project = (await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "shop" } })).body
    .id;
  const other = (
    await h.request("POST", "/api/v1/projects", { token: write.token, body: { name: "elsewhere" } })
  ).body.id;
  const base = `/api/v1/projects/${project}`;
  for (const [u, permission] of [
    [none, null],
    [read, "read"],
    [write, "write"],
  ] as const) {
    await h.request("POST", `${base}/members`, {
      token: owner.token,
      body: { email: u.email, ...(permission ? { permissions: { development: permission } } : {}) },
    });
  }
  // A project owner who makes a write token and is then disabled: the token dies with them.
  await h.request("POST", `${base}/members`, {
    token: owner.token,
    body: { email: disabled.email, role: "owner" },
  });
  const svcOfDisabled = (
    await h.request("POST", `${base}/tokens`, {
      token: disabled.token,
      body: { name: "svc-of-disabled", environments: ["development", "production"], write: true },
    })
  ).body;
  const svc = async (write: boolean) =>
    (
      await h.request("POST", `${base}/tokens`, {
        token: owner.token,
        body: { name: `svc-${write}`, environments: ["development"], write },
      })
    ).body;
  const svcRead = await svc(false);
  const svcWrite = await svc(true);
  const revoked = await svc(true);
  await h.request("DELETE", `${base}/tokens/${revoked.id}`, { token: owner.token });
  const expired = `vst_${"ab".repeat(32)}`;
  const envs = await h.appdb.projects.environments(project);
  await h.appdb.tokens.insert({
    id: newId.token(h.ctx.random),
    kind: "service",
    hash: hashCredential(h.appdb.credentialKey, expired),
    projectId: project,
    name: "expired",
    canWrite: true,
    environments: JSON.stringify(envs.map((e) => e.id)),
    createdBy: owner.id,
    createdAt: h.clock.now() - 10_000,
    expiresAt: h.clock.now() - 1,
  });
  const meOther = (await h.request("POST", `/api/v1/projects/${other}/me`, { token: write.token })).body
    .token;
  await createUserService({
    appdb: h.appdb,
    audit: h.ctx.audit,
    now: h.clock.now,
    random: h.ctx.random,
  }).disable("disabled@example.com");
  Object.assign(tokens, {
    owner: owner.token,
    admin: admin.token,
    none: none.token,
    read: read.token,
    write: write.token,
    svcRead: svcRead.token,
    svcWrite: svcWrite.token,
    expired,
    revoked: revoked.token,
    disabled: disabled.token,
    svcOfDisabled: svcOfDisabled.token,
    meOther,
  });
});

describe("authorization matrix", () => {
  for (const op of OPS) {
    for (const who of WHO) {
      it(`${who}: ${op.name} -> ${op.expect[who]}`, async () => {
        const before = await state();
        const res = await op.call(h, tokens[who], project);
        expect(res.status).toBe(op.expect[who]);
        if (res.status >= 400) expect(await state()).toBe(before);
      });
    }
  }
});
