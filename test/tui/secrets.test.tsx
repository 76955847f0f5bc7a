/**
 * The secrets screens against a real server in process: masking, reveal
 * behind a confirmation, filter, pending changes and their review, saving as
 * one version (layout kept), the conflict path, read-only access.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { MASK } from "../../src/tui";
import { KEYS, makeProject, type Rendered, renderApp, setup } from "./helpers";

const FILE = "# database\nDB_URL=postgres://db-secret-9f2\nAPI_KEY=sk_live_7c1a\n# end\n";
const SECRETS = ["postgres://db-secret-9f2", "sk_live_7c1a"];

let ui: Rendered | undefined;
afterEach(() => {
  ui?.unmount();
  ui = undefined;
});

async function openSecrets(file = FILE) {
  const { h, owner } = await setup();
  const id = await makeProject(h, owner.token, "shop", file);
  ui = renderApp(h, owner.token);
  await ui.until("shop");
  await ui.press(KEYS.enter);
  await ui.until("development *");
  await ui.press(KEYS.enter);
  await ui.until("API_KEY");
  return { h, owner, id, ui };
}

async function pullFile(h: Awaited<ReturnType<typeof setup>>["h"], token: string, id: string) {
  const res = await h.request(
    "GET",
    `/api/v1/projects/${id}/environments/development/secrets?format=dotenv`,
    {
      token,
    },
  );
  return res.body as { version: number; dotenv: string };
}

describe("the secrets table", () => {
  it("masks every value by default with a mask that does not depend on the value's length", async () => {
    const { ui } = await openSecrets();
    const frame = ui.frame();
    expect(frame).toContain("DB_URL");
    expect(frame.split(MASK).length - 1).toBe(2);
    for (const secret of SECRETS) expect(ui.frames()).not.toContain(secret);
    // the selected row's key, the version that last changed it
    expect(frame).toMatch(/› {2}API_KEY +•+ +v1/);
  });

  it("reveals a value only after a confirmation, and hides it again", async () => {
    const { ui } = await openSecrets();
    await ui.press(KEYS.enter);
    await ui.until("Show the value of API_KEY on screen?");
    await ui.press("n");
    expect(ui.frame()).not.toContain("Show the value");
    expect(ui.frames()).not.toContain("sk_live_7c1a");
    await ui.press(" ");
    await ui.until("Show the value of API_KEY");
    await ui.press("y");
    await ui.until("sk_live_7c1a");
    expect(ui.frame()).not.toContain("postgres://db-secret-9f2");
    await ui.press(KEYS.enter);
    expect(ui.frame()).not.toContain("sk_live_7c1a");
  });

  it("reveals all values after one confirmation", async () => {
    const { ui } = await openSecrets();
    await ui.press("V");
    await ui.until("Show all 2 values on screen?");
    await ui.press("y");
    await ui.until("postgres://db-secret-9f2");
    expect(ui.frame()).toContain("sk_live_7c1a");
    await ui.press("V");
    expect(ui.frame()).not.toContain("sk_live_7c1a");
  });

  it("filters by name with /, and Esc clears the filter", async () => {
    const { ui } = await openSecrets();
    await ui.press("/");
    await ui.type("db");
    await ui.press(KEYS.enter);
    const frame = await ui.until("1 of 2 keys");
    expect(frame).toContain("DB_URL");
    expect(frame).not.toContain("API_KEY");
    await ui.press(KEYS.escape);
    await ui.until("v1 · 2 keys");
    expect(ui.frame()).toContain("API_KEY");
  });

  it("sorts by name both ways", async () => {
    const { ui } = await openSecrets();
    const order = () => {
      const f = ui.frame();
      return f.indexOf("API_KEY") < f.indexOf("DB_URL") ? "A-Z" : "Z-A";
    };
    expect(order()).toBe("A-Z");
    await ui.press("s");
    await ui.until("name Z-A");
    expect(order()).toBe("Z-A");
  });
});

describe("editing", () => {
  it("shows pending changes masked in the review, and saving makes one version that keeps comments", async () => {
    const { h, owner, id, ui } = await openSecrets();
    await ui.press("e");
    await ui.until("new value of API_KEY");
    await ui.type("sk_live_NEW");
    // the new value is typed into a masked field
    expect(ui.frame()).not.toContain("sk_live_NEW");
    await ui.press(KEYS.enter);
    await ui.until("1 pending");
    expect(ui.frame()).toMatch(/~ API_KEY/);
    await ui.press("w");
    const review = await ui.until("Review: 1 change to development (based on v1)");
    expect(review).toContain(`API_KEY: ${MASK} → ${MASK}`);
    await ui.press(KEYS.enter);
    await ui.until("saved as version 2 (+0 ~1 -0)");
    expect(ui.frames()).not.toContain("sk_live_NEW");
    for (const secret of SECRETS) expect(ui.frames()).not.toContain(secret);
    const file = await pullFile(h, owner.token, id);
    expect(file.version).toBe(2);
    expect(file.dotenv).toBe("# database\nDB_URL=postgres://db-secret-9f2\nAPI_KEY=sk_live_NEW\n# end\n");
    await ui.until("v2 · 2 keys");
  });

  it("adds, renames and deletes as one version, keeping the file's layout", async () => {
    const { h, owner, id, ui } = await openSecrets();
    await ui.press("a");
    await ui.until("new key name");
    await ui.type("NEW_ONE");
    await ui.press(KEYS.enter);
    await ui.until("value of NEW_ONE");
    await ui.type("hello");
    await ui.press(KEYS.enter);
    await ui.until("1 pending");
    // cursor on API_KEY (first row): rename it
    await ui.press("g", "n");
    await ui.until("rename API_KEY to");
    for (let i = 0; i < "API_KEY".length; i++) await ui.press(KEYS.backspace);
    await ui.type("STRIPE_KEY");
    await ui.press(KEYS.enter);
    await ui.until("2 pending");
    // DB_URL, now the first row: delete it
    await ui.press("g");
    await ui.until(/› -? ?DB_URL/);
    await ui.press("d");
    await ui.until("3 pending");
    await ui.press("w");
    const review = await ui.until("Review: 3 changes");
    expect(review).toContain("API_KEY → STRIPE_KEY");
    expect(review).toContain("DB_URL (removed)");
    expect(review).toContain(`NEW_ONE = ${MASK}`);
    expect(ui.frames()).not.toContain("hello");
    await ui.press("y");
    await ui.until("saved as version 2");
    const file = await pullFile(h, owner.token, id);
    expect(file.version).toBe(2);
    expect(file.dotenv).toContain("# database\n");
    expect(file.dotenv).toContain("# end\n");
    expect(file.dotenv).toContain("STRIPE_KEY=sk_live_7c1a");
    expect(file.dotenv).toContain("NEW_ONE=hello");
    expect(file.dotenv).not.toContain("DB_URL");
    expect(file.dotenv).not.toContain("API_KEY");
  });

  it("edits a value over several lines", async () => {
    const { h, owner, id, ui } = await openSecrets();
    await ui.press("m");
    await ui.until("Ctrl-D: done");
    await ui.type("line one");
    await ui.press(KEYS.enter);
    await ui.type("line two");
    await ui.press(KEYS.ctrlD);
    await ui.until("1 pending");
    await ui.press("w");
    await ui.until("Review");
    await ui.press(KEYS.enter);
    await ui.until("saved as version 2");
    const res = await h.request(
      "GET",
      `/api/v1/projects/${id}/environments/development/secrets?format=json`,
      {
        token: owner.token,
      },
    );
    expect(res.body.values.API_KEY).toBe("line one\nline two");
  });

  it("refuses a save when someone else saved meanwhile, then reloads and reapplies", async () => {
    const { h, owner, id, ui } = await openSecrets();
    await ui.press("e");
    await ui.type("mine");
    await ui.press(KEYS.enter);
    await ui.until("1 pending");
    const theirs = await h.request("PATCH", `/api/v1/projects/${id}/environments/development/secrets`, {
      token: owner.token,
      body: { set: { OTHER: "theirs" }, baseVersion: 1 },
    });
    expect(theirs.status).toBe(200);
    await ui.press("w");
    await ui.until("Review");
    await ui.press(KEYS.enter);
    const conflict = await ui.until("someone else saved meanwhile");
    expect(conflict).toContain("Nothing was saved");
    expect(conflict).toContain("r: reload the latest version and reapply your changes");
    expect((await pullFile(h, owner.token, id)).version).toBe(2);
    await ui.press("r");
    await ui.until("(based on v2)");
    await ui.press(KEYS.enter);
    await ui.until("saved as version 3");
    const res = await h.request(
      "GET",
      `/api/v1/projects/${id}/environments/development/secrets?format=json`,
      {
        token: owner.token,
      },
    );
    expect(res.body.values).toEqual({ DB_URL: "postgres://db-secret-9f2", API_KEY: "mine", OTHER: "theirs" });
  });

  it("disables editing visibly for read-only access", async () => {
    const { h, owner } = await setup();
    const id = await makeProject(h, owner.token, "shop", FILE);
    const reader = await h.user("reader@example.com", "member");
    const added = await h.request("POST", `/api/v1/projects/${id}/members`, {
      token: owner.token,
      body: { email: "reader@example.com", permissions: { development: "read" } },
    });
    expect(added.status).toBeLessThan(300);
    ui = renderApp(h, reader.token);
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    expect(ui.frame()).toMatch(/development \* +v1 +read/);
    await ui.press(KEYS.enter);
    const frame = await ui.until("API_KEY");
    expect(frame).toContain("[read-only: editing disabled]");
    expect(frame).toContain("│ read │");
    await ui.press("e");
    await ui.until("read-only: your access to development is read");
    expect(ui.frame()).not.toContain("new value of");
    await ui.press("d");
    expect(ui.frame()).not.toContain("pending");
  });
});

describe("reading values", () => {
  it("reads no value to open the table, and one audited read of that one key to reveal it", async () => {
    const { h, owner, id, ui } = await openSecrets();
    const reads = async () => {
      const res = await h.request("GET", `/api/v1/audit?project=${id}&action=secrets.read`, {
        token: owner.token,
      });
      return res.body.events as { detail: unknown }[];
    };
    expect(await reads()).toEqual([]);
    await ui.press(KEYS.enter);
    await ui.until("Show the value of API_KEY");
    await ui.press("y");
    await ui.until("sk_live_7c1a");
    const after = await reads();
    expect(after.length).toBe(1);
    expect(after[0]!.detail).toMatchObject({ version: 1, keys: 1 });
    expect(ui.frames()).not.toContain("postgres://db-secret-9f2");
  });
});

describe("masked fields", () => {
  it("draws a masked value field the same whether it holds nothing, one character or forty", async () => {
    const { h, owner, id, ui } = await openSecrets();
    await ui.press("e");
    await ui.until("new value of API_KEY");
    const empty = ui.frame();
    await ui.type("x");
    const one = ui.frame();
    await ui.press(KEYS.ctrlU);
    await ui.type("y".repeat(40));
    const forty = ui.frame();
    expect(one).toBe(empty);
    expect(forty).toBe(empty);
    expect(forty).toContain(MASK);
    // what was typed is kept: the saved value is the forty characters
    await ui.press(KEYS.enter, "w");
    await ui.until("Review: 1 change");
    await ui.press("y");
    await ui.until("saved as version 2");
    const res = await h.request(
      "GET",
      `/api/v1/projects/${id}/environments/development/secrets?format=json`,
      {
        token: owner.token,
      },
    );
    expect(res.body.values.API_KEY).toBe("y".repeat(40));
  });

  it("draws a new key's masked value the same for two values of different lengths", async () => {
    const { ui } = await openSecrets();
    await ui.press("a");
    await ui.type("NEW_ONE\r");
    await ui.until("value of NEW_ONE");
    await ui.type("ab");
    const short = ui.frame();
    await ui.press(KEYS.ctrlU);
    await ui.type("a-much-longer-value-of-thirty-two");
    expect(ui.frame()).toBe(short);
  });

  it("draws the multi-line editor of a hidden value the same whatever it holds, line count included", async () => {
    const { h, owner, id, ui } = await openSecrets();
    await ui.press("m");
    await ui.until("Ctrl-D: done");
    const empty = ui.frame();
    await ui.type("one");
    const short = ui.frame();
    await ui.type("\rtwo\rthree and more");
    const long = ui.frame();
    expect(short).toBe(empty);
    expect(long).toBe(empty);
    await ui.press(KEYS.ctrlD);
    await ui.until("1 pending");
    await ui.press("w", "y");
    await ui.until("saved as version 2");
    const res = await h.request(
      "GET",
      `/api/v1/projects/${id}/environments/development/secrets?format=json`,
      {
        token: owner.token,
      },
    );
    expect(res.body.values.API_KEY).toBe("one\ntwo\nthree and more");
  });

  it("shows a revealed value's edit in clear", async () => {
    const { ui } = await openSecrets();
    await ui.press(KEYS.enter, "y");
    await ui.until("sk_live_7c1a");
    await ui.press("e");
    await ui.until("new value of API_KEY");
    await ui.type("-2");
    await ui.until("sk_live_7c1a-2");
  });
});

describe("layers in the secrets table", () => {
  it("reveals a reference resolved, but edits and renames it as written (never flattened)", async () => {
    const { h, owner } = await setup();
    const id = await makeProject(h, owner.token, "shop", "A_HOST=db.internal\nURL=pg://@{A_HOST}/app\n");
    ui = renderApp(h, owner.token);
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    await ui.press(KEYS.enter);
    await ui.until("URL");
    await ui.press(KEYS.down, KEYS.enter, "y");
    await ui.until("pg://db.internal/app");
    await ui.press("e");
    await ui.until("new value of URL");
    expect(ui.frame()).toContain("pg://@{A_HOST}/app");
    await ui.press(KEYS.escape, "n");
    await ui.until("rename URL to:");
    await ui.press(KEYS.ctrlU);
    await ui.type("DATABASE_URL");
    await ui.press(KEYS.enter, "w");
    await ui.until("save as one new version");
    await ui.press("y");
    await ui.until("saved as version 2");
    const file = await pullFile(h, owner.token, id);
    expect(file.dotenv).toMatch(/^DATABASE_URL=.?pg:\/\/@\{A_HOST\}\/app.?$/m);
  });

  it("marks the keys of your personal overrides, shows yours on reveal, and lists a key only your override has", async () => {
    const { h, owner } = await setup();
    const id = await makeProject(h, owner.token, "shop", "A=stored\n");
    await h.request("PATCH", `/api/v1/projects/${id}/environments/development/overrides`, {
      token: owner.token,
      body: { set: { A: "mine", B: "only-mine" } },
    });
    ui = renderApp(h, owner.token);
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    await ui.press(KEYS.enter);
    const frame = await ui.until("B");
    expect(frame).toMatch(/A +•+ +yours/);
    expect(frame).toMatch(/B +•+ +yours/);
    await ui.press(KEYS.enter, "y");
    await ui.until("mine");
    await ui.press(KEYS.down, "e");
    await ui.until("only your personal override");
  });
});
