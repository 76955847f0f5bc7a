/**
 * The web app's change requests, through `app.handle`: the editor's save and
 * the rollback form to a protected environment open a request (no version),
 * the project's change requests page lists it, a request's page shows its
 * names with values masked, Reveal is a POST for approvers only (audited),
 * Approve, Reject, Withdraw and Rebase are CSRF-protected forms with the
 * API's refusals, and hostile names and values stay escaped.
 */
import { describe, expect, it } from "bun:test";
import type { Harness } from "./harness";
import { startHarness } from "./harness";
import { HOSTILE, location, team } from "./web-helpers";

async function setup() {
  const h = await startHarness();
  const t = await team(h);
  const url = `${t.base}/development/secrets`;
  expect(
    (
      await h.request("PUT", url, {
        token: t.tokens.owner.token,
        body: { dotenv: "A=a-secret-1\nB=b-secret-2\n" },
      })
    ).status,
  ).toBe(200);
  expect(
    (await h.request("PUT", `${t.base}/development/protection`, { token: t.tokens.owner.token, body: {} }))
      .status,
  ).toBe(200);
  const e = `/p/${t.project.id}/e/development`;
  const r = `/p/${t.project.id}/requests`;
  const head = async () =>
    (await h.request("GET", `${t.base}/development/versions`, { token: t.tokens.owner.token })).body
      .head as number;
  return { h, ...t, e, r, url, head };
}

const noValue = (text: string) => expect(text).not.toMatch(/-secret-\d|typed-secret/);

async function events(h: Harness, action: string) {
  await h.ctx.audit.flush();
  return (await h.appdb.audit.list({ limit: 1000 }))
    .filter((row) => row.action === action)
    .map((row) => ({ ...row, detail: JSON.parse(row.detail ?? "{}") }));
}

/** The writer edits A in the editor and saves: a change request. */
async function saveFromEditor(s: Awaited<ReturnType<typeof setup>>) {
  const b = s.browsers.writer;
  await b.get(s.e);
  expect((await b.post(`${s.e}/edit`, { name: "A", value: "typed-secret-9" })).status).toBe(303);
  const review = await b.get(`${s.e}/review`);
  const draft = /name="draft" value="(drf_[0-9a-f]+)"/.exec(review.text)![1]!;
  const revision = /name="revision" value="([0-9]+)"/.exec(review.text)![1]!;
  return b.post(`${s.e}/save`, { draft, revision });
}

describe("change requests in the web app", () => {
  it("holds the editor's save as a change request and sends the author to its page", async () => {
    const s = await setup();
    const saved = await saveFromEditor(s);
    expect(location(saved)).toBe(`${s.r}/1?done=requestopened&n=1`);
    expect(await s.head()).toBe(1);
    const page = await s.browsers.writer.get(`${s.r}/1?done=requestopened&n=1`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("Saved as change request #1");
    expect(page.text).toContain("You opened it: someone else must approve it.");
    expect(page.text).not.toContain('data-testid="approve"');
    expect(page.text).toContain('data-testid="withdraw"');
    noValue(page.text);
    // The draft went with the save.
    expect(
      await s.h.appdb.drafts.ofSession((await s.h.appdb.tokens.liveOfUser(s.tokens.writer.id, 0))[0]!.id),
    ).toEqual([]);
  });

  it("holds the rollback form too", async () => {
    const s = await setup();
    await s.h.request("DELETE", `${s.base}/development/protection`, { token: s.tokens.owner.token });
    await s.h.request("PATCH", s.url, { token: s.tokens.owner.token, body: { set: { C: "c-secret-3" } } });
    await s.h.request("PUT", `${s.base}/development/protection`, { token: s.tokens.owner.token, body: {} });
    const b = s.browsers.writer;
    await b.get(`${s.e}/rollback?to=1`);
    expect(location(await b.post(`${s.e}/rollback`, { to: "1", baseVersion: "2" }))).toBe(
      `${s.r}/1?done=requestopened&n=1`,
    );
    expect(await s.head()).toBe(2);
  });

  it("lists open requests by name, reveals values to approvers only (a POST, audited), and approves into a version", async () => {
    const s = await setup();
    await saveFromEditor(s);
    const list = await s.browsers.reader.get(s.r);
    expect(list.status).toBe(200);
    expect(/<tr data-request="1">.*?<\/tr>/.exec(list.text)![0]).toContain("~A");
    noValue(list.text);
    const project = await s.browsers.reader.get(`/p/${s.project.id}`);
    expect(project.text).toContain(`href="/p/${s.project.id}/requests"`);
    // A reader sees the names; no approve, no reveal; a POST to reveal is refused as the API refuses it.
    const asReader = await s.browsers.reader.get(`${s.r}/1`);
    expect(asReader.text).not.toContain('data-testid="reveal"');
    expect((await s.browsers.reader.post(`${s.r}/1/reveal`)).status).toBe(403);
    // The owner may approve.
    const asOwner = await s.browsers.owner.get(`${s.r}/1`);
    expect(asOwner.text).toContain('data-testid="approve"');
    noValue(asOwner.text);
    const revealed = await s.browsers.owner.post(`${s.r}/1/reveal`);
    expect(revealed.status).toBe(200);
    expect(revealed.text).toContain("typed-secret-9");
    expect(revealed.text).toContain("a-secret-1");
    const [read] = (await events(s.h, "secrets.read")).filter((r) => r.detail.request === 1);
    expect(read).toMatchObject({
      actorLabel: "owner@example.com",
      detail: { reason: "change request", names: ["A"] },
    });
    expect(location(await s.browsers.owner.post(`${s.r}/1/approve`))).toBe(`${s.r}/1?done=approved&n=2`);
    expect(await s.head()).toBe(2);
    const after = await s.browsers.owner.get(`${s.r}/1?done=approved&n=2`);
    expect(after.text).toContain("Approved: the change is now version 2.");
    expect(after.text).toContain("approved and applied");
  });

  it("refuses the author's own approval, a reader's, and forged CSRF; rejects with a reason; withdraws", async () => {
    const s = await setup();
    await saveFromEditor(s);
    const self = await s.browsers.writer.post(`${s.r}/1/approve`);
    expect(self.status).toBe(403);
    expect(self.text).toContain("someone else must approve it");
    expect((await s.browsers.reader.post(`${s.r}/1/approve`)).status).toBe(403);
    expect((await s.browsers.none.get(`${s.r}/1`)).status).toBe(404);
    expect((await s.browsers.stranger.get(`${s.r}/1`)).status).toBe(404);
    for (const csrf of ["", "forged", s.browsers.writer.token]) {
      expect((await s.browsers.owner.go("POST", `${s.r}/1/approve`, { csrf })).status).toBe(403);
    }
    expect(await s.head()).toBe(1);
    expect(
      location(await s.browsers.admin.post(`${s.r}/1/reject`, { reason: "<script>alert(1)</script>" })),
    ).toBe(`${s.r}/1?done=rejected&n=1`);
    const rejected = await s.browsers.writer.get(`${s.r}/1`);
    expect(rejected.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(rejected.text).not.toContain("<script>alert(1)");
    await saveFromEditor(s);
    expect((await s.browsers.owner.post(`${s.r}/2/withdraw`)).status).toBe(403);
    expect(location(await s.browsers.writer.post(`${s.r}/2/withdraw`))).toBe(`${s.r}/2?done=withdrawn&n=2`);
    const all = await s.browsers.writer.get(`${s.r}?all=1`);
    expect(all.text).toContain("withdrawn");
    expect(all.text).toContain("rejected");
    expect((await s.browsers.writer.get(s.r)).text).toContain("No open change requests.");
  });

  it("offers Rebase for a stale request, and escapes hostile names and values", async () => {
    const s = await setup();
    await s.h.request("PATCH", s.url, {
      token: s.tokens.writer.token,
      body: { set: { [HOSTILE.names[0]!]: HOSTILE.values[0]!, B: HOSTILE.values[2]! } },
    });
    await s.h.request("PATCH", s.url, { token: s.tokens.writer.token, body: { set: { Z: "z" } } });
    expect(
      (
        await s.h.request("POST", `/api/v1/projects/${s.project.id}/requests/2/approve`, {
          token: s.tokens.owner.token,
        })
      ).status,
    ).toBe(200);
    const stale = await s.browsers.owner.get(`${s.r}/1`);
    expect(stale.text).toContain("stale: the environment moved on");
    expect(stale.text).toContain('data-testid="rebase"');
    expect(stale.text).not.toContain('data-testid="approve"');
    expect(location(await s.browsers.owner.post(`${s.r}/1/rebase`))).toBe(`${s.r}/1?done=rebased&n=2`);
    const revealed = await s.browsers.owner.post(`${s.r}/1/reveal`);
    for (const value of [HOSTILE.values[0]!, HOSTILE.values[2]!]) expect(revealed.text).not.toContain(value);
    expect(revealed.text).toContain("&lt;script&gt;alert(&#39;v&#39;)&lt;/script&gt;");
    expect(location(await s.browsers.owner.post(`${s.r}/1/approve`))).toBe(`${s.r}/1?done=approved&n=3`);
  });
});
