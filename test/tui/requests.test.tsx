/**
 * Change requests in the TUI against a real server in process: a save in
 * the secrets screen of a protected environment opens a request (and says
 * so); the change requests screen (R on the environments screen) lists it
 * with its names masked, refuses the author's own approval, shows the values
 * to an approver only after asking, and approves, rejects and rebases after
 * asking.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { MASK } from "../../src/tui";
import type { Harness } from "../server/harness";
import { KEYS, makeProject, type Rendered, renderApp, setup } from "./helpers";

let ui: Rendered | undefined;
afterEach(() => {
  ui?.unmount();
  ui = undefined;
});

async function protectedProject() {
  const { h, owner } = await setup();
  const id = await makeProject(h, owner.token, "shop", "API_KEY=sk_live_7c1a\n");
  const second = await h.user("second@example.com");
  const base = `/api/v1/projects/${id}`;
  await h.request("POST", `${base}/members`, {
    token: owner.token,
    body: { email: second.email, permissions: { development: "write" } },
  });
  await h.request("PUT", `${base}/environments/development/protection`, { token: owner.token, body: {} });
  return { h, owner, second, id, base };
}

const headOf = async (h: Harness, token: string, base: string) =>
  (await h.request("GET", `${base}/environments/development/versions`, { token })).body.head as number;

async function openRequests(h: Harness, token: string) {
  ui = renderApp(h, token);
  await ui.until("shop");
  await ui.press(KEYS.enter);
  await ui.until("development *");
  await ui.press("R");
  await ui.until("Change requests");
  return ui;
}

describe("change requests in the TUI", () => {
  it("a save in a protected environment opens a change request and says so; no version is made", async () => {
    const { h, owner, base } = await protectedProject();
    ui = renderApp(h, owner.token);
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    await ui.press(KEYS.enter);
    await ui.until("API_KEY");
    await ui.press("e");
    await ui.until("new value of API_KEY");
    await ui.type("sk_live_NEW");
    await ui.press(KEYS.enter);
    await ui.until("1 pending");
    await ui.press("w");
    await ui.until("Review: 1 change");
    await ui.press(KEYS.enter);
    await ui.until("change request #1 opened");
    expect(await headOf(h, owner.token, base)).toBe(1);
    // Its author cannot approve it.
    await ui.press("q");
    await ui.until("development *");
    await ui.press("R");
    await ui.until("#1");
    await ui.press("a");
    await ui.until("you opened it: someone else must approve it");
    expect(ui.frames()).not.toContain("sk_live_NEW");
  });

  it("lists a request with names masked, reveals values after asking, and approves it into the next version", async () => {
    const { h, owner, second, base } = await protectedProject();
    await h.request("PATCH", `${base}/environments/development/secrets`, {
      token: second.token,
      body: { set: { API_KEY: "sk_live_FROM_SECOND", NEW_ONE: "n1" } },
    });
    const r = await openRequests(h, owner.token);
    const frame = await r.until("second@example.com");
    expect(frame).toMatch(/#1\s+development\s+open/);
    expect(frame).toContain(`~ API_KEY = ${MASK}`);
    expect(frame).toContain(`+ NEW_ONE = ${MASK}`);
    await r.press("v");
    await r.until("Show the values of change request #1?");
    await r.press("y");
    await r.until("sk_live_7c1a → sk_live_FROM_SECOND");
    await r.press("v");
    await r.until((f) => !f.includes("sk_live_FROM_SECOND"));
    await r.press("a");
    await r.until("Approve change request #1? (development becomes version 2)");
    await r.press("y");
    await r.until("approved #1: development is now version 2");
    expect(await headOf(h, owner.token, base)).toBe(2);
    await r.until("no open change requests");
    await r.press("A");
    await r.until(/#1\s+development\s+applied/);
  });

  it("rejects after asking, and rebases a stale request before it can be approved", async () => {
    const { h, owner, second, base } = await protectedProject();
    const patch = (body: object) =>
      h.request("PATCH", `${base}/environments/development/secrets`, { token: second.token, body });
    await patch({ set: { A: "1" } });
    await patch({ set: { B: "2" } });
    await patch({ set: { C: "3" } });
    // #3 applied: #1 and #2 are stale now.
    await h.request("POST", `${base}/requests/3/approve`, { token: owner.token });
    const r = await openRequests(h, owner.token);
    await r.until(/#2\s+development\s+stale/);
    await r.press("a");
    await r.until("stale: rebase it first (b)");
    await r.press("b");
    await r.until("Rebase change request #2 on version 2 of development?");
    await r.press("y");
    await r.until("rebased #2 on version 2");
    await r.until(/#2\s+development\s+open/);
    await r.press("a");
    await r.until("Approve change request #2?");
    await r.press("y");
    await r.until("approved #2: development is now version 3");
    // The list reloaded: only #1 is left (and it is the one selected).
    await r.until((f) => /#1\s+development\s+stale/.test(f) && !/#2\s+development/.test(f));
    await r.press("x");
    await r.until("Reject change request #1?");
    await r.press("y");
    await r.until("rejected #1");
    await r.until("no open change requests");
  });
});
