/**
 * History, the diff of two versions, rollback, and the comparison of two
 * environments, through `app.handle`: the same services and refusals as the
 * API (versions, diff, diff?other=, rollback), names only in every page.
 */
import { describe, expect, it } from "bun:test";
import type { Harness } from "./harness";
import { startHarness } from "./harness";
import { HOSTILE, location, team } from "./web-helpers";

async function setup() {
  const h = await startHarness();
  const t = await team(h);
  const url = (env: string) => `${t.base}/${env}/secrets`;
  const push = (env: string, dotenv: string, token = t.tokens.owner.token) =>
    h.request("PUT", url(env), { token, body: { dotenv } });
  expect((await push("development", "A=a-secret-1\nB=b-secret-2\n")).status).toBe(200);
  expect((await push("development", "A=a-secret-3\nC=c-secret-4\n", t.tokens.writer.token)).status).toBe(200);
  expect((await push("staging", "A=a-secret-5\nD=d-secret-6\n")).status).toBe(200);
  const e = `/p/${t.project.id}/e/development`;
  const pull = async (env = "development") =>
    (await h.request("GET", url(env), { token: t.tokens.owner.token })).body.dotenv as string;
  return { h, ...t, e, url, push, pull };
}

const noValue = (text: string) => expect(text).not.toMatch(/-secret-\d/);

async function events(h: Harness, action: string) {
  await h.ctx.audit.flush();
  return (await h.appdb.audit.list({ limit: 1000 }))
    .filter((r) => r.action === action)
    .map((r) => ({ ...r, detail: JSON.parse(r.detail ?? "{}") }));
}

describe("history", () => {
  it("lists the versions newest first with author, time and what changed, and no value", async () => {
    const s = await setup();
    const res = await s.browsers.reader.get(`${s.e}/history`);
    expect(res.status).toBe(200);
    const rows = res.text.match(/<tr data-version="\d+">.*?<\/tr>/g)!;
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain("v2");
    expect(rows[0]).toContain("latest");
    expect(rows[0]).toContain("writer@example.com");
    expect(rows[0]).toContain("2030-01-01 00:00 UTC");
    expect(rows[0]).toContain("push: added C; changed A; removed B");
    expect(rows[1]).toContain("owner@example.com");
    expect(rows[1]).toContain("push: added A, B");
    noValue(res.text);
  });

  it("pages the history 50 versions at a time", async () => {
    const s = await setup();
    for (let i = 0; i < 55; i++) {
      await s.h.request("PATCH", s.url("development"), {
        token: s.tokens.owner.token,
        body: { set: { N: `${i}` } },
      });
    }
    const first = await s.browsers.owner.get(`${s.e}/history`);
    expect(first.text.match(/<tr data-version=/g)).toHaveLength(50);
    expect(first.text).toContain(`href="${s.e}/history?before=8"`);
    const next = await s.browsers.owner.get(`${s.e}/history?before=8`);
    expect(next.text.match(/<tr data-version="(\d+)"/g)!.map((m) => m.replace(/\D/g, ""))).toEqual([
      "7",
      "6",
      "5",
      "4",
      "3",
      "2",
      "1",
    ]);
  });

  it("diffs any two versions by name through the API's diff, values never in the page", async () => {
    const s = await setup();
    const res = await s.browsers.reader.get(`${s.e}/diff?from=1&to=2`);
    expect(res.status).toBe(200);
    const api = await s.h.request("GET", `${s.base}/development/diff?from=1&to=2`, {
      token: s.tokens.reader.token,
    });
    expect(api.body).toMatchObject({ added: ["C"], changed: ["A"], removed: ["B"], unchanged: 0 });
    for (const name of ["A", "B", "C"]) expect(res.text).toContain(`<tr data-name="${name}">`);
    expect(res.text).toContain(
      "3 differences</strong>: 1 removed, 1 added, 1 changed; 0 keys the same in both",
    );
    noValue(res.text);
    // The API's defaults: the version before the latest to the latest.
    expect((await s.browsers.reader.get(`${s.e}/diff`)).text).toContain("development: version 1 to 2");
    expect((await s.browsers.reader.get(`${s.e}/diff?from=1&to=9`)).status).toBe(404);
    expect((await s.browsers.reader.get(`${s.e}/diff?from=x`)).status).toBe(400);
    // The diff opened values to compare them, but revealed none: no read is audited.
    expect(await events(s.h, "secrets.read")).toEqual([]);
  });

  it("rolls back after a confirmation page, as the API's rollback does, and refuses a stale confirmation", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    const confirm = await b.get(`${s.e}/rollback?to=1`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain("This makes version 3, equal to version 1.");
    expect(confirm.text).toContain('name="baseVersion" value="2"');
    expect(confirm.text).toContain("data-confirm=");
    noValue(confirm.text);
    expect(location(await b.post(`${s.e}/rollback`, { to: "1", baseVersion: "2" }))).toBe(
      `${s.e}/history?done=rolledback&n=3`,
    );
    expect(await s.pull()).toBe("A=a-secret-1\nB=b-secret-2\n");
    const [event] = await events(s.h, "secrets.rollback");
    expect(event!.detail).toMatchObject({ version: 3 });
    expect(event!.actorLabel).toBe("writer@example.com");
    // A confirmation for version 2 as the head, after version 3 was made: nothing rolled back.
    const stale = await b.post(`${s.e}/rollback`, { to: "2", baseVersion: "2" });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain("moved on since the confirmation page");
    expect(await s.pull()).toBe("A=a-secret-1\nB=b-secret-2\n");
    expect((await b.get(`${s.e}/rollback?to=9`)).status).toBe(404);
  });

  it("refuses history, diff and rollback to whom the API refuses them, per role; CSRF refused", async () => {
    const s = await setup();
    for (const role of ["owner", "writer", "reader", "none", "admin", "stranger"] as const) {
      const token = s.tokens[role].token;
      const b = s.browsers[role];
      const read = (await s.h.request("GET", `${s.base}/development/versions`, { token })).status;
      const write = (
        await s.h.request("POST", `${s.base}/development/rollback`, {
          token,
          body: { version: 1, baseVersion: 99 },
        })
      ).status;
      const allowed = (status: number, ok: number) => (status === 409 ? ok : status);
      const got = {
        history: (await b.get(`${s.e}/history`)).status,
        diff: (await b.get(`${s.e}/diff?from=1&to=2`)).status,
        confirm: (await b.get(`${s.e}/rollback?to=1`)).status,
        rollback: (await b.post(`${s.e}/rollback`, { to: "1", baseVersion: "99" })).status,
      };
      expect({ role, ...got }).toEqual({
        role,
        history: read,
        diff: read,
        confirm: allowed(write, 200),
        // Allowed: a stale base version, so the page's own 409 (nothing is rolled back).
        rollback: write,
      });
    }
    const reader = await s.browsers.reader.get(`${s.e}/history`);
    expect(reader.text).toContain('id="readonly"');
    expect(reader.text).not.toContain("/rollback?to=");
    for (const csrf of ["", "forged", s.browsers.owner.token]) {
      const res = await s.browsers.writer.go("POST", `${s.e}/rollback`, { csrf, to: "1", baseVersion: "2" });
      expect(res.status).toBe(403);
    }
    expect(await s.pull()).toBe("A=a-secret-3\nC=c-secret-4\n");
  });
});

describe("compare two environments", () => {
  it("shows the keys missing on either side and the values that differ, masked, as the API's diff?other= says", async () => {
    const s = await setup();
    const res = await s.browsers.reader.get(`${s.e}/compare?with=staging`);
    expect(res.status).toBe(200);
    const api = await s.h.request("GET", `${s.base}/development/diff?other=staging`, {
      token: s.tokens.reader.token,
    });
    expect(api.body).toMatchObject({ added: ["D"], removed: ["C"], changed: ["A"], unchanged: 0 });
    expect(res.text).toContain("1 only in development, 1 only in staging, 1 with different values");
    expect(/<tr data-name="C">.*?<\/tr>/.exec(res.text)![0]).toContain("missing");
    expect(/<tr data-name="D">.*?<\/tr>/.exec(res.text)![0]).toContain("missing");
    expect(res.text).toContain('<option value="staging" selected>staging</option>');
    noValue(res.text);
    // Without ?with=, the first other environment the caller reads.
    expect((await s.browsers.reader.get(`${s.e}/compare`)).text).toContain("development and staging");
  });

  it("refuses a comparison with an environment the caller cannot read, as the API does", async () => {
    const s = await setup();
    const page = await s.browsers.reader.get(`${s.e}/compare?with=production`);
    const api = await s.h.request("GET", `${s.base}/development/diff?other=production`, {
      token: s.tokens.reader.token,
    });
    expect(page.status).toBe(api.status);
    expect(page.status).toBe(403);
    expect((await s.browsers.reader.get(`${s.e}/compare?with=nope`)).status).toBe(404);
    expect((await s.browsers.stranger.get(`${s.e}/compare?with=staging`)).status).toBe(404);
    expect((await s.browsers.none.get(`${s.e}/compare?with=staging`)).status).toBe(403);
    // The picker lists only the environments the caller reads.
    const picker = await s.browsers.reader.get(`${s.e}/compare`);
    expect(picker.text).not.toContain('<option value="production"');
    expect(picker.text).not.toContain('<option value="ci"');
  });

  it("never shows hostile values, only their names", async () => {
    const s = await setup();
    const set = Object.fromEntries(HOSTILE.values.map((v, i) => [`H_${i}`, v]));
    await s.h.request("PATCH", s.url("staging"), { token: s.tokens.owner.token, body: { set } });
    const res = await s.browsers.owner.get(`${s.e}/compare?with=staging`);
    for (const value of HOSTILE.values) expect(res.text).not.toContain(value);
    expect(res.text).toContain('<tr data-name="H_0">');
  });
});
