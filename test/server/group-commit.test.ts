/**
 * Group commit on the write path (issue 17): pushes that arrive together share
 * one transaction (one sync) in the keeper's vault.db and one in app.db, where
 * each version commits with its own audit event; what a single push sees does
 * not change: its version number, its 409, its audit event, and its own
 * error when the shared transaction fails for a reason of its own.
 */
import { describe, expect, it } from "bun:test";
import type { InStatement } from "@libsql/client";
import { projectWith } from "./fixtures";
import { type Harness, startHarness } from "./harness";

const ENVS = ["development", "staging", "production", "e1", "e2", "e3", "e4", "e5"];

/** Every app.db transaction that carried versions: how many, and whether it committed. */
function watchAppCommits(h: Harness) {
  const commits: { versions: number; ok: boolean }[] = [];
  const append = h.appdb.audit.append.bind(h.appdb.audit);
  h.appdb.audit.append = async (events, at, riders) => {
    const versions = (riders ?? []).filter((s: InStatement) =>
      (typeof s === "string" ? s : s.sql).startsWith("INSERT INTO versions"),
    ).length;
    try {
      await append(events, at, riders);
      if (versions > 0) commits.push({ versions, ok: true });
    } catch (error) {
      if (versions > 0) commits.push({ versions, ok: false });
      throw error;
    }
  };
  return commits;
}

async function setup() {
  const keeperCommits: number[] = [];
  const h = await startHarness({ onKeeperCommit: (puts) => keeperCommits.push(puts) });
  const { owner, project, base } = await projectWith(h);
  for (const name of ENVS) {
    if (await h.appdb.projects.environment(project.id, name)) continue;
    const made = await h.request("POST", `/api/v1/projects/${project.id}/environments`, {
      token: owner.token,
      body: { name },
    });
    expect(made.status).toBe(201);
  }
  const push = (env: string, dotenv: string, baseVersion?: number) =>
    h.request("PUT", `${base}/${env}/secrets`, {
      token: owner.token,
      body: baseVersion === undefined ? { dotenv } : { dotenv, baseVersion },
    });
  const envId = async (name: string) => (await h.appdb.projects.environment(project.id, name))!.id;
  const pushEvents = async () =>
    (await h.appdb.audit.list({ action: "secrets.push", limit: 1000 }))
      .map((e) => ({ env: e.environmentId, version: JSON.parse(e.detail!).version as number }))
      .sort((a, b) => `${a.env}/${a.version}`.localeCompare(`${b.env}/${b.version}`));
  return { h, keeperCommits, push, envId, pushEvents, project, base, owner };
}

describe("group commit of pushes", () => {
  it("concurrent pushes to different environments commit in fewer transactions than pushes, in the keeper and in app.db, each with its exact version and audit event", async () => {
    const { h, keeperCommits, push, envId, pushEvents, base, owner } = await setup();
    const appCommits = watchAppCommits(h);
    keeperCommits.length = 0;
    const answers = await Promise.all(ENVS.map((env, i) => push(env, `K=${i}\nOTHER=${env}\n`)));
    expect(answers.map((a) => a.status)).toEqual(ENVS.map(() => 200));
    expect(answers.map((a) => a.body.version)).toEqual(ENVS.map(() => 1));

    // Fewer transactions than pushes, and every push in exactly one committed transaction.
    expect(keeperCommits.length).toBeLessThan(ENVS.length);
    expect(keeperCommits.reduce((a, b) => a + b, 0)).toBe(ENVS.length);
    expect(appCommits.length).toBeLessThan(ENVS.length);
    expect(appCommits.every((c) => c.ok)).toBe(true);
    expect(appCommits.reduce((a, c) => a + c.versions, 0)).toBe(ENVS.length);

    // One secrets.push event per push, with its version; the chain verifies.
    const ids = await Promise.all(ENVS.map(envId));
    expect(await pushEvents()).toEqual(
      ids.map((env) => ({ env, version: 1 })).sort((a, b) => a.env.localeCompare(b.env)),
    );
    expect((await h.appdb.audit.verify()).ok).toBe(true);

    // Each environment holds what was pushed to it, and the next push makes version 2.
    for (const [i, env] of ENVS.entries()) {
      const pull = await h.request("GET", `${base}/${env}/secrets?format=json`, { token: owner.token });
      expect(pull.body).toMatchObject({ version: 1, values: { K: String(i), OTHER: env } });
      expect((await push(env, `K=${i}\nOTHER=${env}\nMORE=1\n`)).body.version).toBe(2);
    }
  });

  it("two pushes to one environment at the same moment still get N+1 and a 409", async () => {
    const { push, envId, pushEvents } = await setup();
    expect((await push("staging", "A=1\n")).body.version).toBe(1);
    const [a, b] = await Promise.all([push("staging", "A=2\n", 1), push("staging", "A=3\n", 1)]);
    expect([a!.status, b!.status]).toEqual([200, 409]);
    expect(a!.body.version).toBe(2);
    expect(b!.body.error.code).toBe("VERSION_CONFLICT");
    const id = await envId("staging");
    expect((await pushEvents()).filter((e) => e.env === id)).toEqual([
      { env: id, version: 1 },
      { env: id, version: 2 },
    ]);
  });

  it("a push whose version another writer took fails alone with its 409; the pushes it shared a transaction with commit", async () => {
    const { h, push, envId, pushEvents } = await setup();
    for (const env of ENVS) expect((await push(env, "A=1\n")).body.version).toBe(1);
    // Another app on the same app.db (split hosts) makes version 2 of e3 behind this one's back.
    const taken = await envId("e3");
    await h.appdb.database.client.batch(
      [
        {
          sql: "INSERT INTO versions (environment_id, number, entries, layout_ref, summary, kind, author_label, created_at, mac, resolves) VALUES (?, 2, '[]', x'00', '{}', 'push', 'elsewhere', 0, x'00', 1)",
          args: [taken],
        },
        { sql: "UPDATE environments SET head = 2 WHERE id = ?", args: [taken] },
      ],
      "write",
    );
    const appCommits = watchAppCommits(h);
    const answers = await Promise.all(ENVS.map((env) => push(env, `A=2\nB=${env}\n`, 1)));
    expect(answers.map((a) => a.status)).toEqual(ENVS.map((env) => (env === "e3" ? 409 : 200)));
    expect(answers[ENVS.indexOf("e3")]!.body.error.code).toBe("VERSION_CONFLICT");
    for (const [i, env] of ENVS.entries()) if (env !== "e3") expect(answers[i]!.body.version).toBe(2);

    // The shared transaction failed on e3's version, and was tried push by push.
    expect(appCommits[0]).toEqual({ versions: ENVS.length, ok: false });
    expect(appCommits.filter((c) => c.ok).map((c) => c.versions)).toEqual(ENVS.slice(1).map(() => 1));
    expect(appCommits.filter((c) => !c.ok)).toHaveLength(2);

    // Exactly the committed pushes are audited, and the chain verifies.
    const ids = await Promise.all(ENVS.map(envId));
    const expected = ids
      .flatMap((env) =>
        env === taken
          ? [{ env, version: 1 }]
          : [
              { env, version: 1 },
              { env, version: 2 },
            ],
      )
      .sort((a, b) => `${a.env}/${a.version}`.localeCompare(`${b.env}/${b.version}`));
    expect(await pushEvents()).toEqual(expected);
    expect((await h.appdb.audit.verify()).ok).toBe(true);
  });

  it("a shared transaction that fails for one push's own reason leaves the others' versions and events", async () => {
    const { h, push, envId, pushEvents } = await setup();
    const bad = await envId("e2");
    const append = h.appdb.audit.append.bind(h.appdb.audit);
    // A write that fails whenever e2's version is in the transaction (a fault of that push alone).
    h.appdb.audit.append = async (events, at, riders) => {
      if ((riders ?? []).some((s) => typeof s !== "string" && (s.args as unknown[])?.[0] === bad))
        throw new Error("injected failure of e2's write");
      return append(events, at, riders);
    };
    const answers = await Promise.all(ENVS.map((env) => push(env, `A=${env}\n`)));
    expect(answers.map((a) => a.status)).toEqual(ENVS.map((env) => (env === "e2" ? 500 : 200)));
    const ids = await Promise.all(ENVS.map(envId));
    expect(await pushEvents()).toEqual(
      ids
        .filter((id) => id !== bad)
        .map((env) => ({ env, version: 1 }))
        .sort((a, b) => a.env.localeCompare(b.env)),
    );
    expect((await h.appdb.projects.environmentById(bad))!.head).toBe(0);
  });
});
