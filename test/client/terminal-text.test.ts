/**
 * Text from a server never reaches the terminal with a control character in
 * it: the server refuses a token name holding one, and the CLI strips them
 * from what it prints anyway (an app.db from before the check may hold such
 * a name, and a server may be hostile).
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { schema } from "../../src/appdb";
import { sanitizeTerminalText } from "../../src/cli-kit";
import { createApiClient } from "../../src/client";
import { table } from "../../src/client/output";
import { type CliHarness, startCliHarness } from "./cli-harness";

const HOSTILE = "evil\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202eeman";
/** Any C0, DEL or C1 character (ESC is one). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;

let c: CliHarness;
let owner: { token: string; id: string; email: string };
let config: string;
let checkout: string;
let projectId: string;

beforeAll(async () => {
  c = await startCliHarness();
  owner = await c.h.user("owner@example.com", "owner");
  config = c.signedIn(owner);
  checkout = c.dir("app");
  await c.ok(["new", "shop"], { config, cwd: checkout });
  projectId = /DOTENV_VAULT="(vlt_[0-9a-f]{64})"/.exec(
    await Bun.file(join(checkout, ".env.vault")).text(),
  )![1]!;
});

describe("sanitizeTerminalText", () => {
  it("turns every control character and bidi override into U+FFFD and keeps the rest", () => {
    expect(sanitizeTerminalText(HOSTILE)).toBe("evil\ufffd]0;pwned\ufffd\ufffd[2J\ufffd31m\ufffdeman");
    expect(sanitizeTerminalText("plain text, ünïcødé ✓ 日本")).toBe("plain text, ünïcødé ✓ 日本");
  });

  it("is applied to every table cell", () => {
    expect(table([["A", HOSTILE]])).not.toMatch(CONTROL);
  });
});

describe("the server's token names", () => {
  it("refuses a token name holding an escape sequence with a 400, a code and a hint", async () => {
    const api = createApiClient({ baseUrl: c.url, token: owner.token });
    const error = await api.tokens
      .create(projectId, { name: HOSTILE, environments: ["ci"] })
      .then(() => undefined)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "INVALID_REQUEST", status: 400 });
    expect(error.message).toBe("a token name is 1 to 100 printable characters");
    expect(error.hint).toContain("control characters");
    for (const name of ["line\nbreak", "tab\there", "   ", "bell\u0007"]) {
      const e = await api.tokens
        .create(projectId, { name, environments: ["ci"] })
        .then(() => undefined)
        .catch((x) => x);
      expect(e?.status, JSON.stringify(name)).toBe(400);
    }
    // A printable name, Unicode included, is kept as given (trimmed).
    const made = await api.tokens.create(projectId, { name: " déploiement ✓ ", environments: ["ci"] });
    expect(made.name).toBe("déploiement ✓");
  });
});

describe("the CLI's output of server text", () => {
  it("tokens list, versions and audit print a stored escape-laden token name without a control character", async () => {
    // As an app.db from before the name check may hold it.
    const api = createApiClient({ baseUrl: c.url, token: owner.token });
    const made = await api.tokens.create(projectId, { name: "plain", environments: ["ci"], write: true });
    await c.h.appdb.orm.update(schema.tokens).set({ name: HOSTILE }).where(eq(schema.tokens.id, made.id));
    // The token pushes, so the version's author is "token:<the name>".
    writeFileSync(join(checkout, "ci.env"), "A=1\n");
    await c.ok(["push", "ci", "ci.env"], {
      cwd: checkout,
      env: { VAULT_TOKEN: made.token, VAULT_SERVER: c.url },
    });
    const outputs = [
      await c.ok(["tokens", "list"], { config, cwd: checkout }),
      await c.ok(["versions", "ci"], { config, cwd: checkout }),
      await c.ok(["audit"], { config, cwd: checkout }),
      await c.ok(["whoami"], { cwd: checkout, env: { VAULT_TOKEN: made.token, VAULT_SERVER: c.url } }),
    ];
    for (const out of outputs) {
      expect(out).toContain("evil\ufffd]0;pwned");
      expect(out).not.toMatch(CONTROL);
    }
    // --json keeps the name exactly, escaped by JSON.
    const json = await c.ok(["tokens", "list", "--json"], { config, cwd: checkout });
    expect(json).not.toMatch(CONTROL);
    expect(JSON.parse(json).map((t: { name: string }) => t.name)).toContain(HOSTILE);
  });

  it("error lines from a server are printed without control characters", async () => {
    const hostile = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        Response.json(
          {
            error: {
              code: "FORBIDDEN",
              message: `no \u001b[8mhidden\u001b[0m`,
              hint: "run \u001b]0;x\u0007",
            },
          },
          { status: 403 },
        ),
    });
    try {
      const r = await c.cli(["projects"], {
        config,
        env: { VAULT_SERVER: `http://127.0.0.1:${hostile.port}`, VAULT_TOKEN: `vst_${"a".repeat(64)}` },
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toStartWith("vault: error: no \ufffd[8mhidden");
      expect(r.stderr).toContain("vault: hint: run \ufffd]0;x");
      expect(r.stderr).not.toMatch(CONTROL);
    } finally {
      hostile.stop(true);
    }
  });
});
