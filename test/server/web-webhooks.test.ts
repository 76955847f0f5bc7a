/**
 * The webhooks pages: every role refused exactly as the API refuses it, CSRF refused, the
 * signing secret shown once (on the answer to the form, never on a page after), hostile URLs
 * escaped, and ping, redeliver, disable, rotate and delete through the same service as the API.
 */
import { describe, expect, it } from "bun:test";
import { parseIpRange } from "../../src/ip-range";
import { startReceiver } from "../helpers/webhook-receiver";
import { type Harness, startHarness } from "./harness";
import { location, team, type WebBrowser } from "./web-helpers";

type Team = Awaited<ReturnType<typeof team>>;
type Role = keyof Team["browsers"];
const ROLES: Role[] = ["owner", "writer", "reader", "none", "admin", "stranger"];
const MANAGE = { owner: 200, admin: 200, writer: 403, reader: 403, none: 403, stranger: 404 } as const;

const harness = () =>
  startHarness({ config: { webhooksAllowHttp: true, webhooksAllowPrivate: [parseIpRange("127.0.0.1/32")] } });

async function sameRefusals(
  t: Team,
  web: (b: WebBrowser, role: Role) => Promise<{ status: number }>,
  api: (token: string, role: Role) => Promise<{ status: number }>,
) {
  for (const role of ROLES) {
    const page = await web(t.browsers[role], role);
    const answer = await api(t.tokens[role].token, role);
    const ok = (s: number) => (s === 303 || s === 201 ? 200 : s);
    expect({ role, page: ok(page.status), api: ok(answer.status) }).toEqual({
      role,
      page: MANAGE[role],
      api: MANAGE[role],
    });
  }
}

const hooksOf = async (h: Harness, t: Team) =>
  (await h.request("GET", `/api/v1/projects/${t.project.id}/webhooks`, { token: t.tokens.owner.token })).body
    .webhooks as {
    id: string;
    url: string;
    enabled: boolean;
    events: string[] | null;
    environments: string[] | null;
  }[];

describe("webhooks pages", () => {
  it("list and add webhooks for the project's managers only, refusing every other role as the API does", async () => {
    const h = await harness();
    const t = await team(h);
    const receiver = startReceiver();
    const base = `/p/${t.project.id}/webhooks`;
    await sameRefusals(
      t,
      (b) => b.get(base),
      (token) => h.request("GET", `/api/v1/projects/${t.project.id}/webhooks`, { token }),
    );
    await sameRefusals(
      t,
      (b, role) => b.post(base, { url: `${receiver.url}?web=${role}` }),
      (token, role) =>
        h.request("POST", `/api/v1/projects/${t.project.id}/webhooks`, {
          token,
          body: { url: `${receiver.url}?api=${role}` },
        }),
    );
    expect((await hooksOf(h, t)).map((w) => new URL(w.url).search).sort()).toEqual([
      "?api=admin",
      "?api=owner",
      "?web=admin",
      "?web=owner",
    ]);
    const project = await t.browsers.owner.get(`/p/${t.project.id}`);
    expect(project.text).toContain(`href="/p/${t.project.id}/webhooks"`);
    await receiver.stop();
  });

  it("shows the signing secret once, on the answer to the form; the pages after never hold it", async () => {
    const h = await harness();
    const t = await team(h);
    const receiver = startReceiver();
    const res = await t.browsers.owner.post(`/p/${t.project.id}/webhooks`, {
      url: receiver.url,
      env_production: "yes",
      "event_version.created": "yes",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const secret = /<pre class="value" id="webhook-secret">(whsec_[0-9a-f]{64})<\/pre>/.exec(res.text)![1]!;
    const [made] = await hooksOf(h, t);
    expect(made).toMatchObject({ environments: ["production"], events: ["version.created"], enabled: true });
    for (const path of [
      `/p/${t.project.id}/webhooks`,
      `/p/${t.project.id}/webhooks/${made!.id}`,
      `/p/${t.project.id}`,
    ]) {
      const page = await t.browsers.owner.get(path);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain(secret.slice(6));
    }
    // A refused URL is the client's mistake, named; nothing is made.
    const refused = await t.browsers.owner.post(`/p/${t.project.id}/webhooks`, { url: "http://10.0.0.1/x" });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("a private address");
    expect(await hooksOf(h, t)).toHaveLength(1);
    await receiver.stop();
  });

  it("pings, redelivers, disables, rotates (asking first without the script) and deletes a webhook", async () => {
    const h = await harness();
    const t = await team(h);
    const receiver = startReceiver();
    const made = await h.request("POST", `/api/v1/projects/${t.project.id}/webhooks`, {
      token: t.tokens.owner.token,
      body: { url: receiver.url },
    });
    const href = `/p/${t.project.id}/webhooks/${made.body.webhook.id}`;
    for (const role of ["writer", "reader", "none", "stranger"] as const) {
      expect((await t.browsers[role].post(`${href}/ping`)).status).toBe(MANAGE[role]);
      expect((await t.browsers[role].post(`${href}/delete`)).status).toBe(MANAGE[role]);
    }
    expect(receiver.received).toHaveLength(0);
    await t.browsers.owner.get(href);
    expect(location(await t.browsers.owner.post(`${href}/ping`))).toBe(`${href}?done=webhook-pinged`);
    expect(receiver.received).toHaveLength(1);
    const page = await t.browsers.owner.get(`${href}?done=webhook-pinged`);
    expect(page.text).toContain("Ping sent");
    const delivery = /<code>(dlv_[0-9a-f]{24})<\/code>/.exec(page.text)![1]!;
    expect(page.text).toContain("delivered");
    expect(location(await t.browsers.owner.post(`${href}/deliveries/${delivery}/redeliver`))).toBe(
      `${href}?done=webhook-redelivered`,
    );
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.headers["vault-webhook-id"]).toBe(delivery);
    expect(location(await t.browsers.owner.post(`${href}/disable`))).toBe(`${href}?done=webhook-disabled`);
    expect((await hooksOf(h, t))[0]!.enabled).toBe(false);
    const asked = await t.browsers.owner.post(`${href}/rotate-secret`, { ask: "yes" });
    expect(asked.text).toContain("Give this webhook a new signing secret?");
    const rotated = await t.browsers.owner.post(`${href}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.text).toMatch(/<pre class="value" id="webhook-secret">whsec_[0-9a-f]{64}<\/pre>/);
    for (const csrf of ["", "forged"])
      expect((await t.browsers.owner.post(`${href}/delete`, { csrf })).status).toBe(403);
    expect(location(await t.browsers.owner.post(`${href}/delete`))).toBe(
      `/p/${t.project.id}/webhooks?done=webhook-removed`,
    );
    expect(await hooksOf(h, t)).toHaveLength(0);
    await receiver.stop();
  });

  it("escapes a hostile URL and refuses the forms without this browser's CSRF token", async () => {
    const h = await harness();
    const t = await team(h);
    const receiver = startReceiver();
    const hostile = `${receiver.url}?q="><script>alert(1)</script>&b=2`;
    const made = await h.request("POST", `/api/v1/projects/${t.project.id}/webhooks`, {
      token: t.tokens.owner.token,
      body: { url: hostile },
    });
    expect(made.status).toBe(201);
    const page = await t.browsers.owner.get(`/p/${t.project.id}/webhooks/${made.body.webhook.id}`);
    expect(page.text).not.toContain("<script>alert(1)");
    // The URL as stored (its query percent-encoded by the URL parser), with the rest escaped.
    expect(page.text).toContain("?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&amp;b=2");
    for (const csrf of ["", "forged"])
      expect(
        (await t.browsers.owner.post(`/p/${t.project.id}/webhooks`, { url: receiver.url, csrf })).status,
      ).toBe(403);
    expect(await hooksOf(h, t)).toHaveLength(1);
    await receiver.stop();
  });
});
