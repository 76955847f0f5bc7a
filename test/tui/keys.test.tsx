/**
 * Keys as terminals deliver them: several in one read (a held key, fast
 * typing over SSH, a paste without brackets), a bracketed paste, and keys
 * typed before the screen they are meant for has its data.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { blankKey, type KeyPress, splitInput } from "../../src/tui/keys";
import { KEYS, makeProject, type Rendered, renderApp, setup } from "./helpers";

const FILE = "K1=v-one\nK2=v-two\nK3=v-three\nK4=v-four\nK5=v-five\nK6=v-six\n";

let ui: Rendered | undefined;
afterEach(() => {
  ui?.unmount();
  ui = undefined;
});

async function openTable(file = FILE) {
  const { h, owner } = await setup();
  const id = await makeProject(h, owner.token, "shop", file);
  ui = renderApp(h, owner.token);
  await ui.until("shop");
  await ui.press(KEYS.enter);
  await ui.until("development *");
  await ui.press(KEYS.enter);
  await ui.until("v1 · 6 keys");
  return { h, owner, id, ui };
}

/** The key on the selected row of the secrets table. */
const selected = (frame: string) => /^›. ([A-Z0-9_]+)/m.exec(frame)?.[1];

/** A gate for the server's answers: requests whose path matches wait until opened. */
function gate(h: Awaited<ReturnType<typeof setup>>["h"]) {
  let closed: RegExp | undefined;
  let open: () => void = () => undefined;
  let opened = Promise.resolve();
  return {
    close(path: RegExp) {
      closed = path;
      opened = new Promise<void>((r) => {
        open = r;
      });
    },
    open: () => {
      closed = undefined;
      open();
    },
    fetch: async (req: Request) => {
      if (closed?.test(new URL(req.url).pathname)) await opened;
      return h.app.handle(req);
    },
  };
}

describe("splitting what one read holds", () => {
  const shape = (keys: KeyPress[]) =>
    keys.map((k) =>
      k.run ? `run:${k.input}` : k.key.return ? "Enter" : k.key.ctrl ? `C-${k.input}` : k.input,
    );

  it("keeps a single key as Ink described it", () => {
    const key = { ...blankKey(), downArrow: true };
    expect(splitInput("", key)).toEqual([{ input: "", key }]);
    expect(splitInput("j", blankKey())).toEqual([{ input: "j", key: blankKey() }]);
  });

  it("cuts printable runs at Enter, Tab and Ctrl keys, and gives each control its own key", () => {
    const blank = blankKey();
    expect(shape(splitInput("jjjj", blank))).toEqual(["run:jjjj"]);
    expect(shape(splitInput("aNEW\rhello\r", blank))).toEqual(["run:aNEW", "Enter", "run:hello", "Enter"]);
    expect(shape(splitInput("line\u0004", blank))).toEqual(["run:line", "C-d"]);
    const upper = splitInput("\rG", blank)[1]!;
    expect(upper).toMatchObject({ input: "G", key: { shift: true } });
  });
});

describe("several keys in one read", () => {
  it("moves the cursor once for each j and k of one write", async () => {
    const { ui } = await openTable();
    expect(selected(ui.frame())).toBe("K1");
    await ui.type("jjjj");
    expect(selected(ui.frame())).toBe("K5");
    await ui.type("kkk");
    expect(selected(ui.frame())).toBe("K2");
    await ui.type("Gg");
    expect(selected(ui.frame())).toBe("K1");
  });

  it("moves once for each arrow of one write", async () => {
    const { ui } = await openTable();
    await ui.type(KEYS.down.repeat(3) + KEYS.up);
    expect(selected(ui.frame())).toBe("K3");
  });

  it("takes a command, a key name, Enter, a value and Enter typed ahead in one write", async () => {
    const { ui } = await openTable();
    await ui.type("aNEW_KEY\rtyped-ahead\r");
    await ui.until("1 pending");
    expect(ui.frame()).toMatch(/\+ NEW_KEY/);
    await ui.type("w");
    const review = await ui.until("Review: 1 change");
    expect(review).toContain("NEW_KEY = ••••••••");
    expect(ui.frames()).not.toContain("typed-ahead");
  });

  it("inserts a pasted value whole into a text field, and ignores a paste in the table", async () => {
    const { h, owner, id, ui } = await openTable();
    await ui.type("\u001b[200~dddd\u001b[201~");
    expect(ui.frame()).not.toContain("pending");
    await ui.press("e");
    await ui.until("new value of K1");
    await ui.type("\u001b[200~pasted value 42\n\u001b[201~");
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
    expect(res.body.values.K1).toBe("pasted value 42");
  });

  it("sends the keys after one that opens a screen to that screen, once its data is there", async () => {
    const { h, owner } = await setup();
    await makeProject(h, owner.token, "shop", FILE);
    const g = gate(h);
    ui = renderApp(h, owner.token, { fetch: g.fetch });
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    // Enter opens the table; j waits for the table's keys (held back by the gate), then moves
    g.close(/\/secrets/);
    await ui.write("\rjj");
    await ui.until("loading secrets");
    g.open();
    await ui.until("v1 · 6 keys");
    await ui.until((f) => selected(f) === "K3");
  });
});

describe("keys typed before a screen's data arrives", () => {
  it("compare: → pressed while the environments load picks the second one once they arrive", async () => {
    const { h, owner } = await setup();
    const id = await makeProject(h, owner.token, "shop", FILE);
    await h.request("PUT", `/api/v1/projects/${id}/environments/staging/secrets`, {
      token: owner.token,
      body: { dotenv: "K1=other\n" },
    });
    const g = gate(h);
    ui = renderApp(h, owner.token, { fetch: g.fetch });
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    g.close(new RegExp(`^/api/v1/projects/${id}$`));
    await ui.press("c");
    await ui.until("loading environments");
    await ui.write(KEYS.right);
    g.open();
    await ui.until("development → staging");
    await ui.until("only in development: K2");
  });

  it("q still leaves a screen whose data has not arrived", async () => {
    const { h, owner } = await setup();
    await makeProject(h, owner.token, "shop", FILE);
    const g = gate(h);
    ui = renderApp(h, owner.token, { fetch: g.fetch });
    await ui.until("shop");
    await ui.press(KEYS.enter);
    await ui.until("development *");
    g.close(/\/versions$/);
    await ui.press("h");
    await ui.until("loading versions");
    await ui.press("q");
    await ui.until("ENVIRONMENT");
    g.open();
  });
});
