/**
 * The other screens against a real server in process: navigation and help,
 * history and rollback, compare, keys and tokens, audit, the unreachable
 * banner, and a 10,000-key environment drawn a window at a time.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { MASK } from "../../src/tui";
import { KEYS, makeProject, type Rendered, renderApp, setup } from "./helpers";

let ui: Rendered | undefined;
afterEach(() => {
  ui?.unmount();
  ui = undefined;
});

async function withProject(file = "A=alpha-secret\nB=beta-secret\n") {
  const { h, owner } = await setup();
  const id = await makeProject(h, owner.token, "shop", file);
  ui = renderApp(h, owner.token);
  await ui.until("shop");
  await ui.press(KEYS.enter);
  await ui.until("development *");
  return { h, owner, id, ui };
}

describe("the shell", () => {
  it("shows the status bar, breadcrumbs, the screen's bindings on ?, and goes back with q and Esc", async () => {
    const { ui } = await withProject();
    expect(ui.frame()).toContain("localhost │ owner@example.com │ shop");
    expect(ui.frame()).toContain("projects › shop");
    await ui.press("?");
    const help = await ui.until("keys: environments");
    expect(help).toContain("compare with another environment");
    expect(help).toContain("Ctrl-C");
    await ui.press("x");
    await ui.until("ENVIRONMENT");
    await ui.press(KEYS.enter);
    await ui.until("projects › shop › development");
    await ui.press("q");
    await ui.until("ENVIRONMENT");
    await ui.press(KEYS.escape);
    await ui.until("Projects (1)");
  });

  it("raises a banner while the server cannot be reached, and clears it when it answers again", async () => {
    const { h, owner } = await setup();
    await makeProject(h, owner.token, "shop", "A=1\n");
    let down = false;
    ui = renderApp(h, owner.token, {
      fetch: async (req) => {
        if (down) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        return h.app.handle(req);
      },
    });
    await ui.until("shop");
    down = true;
    await ui.press("r");
    await ui.until("the server cannot be reached");
    down = false;
    await ui.until(/Projects \(1\)[\s\S]*shop/);
    await ui.until((f) => !f.includes("cannot be reached"));
  });
});

describe("the banner", () => {
  it("leaves every line under it whole when the screen is taller than the room left (the first letter was lost)", async () => {
    const { h, owner } = await setup();
    await makeProject(h, owner.token, "shop", "A=alpha-secret\n");
    let down = false;
    ui = renderApp(h, owner.token, {
      fetch: async (req) => {
        if (down) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        return h.app.handle(req);
      },
    });
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    await ui.press(KEYS.enter);
    await ui.until("v1 · 1 keys");
    down = true;
    await ui.press("r");
    // the banner, the error box and the whole table do not fit in 24 rows: the table is cut, not squeezed
    const frame = await ui.until("press r to retry");
    const lines = frame.split("\n");
    const banner = lines.findIndex((l) => l.includes("the server cannot be reached"));
    expect(lines[banner]).toStartWith(" the server cannot be reached; retrying…");
    expect(lines[banner + 1]).toStartWith("development v1 · 1 keys · sort: name A-Z");
    expect(frame).toContain("error: cannot reach the server at http://localhost");
    expect(frame).toMatch(/^› {2}A +•+ +v1/m);
    expect(lines.length).toBe(24);
    expect(lines.at(-1)).toBe("? help · q/Esc back · Ctrl-C quit");
  });
});

describe("loading and errors", () => {
  it("shows the server's error and hint on a screen whose data cannot be loaded, and retries with r", async () => {
    const { h, owner } = await setup();
    ui = renderApp(h, owner.token, { projectId: `vlt_${"0".repeat(64)}` });
    const frame = await ui.until("error:");
    expect(frame).toContain("press r to retry");
    await ui.press("r");
    await ui.until("error:");
    await ui.press("q");
    await ui.until("Projects (0)");
    expect(ui.frame()).toContain("no projects yet");
  });
});

describe("starting while the server is down", () => {
  it("shows the banner, then the projects and the user once the server answers", async () => {
    const { h, owner } = await setup();
    await makeProject(h, owner.token, "shop", "A=1\n");
    let down = true;
    ui = renderApp(h, owner.token, {
      fetch: async (req) => {
        if (down) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        return h.app.handle(req);
      },
    });
    await ui.until("the server cannot be reached");
    expect(ui.frame()).toContain("cannot reach the server");
    down = false;
    await ui.until(/owner@example\.com[\s\S]*Projects \(1\)/);
  });
});

describe("history", () => {
  it("lists versions with author and changes, diffs one against the current, and rolls back after a confirmation", async () => {
    const { h, owner, id, ui } = await withProject();
    await h.request("PATCH", `/api/v1/projects/${id}/environments/development/secrets`, {
      token: owner.token,
      body: { set: { A: "changed-secret", C: "gamma-secret" } },
    });
    await ui.press("r");
    await ui.until("v2");
    await ui.press("h");
    const list = await ui.until(/v2\* .* owner@example\.com/);
    expect(list).toContain("History of development");
    expect(list).toMatch(/v2\* .* owner@example\.com +\+1 ~1 -0/);
    await ui.press("j", KEYS.enter);
    await ui.until("v1 → v2 (current)");
    await ui.until("values differ (masked): A");
    expect(ui.frame()).toContain("added: C");
    await ui.press("v");
    await ui.until("Show the values that differ between v1 and v2?");
    await ui.press("n");
    for (const v of ["alpha-secret", "changed-secret", "gamma-secret"]) expect(ui.frames()).not.toContain(v);
    await ui.press("v");
    await ui.until("Show the values that differ");
    await ui.press("y");
    await ui.until("A: alpha-secret → changed-secret");
    expect(ui.frame()).toContain("C: (none) → gamma-secret");
    await ui.press("v");
    await ui.until(/1 the same · v: show/);
    expect(ui.frame()).not.toContain("alpha-secret");
    await ui.press("b");
    await ui.until("Roll development back to version 1?");
    await ui.press("n");
    expect(ui.frame()).not.toContain("Roll development back");
    await ui.press("b");
    await ui.until("Roll development back to version 1?");
    await ui.press("y");
    await ui.until("rolled back: version 3 equals version 1");
    const res = await h.request(
      "GET",
      `/api/v1/projects/${id}/environments/development/secrets?format=json`,
      {
        token: owner.token,
      },
    );
    expect(res.body.version).toBe(3);
    expect(res.body.values).toEqual({ A: "alpha-secret", B: "beta-secret" });
    expect(ui.frames()).not.toContain("beta-secret");
  });
});

describe("the status bar's version", () => {
  const statusBar = (frame: string) => frame.split("\n")[0]!;
  // (the status bar follows the screen's frame by one render: it is waited for, as any frame)

  it("is the version history lists: after a save in the table, after a rollback, and back in the table", async () => {
    const { ui } = await withProject();
    await ui.press(KEYS.enter);
    await ui.until("v1 · 2 keys");
    await ui.until((f) => statusBar(f).includes("│ v1 │"));
    await ui.press("d", "w");
    await ui.until("Review: 1 change");
    await ui.press("y");
    await ui.until("saved as version 2");
    await ui.until("v2 · 1 keys");
    await ui.until((f) => statusBar(f).includes("│ v2 │"));
    await ui.press("h");
    await ui.until(/› v2\* /);
    await ui.until((f) => statusBar(f).includes("│ v2 │"));
    await ui.press("j", "b");
    await ui.until("Roll development back to version 1?");
    await ui.press("y");
    await ui.until("rolled back: version 3 equals version 1");
    await ui.until(/v3\* /);
    await ui.until((f) => statusBar(f).includes("│ v3 │"));
    // the table under the history shows the version the rollback made
    await ui.press("q");
    await ui.until("v3 · 2 keys");
    await ui.until((f) => statusBar(f).includes("│ v3 │"));
  });

  it("is the current version in compare", async () => {
    const { h, owner, id, ui } = await withProject();
    await h.request("PATCH", `/api/v1/projects/${id}/environments/development/secrets`, {
      token: owner.token,
      body: { set: { C: "gamma-secret" } },
    });
    // the environments screen still shows v1 (not reloaded): compare asks and shows v2
    expect(ui.frame()).toMatch(/development \* +v1/);
    await ui.press("c");
    await ui.until(" ci  staging  production");
    await ui.until((f) => statusBar(f).includes("│ v2 │"));
  });
});

describe("compare", () => {
  it("shows keys missing on either side and keys whose values differ, masked", async () => {
    const { h, owner, id, ui } = await withProject();
    await h.request("PUT", `/api/v1/projects/${id}/environments/staging/secrets`, {
      token: owner.token,
      body: { dotenv: "A=other-secret\nD=delta-secret\n" },
    });
    await ui.press("c");
    await ui.until("Compare development with");
    // the other environments are drawn: the list has loaded
    await ui.until(" ci  staging  production");
    await ui.press(KEYS.right);
    await ui.until("development → staging");
    await ui.until("only in staging: D");
    expect(ui.frame()).toContain("only in development: B");
    expect(ui.frame()).toContain("values differ (masked): A");
    for (const v of ["alpha-secret", "other-secret", "delta-secret"]) expect(ui.frames()).not.toContain(v);
  });
});

describe("keys and tokens", () => {
  it("masks the DOTENV_KEY until asked, copies it with OSC 52, rotates it, and revokes a token after confirmations", async () => {
    const { h, owner, id, ui } = await withProject();
    const token = await h.request("POST", `/api/v1/projects/${id}/tokens`, {
      token: owner.token,
      body: { name: "ci-deploy", environments: ["development"] },
    });
    expect(token.status).toBeLessThan(300);
    await ui.press("K");
    await ui.until("DOTENV_KEY_DEVELOPMENT");
    await ui.until(`key_${MASK}`);
    await ui.until("ci-deploy");
    // showing the screen reads no key: only a show or a copy does
    const keyReads = async () =>
      (await h.request("GET", `/api/v1/audit?project=${id}&action=dotenv_key.read`, { token: owner.token }))
        .body.events.length as number;
    expect(await keyReads()).toBe(0);
    const keys = await h.request("GET", `/api/v1/projects/${id}/keys?environment=development`, {
      token: owner.token,
    });
    const key = keys.body.keys[0].key as string;
    const readsBefore = await keyReads();
    const hex = key.slice("dotenv://:key_".length, "dotenv://:key_".length + 64);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(ui.frames()).not.toContain(hex);
    await ui.press("c");
    await ui.until("copied the DOTENV_KEY");
    expect(await keyReads()).toBe(readsBefore + 1);
    // OSC 52: the clipboard gets the key, base64-encoded, and nothing draws it
    expect(ui.frames()).toContain(`\u001b]52;c;${Buffer.from(key).toString("base64")}\u0007`);
    await ui.press("v");
    await ui.until("Show the DOTENV_KEY on screen?");
    await ui.press("y");
    await ui.until(hex);
    await ui.press("v");
    await ui.press("o");
    await ui.until("Rotate development's DOTENV_KEY?");
    await ui.press("y");
    await ui.until("rotated");
    const after = await h.request("GET", `/api/v1/projects/${id}/keys?environment=development`, {
      token: owner.token,
    });
    expect(after.body.keys[0].key).not.toBe(key);
    await ui.press("x");
    await ui.until("Revoke the token ci-deploy?");
    await ui.press("y");
    await ui.until("revoked ci-deploy");
    await ui.until(/ci-deploy .*revoked/);
  });
});

describe("keys for those who do not manage the project", () => {
  it("offers no rotation to a write token: o says who may rotate, asks nothing and leaves the key as it was", async () => {
    const { h, owner } = await setup();
    const id = await makeProject(h, owner.token, "shop", "A=alpha-secret\n");
    const created = await h.request("POST", `/api/v1/projects/${id}/tokens`, {
      token: owner.token,
      body: { name: "ci", environments: ["development"], write: true },
    });
    const keyOf = async () =>
      (await h.request("GET", `/api/v1/projects/${id}/keys?environment=development`, { token: owner.token }))
        .body.keys[0].key as string;
    const before = await keyOf();
    ui = renderApp(h, created.body.token as string);
    await ui.until("development *");
    await ui.press("K");
    await ui.until("DOTENV_KEY_DEVELOPMENT");
    expect(ui.frame()).not.toContain("o: rotate");
    await ui.press("o");
    await ui.until("only the project's owners and instance admins rotate keys");
    expect(ui.frames()).not.toContain("Rotate development's DOTENV_KEY?");
    expect(await keyOf()).toBe(before);
  });
});

describe("text from the server", () => {
  it("draws a token name without its terminal escape sequences, in the list and in the revoke question", async () => {
    const { h, owner } = await setup();
    const id = await makeProject(h, owner.token, "shop", "A=alpha-secret\n");
    const created = await h.request("POST", `/api/v1/projects/${id}/tokens`, {
      token: owner.token,
      body: { name: "plain", environments: ["development"] },
    });
    expect(created.status).toBeLessThan(300);
    // whatever the server lets through (it strips on input too): the TUI strips on output
    const hostile = "evil\u001b]52;c;ZXZpbA==\u0007\u001b[2J\u001b[31mred\u009b1m";
    ui = renderApp(h, owner.token, {
      fetch: async (req) => {
        const res = await h.app.handle(req);
        if (req.method !== "GET" || !new URL(req.url).pathname.endsWith("/tokens")) return res;
        const body = (await res.json()) as { tokens: { name: string }[] };
        return Response.json({ tokens: body.tokens.map((t) => ({ ...t, name: hostile })) });
      },
    });
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    await ui.press("K");
    // each control character is drawn as �
    await ui.until("› evil�]52;c;ZXZpbA==");
    await ui.press("x");
    await ui.until("Revoke the token evil�]52;c;ZXZpbA==��[2J�[31mred�1m?");
    await ui.press("n");
    for (const raw of ["\u001b]52", "\u001b[2J", "\u001b[31m", "\u0007", "\u009b"])
      expect(ui.frames()).not.toContain(raw);
  });
});

describe("audit", () => {
  it("lists the project's events and filters them", async () => {
    const { ui } = await withProject();
    await ui.press("a");
    await ui.until("Audit · shop");
    await ui.until("owner@example.com");
    await ui.press("/");
    await ui.type("project.create");
    await ui.press(KEYS.enter);
    const frame = await ui.until(/1 events? matching/);
    expect(frame).toContain("project.create");
  });
});

describe("a 10,000-key environment", () => {
  it("draws only the visible rows, and every one of 40 arrow keys moves the cursor", async () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `KEY_${String(i).padStart(5, "0")}=value-${i}`);
    const { ui } = await withProject(`${lines.join("\n")}\n`);
    await ui.press(KEYS.enter);
    await ui.until("10000 keys", 60_000);
    const frame = ui.frame();
    expect(frame).toContain("KEY_00000");
    expect(frame).not.toContain("KEY_00030");
    expect(frame.split("\n").length).toBeLessThanOrEqual(24);
    // the speed is bench/tui.ts's to measure; here: 40 arrows in one write, none lost
    await ui.type(KEYS.down.repeat(40));
    expect(ui.frame()).toContain("›  KEY_00040");
    expect(ui.frame()).not.toContain("KEY_00000");
    expect(ui.frame().split("\n").length).toBeLessThanOrEqual(24);
    await ui.press("G");
    await ui.until("›  KEY_09999");
  }, 120_000);
});

describe("credentials and leaving", () => {
  it("opens a service token's project directly", async () => {
    const { h, owner } = await setup();
    const id = await makeProject(h, owner.token, "shop", "A=alpha-secret\n");
    const created = await h.request("POST", `/api/v1/projects/${id}/tokens`, {
      token: owner.token,
      body: { name: "ci", environments: ["development"], write: true },
    });
    ui = renderApp(h, created.body.token as string);
    const frame = await ui.until("development *");
    expect(frame).toContain("token ci");
    await ui.until("projects › shop");
    await ui.press(KEYS.enter);
    await ui.until("v1 · 1 keys");
    expect(ui.frames()).not.toContain("alpha-secret");
  });

  it("asks before leaving a table with pending changes", async () => {
    const { ui } = await withProject();
    await ui.press(KEYS.enter);
    await ui.until("CHANGED");
    await ui.press("d");
    await ui.until("1 pending");
    await ui.press("q");
    await ui.until("Leave and drop 1 pending change?");
    await ui.press("n");
    await ui.until("1 pending");
    await ui.press("q");
    await ui.until("Leave and drop 1 pending change?");
    await ui.press("y");
    await ui.until("ENVIRONMENT");
  });
});
