/**
 * The environment editor through `app.handle`: the table from names only,
 * reveal, the edits kept as a draft, review, save as one version through the
 * API's change path, conflicts and reapply, read-only access, the same
 * refusals as the API for every role, CSRF, hostile text escaped, and no
 * stored value in any page that did not ask to reveal it.
 */
import { describe, expect, it } from "bun:test";
import { collectGarbage } from "../../src/server";
import { MASK } from "../../src/server/modules/web/text";
import { type Harness, startHarness } from "./harness";
import { HOSTILE, location, team, WebBrowser } from "./web-helpers";

const FILE = [
  "# comment-secret-0a1b",
  "DATABASE_URL=postgres://u:pw-secret-2c3d@db/app",
  "API_TOKEN=tok-secret-4e5f",
  'MULTI="line-secret-6a7b',
  'line-secret-8c9d"',
  "",
].join("\n");
const MARKERS = ["secret-0a1b", "secret-2c3d", "secret-4e5f", "secret-6a7b", "secret-8c9d", "postgres://"];

function expectNoValue(text: string, markers: readonly string[] = MARKERS) {
  for (const marker of markers)
    expect({ marker, found: text.includes(marker) }).toEqual({ marker, found: false });
}

async function setup(options: Parameters<typeof startHarness>[0] = {}) {
  const h = await startHarness(options);
  const t = await team(h);
  const url = `${t.base}/development/secrets`;
  expect((await h.request("PUT", url, { token: t.tokens.owner.token, body: { dotenv: FILE } })).status).toBe(
    200,
  );
  const e = `/p/${t.project.id}/e/development`;
  const pull = async () =>
    (await h.request("GET", url, { token: t.tokens.owner.token })).body.dotenv as string;
  return { h, ...t, e, url, pull };
}

/** The draft and revision a review page's save form names. */
function reviewed(text: string): { draft: string; revision: string } {
  return {
    draft: /name="draft" value="(drf_[0-9a-f]+)"/.exec(text)?.[1] ?? "",
    revision: /name="revision" value="([0-9]+)"/.exec(text)?.[1] ?? "",
  };
}

async function events(h: Harness, action: string) {
  await h.ctx.audit.flush();
  return (await h.appdb.audit.list({ limit: 1000 }))
    .filter((r) => r.action === action)
    .map((r) => ({ ...r, detail: JSON.parse(r.detail ?? "{}") }));
}

describe("the editor's table", () => {
  it("is built from names only: every value the same mask, no stored value in the page, no keeper read", async () => {
    let gets = 0;
    const s = await setup({
      keeper: (k) => ({
        ...k,
        get: (refs) => {
          gets++;
          return k.get(refs);
        },
      }),
    });
    s.h.ctx.snapshots.forget((await s.h.appdb.projects.environment(s.project.id, "development"))!.id);
    gets = 0;
    const res = await s.browsers.reader.get(s.e);
    expect(res.status).toBe(200);
    expect(gets).toBe(0);
    expectNoValue(res.text);
    expect(res.text.split(MASK).length - 1).toBe(3);
    for (const name of ["DATABASE_URL", "API_TOKEN", "MULTI"])
      expect(res.text).toContain(`data-name="${name}"`);
    expect(await events(s.h, "secrets.read")).toEqual([]);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("pages 10,000 keys 200 at a time, with the filter applied on the server", async () => {
    const s = await setup();
    const file = Array.from({ length: 10_000 }, (_, i) => `KEY_${String(i).padStart(5, "0")}=v${i}`).join(
      "\n",
    );
    expect(
      (await s.h.request("PUT", s.url, { token: s.tokens.owner.token, body: { dotenv: file } })).status,
    ).toBe(200);
    const rows = (text: string) => text.match(/<tr data-name="KEY_\d+"/g)?.length ?? 0;
    const first = await s.browsers.writer.get(s.e);
    expect(rows(first.text)).toBe(200);
    expect(first.text).toContain("Keys 1–200 of 10,000");
    expect(first.text).toContain("Page 1 of 50");
    const last = await s.browsers.writer.get(`${s.e}?page=50`);
    expect(rows(last.text)).toBe(200);
    expect(last.text).toContain('data-name="KEY_09999"');
    expect(rows((await s.browsers.writer.get(`${s.e}?page=999`)).text)).toBe(200);
    const filtered = await s.browsers.writer.get(`${s.e}?q=key_0999`);
    expect(rows(filtered.text)).toBe(10);
    expect(filtered.text).toContain('value="key_0999"');
  });
});

describe("refusals: the editor refuses whom the API refuses", () => {
  it("for reading the table and for every edit, per role (and signed out)", async () => {
    const s = await setup();
    const roles = ["owner", "writer", "reader", "none", "admin", "stranger"] as const;
    for (const role of roles) {
      const b = s.browsers[role];
      const token = s.tokens[role].token;
      const api = {
        read: (await s.h.request("GET", `${s.base}/development/versions`, { token })).status,
        write: (
          await s.h.request("PATCH", s.url, { token, body: { set: { [`X_${role}`]: "1" }, baseVersion: 99 } })
        ).status,
      };
      const page = (await b.get(s.e)).status;
      // A write the API allows answers 409 here (baseVersion 99): the page's edit is then allowed too.
      const allowed = (status: number) => (status === 409 ? 303 : status);
      expect({ role, page }).toEqual({ role, page: api.read });
      for (const [path, fields] of [
        ["add", { name: `A_${role}`, value: "v" }],
        ["edit", { name: "API_TOKEN", value: "v" }],
        ["rename", { from: "API_TOKEN", to: `T_${role}` }],
        ["delete", { name: "MULTI" }],
        ["import", { dotenv: "I=1\n" }],
        ["discard", {}],
      ] as const) {
        const res = await b.post(`${s.e}/${path}`, fields);
        expect({ role, path, status: res.status }).toEqual({ role, path, status: allowed(api.write) });
      }
      for (const path of [`edit?name=API_TOKEN`, `rename?name=API_TOKEN`, "review"]) {
        const res = await b.get(`${s.e}/${path}`);
        expect({ role, path, status: res.status }).toEqual({
          role,
          path,
          status: allowed(api.write) === 303 ? 200 : api.write,
        });
      }
    }
    const out = new WebBrowser(s.h);
    expect(location(await out.get(s.e))).toStartWith("/signin?next=");
    expect((await out.go("POST", `${s.e}/add`, { csrf: "x", name: "A", value: "v" })).status).toBe(401);
  });

  it("shows a reader every editing control disabled, with the reason, and no edit link", async () => {
    const s = await setup();
    const res = await s.browsers.reader.get(s.e);
    expect(res.text).toContain('id="readonly"');
    expect(res.text).toContain("You can read development but not change it (your access: read only).");
    expect(res.text).not.toContain("/edit?name=");
    expect(res.text).not.toContain("/rename?name=");
    const disabled = res.text.match(/disabled aria-describedby="readonly"/g)?.length ?? 0;
    // Edit, rename, delete on each of the three rows, and the add and import fieldsets.
    expect(disabled).toBe(3 * 3 + 2);
    // Reveal stays: a reader may read.
    expect(res.text.match(/data-action="reveal"/g)?.length).toBe(3);
    const writer = await s.browsers.writer.get(s.e);
    expect(writer.text).not.toContain('id="readonly"');
    expect(writer.text).not.toContain(" disabled");
  });

  it("shows one who lost write access the stored keys, read-only, without their pending changes", async () => {
    const s = await setup();
    await s.browsers.writer.post(`${s.e}/add`, { name: "WAS_PENDING", value: "p" });
    const grant = await s.h.request(
      "PUT",
      `/api/v1/projects/${s.project.id}/members/${s.tokens.writer.id}/permissions`,
      { token: s.tokens.owner.token, body: { permissions: { development: "read" } } },
    );
    expect(grant.status).toBe(200);
    const res = await s.browsers.writer.get(s.e);
    expect(res.status).toBe(200);
    expect(res.text).toContain('id="readonly"');
    expect(res.text).not.toContain("WAS_PENDING");
    expect(res.text).not.toContain('data-testid="pending"');
    expect((await s.browsers.writer.get(`${s.e}/review`)).status).toBe(403);
  });

  it("refuses a form without the CSRF token, with a forged one, or another browser's, in the field and in the header", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    for (const csrf of ["", "forged", s.browsers.owner.token]) {
      const res = await b.go("POST", `${s.e}/add`, { csrf, name: "NEW", value: "v" });
      expect({ csrf, status: res.status }).toEqual({ csrf, status: 403 });
      const script = await b.script(`${s.e}/add`, { name: "NEW", value: "v" }, csrf);
      expect({ csrf, status: script.status, code: script.json?.error?.code }).toEqual({
        csrf,
        status: 403,
        code: "FORBIDDEN",
      });
    }
    expect((await b.get(s.e)).text).not.toContain('data-name="NEW"');
    // The right token in the header works, and answers JSON.
    const ok = await b.script(`${s.e}/add`, { name: "NEW", value: "v" });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ ok: true });
    expect((await b.get(s.e)).text).toContain('data-name="NEW"');
  });
});

describe("editing, reviewing and saving", () => {
  it("saves adds, a multi-line edit, a rename, a delete, an undo and an import as one version holding exactly that", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    expect(location(await b.post(`${s.e}/add`, { name: "NEW_KEY", value: "new-typed-1" }))).toBe(
      `${s.e}?done=added`,
    );
    expect(
      location(
        await b.post(`${s.e}/edit`, { name: "API_TOKEN", value: "first-typed-4\r\nsecond-typed-5\r\n" }),
      ),
    ).toBe(`${s.e}?done=changed`);
    expect(location(await b.post(`${s.e}/rename`, { from: "DATABASE_URL", to: "DB_URL" }))).toBe(
      `${s.e}?done=renamed`,
    );
    await b.post(`${s.e}/delete`, { name: "MULTI" });
    await b.post(`${s.e}/add`, { name: "UNDONE", value: "x" });
    expect(location(await b.post(`${s.e}/undo`, { name: "UNDONE" }))).toBe(`${s.e}?done=undone`);
    expect(
      location(await b.post(`${s.e}/import`, { dotenv: "IMPORTED=imp-typed-2\r\nNEW_KEY=new-typed-3\n" })),
    ).toBe(`${s.e}?done=imported&n=2`);
    const editor = await b.get(s.e);
    expect(editor.text).toContain("5 pending changes: 2 added, 1 changed, 1 renamed, 1 deleted");
    const review = await b.get(`${s.e}/review`);
    expect(review.status).toBe(200);
    for (const page of [editor.text, review.text]) {
      expectNoValue(page, [...MARKERS, "typed-1", "typed-2", "typed-3", "typed-4", "typed-5"]);
    }
    expect(review.text).toContain("<del>DATABASE_URL</del> → DB_URL");
    expect(review.text).toContain("Save as version 2");
    expect(location(await b.post(`${s.e}/save`, reviewed(review.text)))).toBe(`${s.e}?done=saved&n=2`);
    expect(await s.pull()).toBe(
      [
        "# comment-secret-0a1b",
        "DB_URL=postgres://u:pw-secret-2c3d@db/app",
        "API_TOKEN='first-typed-4",
        "second-typed-5",
        "'",
        "NEW_KEY=new-typed-3",
        "IMPORTED=imp-typed-2",
        "",
      ].join("\n"),
    );
    const [set] = await events(s.h, "secrets.set");
    expect(set!.detail).toEqual({ version: 2, added: 3, changed: 1, removed: 2 });
    expect(set!.actorLabel).toBe("writer@example.com");
    // The draft is gone with its blob: the editor shows nothing pending, refs hold no draft.
    expect((await b.get(s.e)).text).not.toContain('data-testid="pending"');
    expect(await s.h.appdb.database.client.execute("SELECT count(*) AS n FROM drafts")).toMatchObject({
      rows: [{ n: 0 }],
    });
  });

  it("renames a key keeping its value, without the value reaching any page", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    const pages = [await b.get(`${s.e}/rename?name=API_TOKEN`)];
    await b.post(`${s.e}/rename`, { from: "API_TOKEN", to: "SERVICE_TOKEN" });
    pages.push(await b.get(s.e), await b.get(`${s.e}/review`));
    await b.post(`${s.e}/save`, reviewed(pages[2]!.text));
    pages.push(await b.get(s.e));
    for (const p of pages) expectNoValue(p.text);
    expect(await s.pull()).toBe(FILE.replace("API_TOKEN=", "SERVICE_TOKEN="));
  });

  it("shows a conflict from another writer between review and save (409: what moved, by whom, what collides) and reapplies", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    await b.post(`${s.e}/edit`, { name: "API_TOKEN", value: "mine" });
    await b.post(`${s.e}/add`, { name: "MINE", value: "m" });
    await b.post(`${s.e}/delete`, { name: "MULTI" });
    const review = await b.get(`${s.e}/review`);
    // Meanwhile, through the API: the owner changes API_TOKEN and removes MULTI.
    expect(
      (
        await s.h.request("PATCH", s.url, {
          token: s.tokens.owner.token,
          body: { set: { API_TOKEN: "theirs", THEIRS: "t" }, unset: ["MULTI"] },
        })
      ).status,
    ).toBe(200);
    const conflict = await b.post(`${s.e}/save`, reviewed(review.text));
    expect(conflict.status).toBe(409);
    expect(conflict.text).toContain("Someone saved first");
    expect(conflict.text).toContain("Your changes are based on version 1; it is now at version 2.");
    const moved = /<table class="stack" id="moved">.*?<\/table>/s.exec(conflict.text)![0];
    expect(moved).toContain("v2");
    expect(moved).toContain("owner@example.com");
    expect(moved).toContain("added THEIRS; changed API_TOKEN; removed MULTI");
    expect(conflict.text).toContain("<strong>Changed by both of you:</strong> API_TOKEN, MULTI.");
    expect(conflict.text).toContain("<code>MULTI</code> was already removed meanwhile");
    expectNoValue(conflict.text, [...MARKERS, "mine", "theirs"]);
    expect(await s.pull()).toContain("API_TOKEN=theirs");

    const draft = reviewed(review.text).draft;
    expect(location(await b.post(`${s.e}/reapply`, { draft }))).toBe(`${s.e}/review?done=reapplied&n=1`);
    const again = await b.get(`${s.e}/review?done=reapplied&n=1`);
    expect(again.status).toBe(200);
    expect(again.text).toContain("Your changes were reapplied on the latest version (1 of them could not be");
    expect(again.text).toContain("2 pending changes: 1 added, 1 changed");
    expect(again.text).toContain("Save as version 3");
    expect(location(await b.post(`${s.e}/save`, reviewed(again.text)))).toBe(`${s.e}?done=saved&n=3`);
    const pulled = await s.pull();
    expect(pulled).toContain("API_TOKEN=mine");
    expect(pulled).toContain("THEIRS=t");
    expect(pulled).toContain("MINE=m");
    expect(pulled).not.toContain("MULTI");
  });

  it("saves only the revision that was reviewed: a change made in another tab since is not saved unseen", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    await b.post(`${s.e}/add`, { name: "FIRST", value: "1" });
    const review = await b.get(`${s.e}/review`);
    await b.post(`${s.e}/add`, { name: "SECOND", value: "2" });
    const res = await b.post(`${s.e}/save`, reviewed(review.text));
    expect(res.status).toBe(409);
    expect(res.text).toContain("your pending changes are not the ones this page showed");
    expect(await s.pull()).toBe(FILE);
  });

  it("keeps a draft to its own session: another user and another session of the same user see and save nothing of it", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    await b.post(`${s.e}/add`, { name: "PRIVATE_DRAFT", value: "p" });
    const review = await b.get(`${s.e}/review`);
    const owner = await s.browsers.owner.get(s.e);
    expect(owner.text).not.toContain("PRIVATE_DRAFT");
    const second = new WebBrowser(s.h);
    await second.signIn("writer@example.com");
    const mine = await second.get(s.e);
    expect(mine.text).not.toContain("PRIVATE_DRAFT");
    expect((await second.get(`${s.e}/review`)).text).toContain("There are no pending changes");
    for (const other of [second, s.browsers.owner]) {
      const res = await other.post(`${s.e}/save`, reviewed(review.text));
      expect(res.status).toBe(409);
      const gone = await other.post(`${s.e}/reapply`, { draft: reviewed(review.text).draft });
      expect(gone.status).toBe(409);
    }
    expect(await s.pull()).toBe(FILE);
    // Still there for its own session.
    expect((await b.get(s.e)).text).toContain("PRIVATE_DRAFT");
  });

  it("refuses edits the API would refuse, with its messages: a taken name, a missing key, a bad name, a NUL byte", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    const cases = [
      ["add", { name: "API_TOKEN", value: "v" }, 409, "there is already a key API_TOKEN"],
      ["edit", { name: "NOPE", value: "v" }, 404, "there is no key NOPE"],
      ["rename", { from: "API_TOKEN", to: "MULTI" }, 409, "there is already a key MULTI"],
      ["add", { name: "1bad", value: "v" }, 400, "is not a valid key name"],
      ["add", { name: "NUL", value: "a\u0000b" }, 400, "the value of NUL contains a NUL byte"],
      ["import", { dotenv: "# nothing\n" }, 400, "the pasted text holds no keys"],
    ] as const;
    for (const [path, fields, status, message] of cases) {
      const res = await b.post(`${s.e}/${path}`, fields);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.text).toContain(message);
    }
    expect((await b.get(s.e)).text).not.toContain('data-testid="pending"');
  });

  it("discards a draft with its blob, and a save that changes nothing makes no version", async () => {
    const s = await setup();
    const b = s.browsers.writer;
    await b.post(`${s.e}/add`, { name: "GONE", value: "g" });
    const [row] = (await s.h.appdb.database.client.execute("SELECT ref FROM drafts")).rows;
    const ref = new Uint8Array(row!.ref as ArrayBuffer);
    expect(location(await b.post(`${s.e}/discard`))).toBe(`${s.e}?done=discarded`);
    expect(await s.h.keeper.get([ref])).toEqual([null]);
    await b.post(`${s.e}/edit`, { name: "API_TOKEN", value: "tok-secret-4e5f" });
    const review = await b.get(`${s.e}/review`);
    expect(location(await b.post(`${s.e}/save`, reviewed(review.text)))).toBe(`${s.e}?done=unchanged`);
    expect(await s.pull()).toBe(FILE);
  });
});

describe("reveal and download", () => {
  it("reveals one value only on a POST, audited as a read of one key, on a no-store page; JSON for the script", async () => {
    const s = await setup();
    const b = s.browsers.reader;
    const page = await b.post(`${s.e}/reveal`, { name: "API_TOKEN", version: "1" });
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.text).toContain(
      '<pre class="value" id="revealed" data-testid="revealed">tok-secret-4e5f</pre>',
    );
    expectNoValue(
      page.text,
      MARKERS.filter((m) => m !== "secret-4e5f"),
    );
    const script = await b.script(`${s.e}/reveal`, { name: "MULTI", version: "1" });
    expect(script.json).toEqual({ name: "MULTI", version: 1, value: "line-secret-6a7b\nline-secret-8c9d" });
    expect(script.headers.get("cache-control")).toBe("no-store");
    const reads = await events(s.h, "secrets.read");
    expect(reads.map((r) => r.detail)).toEqual([
      // Newest first.
      { version: 1, keys: 1, names: ["MULTI"], format: "json", reason: "reveal" },
      { version: 1, keys: 1, names: ["API_TOKEN"], format: "json", reason: "reveal" },
    ]);
    expect(reads.every((r) => r.actorLabel === "reader@example.com")).toBe(true);
    // A GET reveals nothing (no such page), and a stranger is refused as the API refuses them.
    expect((await b.get(`${s.e}/reveal?name=API_TOKEN`)).status).toBe(404);
    expect((await s.browsers.stranger.post(`${s.e}/reveal`, { name: "API_TOKEN" })).status).toBe(404);
    expect((await s.browsers.none.post(`${s.e}/reveal`, { name: "API_TOKEN" })).status).toBe(403);
    expect((await b.post(`${s.e}/reveal`, { name: "NOPE" })).status).toBe(404);
  });

  it("downloads the environment as its .env file: an attachment, no-store, audited as a read", async () => {
    const s = await setup();
    const res = await s.browsers.reader.get(`${s.e}/download`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(FILE);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename=".env.development"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const [read] = await events(s.h, "secrets.read");
    expect(read!.detail).toMatchObject({ version: 1, keys: 3, reason: "download" });
    expect((await s.browsers.none.get(`${s.e}/download`)).status).toBe(403);
    expect((await s.browsers.stranger.get(`${s.e}/download`)).status).toBe(404);
  });
});

describe("hostile text", () => {
  it("escapes hostile values on the reveal page, and hostile filter text and environment names wherever they show", async () => {
    const s = await setup();
    const set = Object.fromEntries(HOSTILE.values.map((v, i) => [`H_${i}`, v]));
    expect((await s.h.request("PATCH", s.url, { token: s.tokens.owner.token, body: { set } })).status).toBe(
      200,
    );
    const b = s.browsers.writer;
    const editor = await b.get(`${s.e}?q=${encodeURIComponent(HOSTILE.values[2]!)}`);
    expect(editor.text).toContain("&lt;/textarea&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(editor.text).not.toContain("<img src=x");
    for (const [i, value] of HOSTILE.values.entries()) {
      const page = await b.post(`${s.e}/reveal`, { name: `H_${i}`, version: "2" });
      expect(page.text).not.toContain(value.includes("<") || value.includes('"') ? value : "\u0000");
      expect(page.text).toContain(
        value
          .replaceAll("&", "&amp;")
          .replaceAll("<", "&lt;")
          .replaceAll(">", "&gt;")
          .replaceAll('"', "&quot;")
          .replaceAll("'", "&#39;"),
      );
    }
    const env = await b.get(`/p/${s.project.id}/e/${encodeURIComponent("<script>x</script>")}`);
    expect(env.status).toBe(404);
    expect(env.text).not.toContain("<script>x");
    // A hostile name cannot be made at all: the API's rule.
    const bad = await b.post(`${s.e}/add`, { name: HOSTILE.name, value: "v" });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain('"onmouseover=');
  });

  it("never shows a stored or typed value in a page that did not ask for it, whatever the value", async () => {
    const s = await setup();
    const set = Object.fromEntries(HOSTILE.values.map((v, i) => [`H_${i}`, `${v}-stored-${i}`]));
    await s.h.request("PATCH", s.url, { token: s.tokens.owner.token, body: { set } });
    const b = s.browsers.writer;
    await b.post(`${s.e}/edit`, { name: "H_0", value: "typed-value-zz" });
    const texts = [
      (await b.get(s.e)).text,
      (await b.get(`${s.e}/edit?name=H_0`)).text,
      (await b.get(`${s.e}/rename?name=H_1`)).text,
      (await b.get(`${s.e}/review`)).text,
      (await b.get(`/p/${s.project.id}`)).text,
      (await b.get("/")).text,
    ];
    for (const text of texts) expectNoValue(text, [...MARKERS, "-stored-", "typed-value-zz"]);
  });
});

describe("drafts in storage", () => {
  it("keeps the typed values sealed in the keeper (app.db holds the ref only), bound to their draft", async () => {
    const s = await setup();
    await s.browsers.writer.post(`${s.e}/add`, { name: "SEALED", value: "sealed-typed-value" });
    await s.browsers.owner.post(`${s.e}/add`, { name: "OTHER", value: "other-typed-value" });
    const rows = (await s.h.appdb.database.client.execute("SELECT * FROM drafts ORDER BY user_id")).rows;
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toContain("sealed-typed-value");
    const blobs = await s.h.keeper.get(rows.map((r) => new Uint8Array(r.ref as ArrayBuffer)));
    expect(Buffer.from(blobs[0]!).includes("sealed-typed-value")).toBe(false);
    // Both refs are in `refs`: the collector keeps them while the drafts live.
    const used = await s.h.appdb.versions.referenced(rows.map((r) => Buffer.from(r.ref as ArrayBuffer)));
    expect(used.size).toBe(2);
    // A blob moved to another draft does not open there.
    await s.h.appdb.database.client.execute({
      sql: "UPDATE drafts SET ref = ? WHERE id = ?",
      args: [rows[0]!.ref as ArrayBuffer, String(rows[1]!.id)],
    });
    const moved = await (rows[1]!.user_id === s.tokens.owner.id ? s.browsers.owner : s.browsers.writer).get(
      s.e,
    );
    expect(moved.status).toBe(500);
    expect(moved.text).toContain("your pending changes failed their integrity check");
    expect(moved.text).not.toContain("typed-value");
  });

  it("goes with its blob when its session signs out, is collected once it expires or its session ends, and never before", async () => {
    const s = await setup();
    await s.browsers.writer.post(`${s.e}/add`, { name: "A1", value: "1" });
    const second = new WebBrowser(s.h);
    await second.signIn("owner@example.com");
    await second.post(`${s.e}/add`, { name: "A2", value: "2" });
    const third = new WebBrowser(s.h);
    await third.signIn("owner@example.com");
    await third.post(`${s.e}/add`, { name: "A3", value: "3" });
    const refs = async () =>
      (await s.h.appdb.database.client.execute("SELECT ref FROM drafts ORDER BY updated_at, id")).rows.map(
        (r) => new Uint8Array(r.ref as ArrayBuffer),
      );
    const all = await refs();
    expect(all).toHaveLength(3);
    const gc = () => collectGarbage({ appdb: s.h.appdb, keeper: s.h.keeper, now: s.h.clock.now, graceMs: 0 });
    expect((await gc()).drafts).toBe(0);
    expect((await s.h.keeper.get(all)).every((b) => b !== null)).toBe(true);
    // Signing out removes the session's drafts at once, blobs included.
    await second.post("/signout");
    expect(await refs()).toHaveLength(2);
    expect((await s.h.keeper.get(all)).filter((b) => b === null)).toHaveLength(1);
    // A session ended another way (revoked by a password change, say): the collector removes its draft.
    const sessions = await s.h.appdb.database.client.execute(
      "SELECT token_id FROM drafts WHERE user_id = (SELECT id FROM users WHERE email = 'owner@example.com')",
    );
    await s.h.appdb.tokens.revoke(String(sessions.rows[0]!.token_id), s.h.clock.now());
    expect((await gc()).drafts).toBe(1);
    expect(await refs()).toHaveLength(1);
    // And the last one once twelve hours passed.
    s.h.clock.advance(12 * 3_600_000 + 1);
    expect((await gc()).drafts).toBe(1);
    expect(await refs()).toHaveLength(0);
    expect(await s.h.keeper.get(all)).toEqual([null, null, null]);
  });
});
