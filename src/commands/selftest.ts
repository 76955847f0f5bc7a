/**
 * `vault selftest` (hidden): proves that the parts a compiled binary cannot
 * take for granted are really inside it. scripts/compile.ts runs it from a
 * temporary directory outside the repository, where no node_modules can hide
 * a packaging bug:
 *
 * - libsql's native addon is embedded and loads (Bun extracts it to $TMPDIR),
 *   and an encrypted database opens, refuses a wrong key and does not start
 *   with the plain SQLite header;
 * - Ink and React render (the react-devtools-core stub is in place);
 * - Elysia answers a request (its ahead-of-time handler compilation works).
 *
 * It writes only inside a fresh temporary directory, which it removes.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Elysia } from "elysia";
import { renderToString, Text } from "ink";
import { createElement } from "react";
import type { CommandContext } from "../cli-kit";
import { CliError } from "../cli-kit";
import { DatabaseError, openDatabase } from "../db";
import { EXIT } from "../exit-codes";

const SQLITE_HEADER = "SQLite format 3\0";

export async function selftest({ io }: CommandContext): Promise<number> {
  const checks: [string, () => Promise<void>][] = [
    ["libsql", checkLibsql],
    ["ink", checkInk],
    ["elysia", checkElysia],
  ];
  for (const [name, check] of checks) {
    try {
      await check();
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new CliError(`selftest: ${name}: ${why}`, EXIT.failure, [
        "the binary is broken: rebuild it with `bun scripts/compile.ts`",
      ]);
    }
    io.stdout.write(`selftest: ${name} ok\n`);
  }
  return EXIT.ok;
}

async function checkLibsql(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vault-selftest-"));
  try {
    const location = join(dir, "selftest.db");
    const key = new Uint8Array(randomBytes(32));
    const db = await openDatabase({ location, atRestKey: key, label: "selftest.db" });
    try {
      await db.client.execute("CREATE TABLE t (v TEXT NOT NULL)");
      await db.client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["selftest"] });
    } finally {
      db.close();
    }

    const again = await openDatabase({ location, atRestKey: key, label: "selftest.db" });
    try {
      const rows = await again.client.execute("SELECT v FROM t");
      if (rows.rows.length !== 1 || rows.rows[0]?.v !== "selftest")
        throw new Error("the row did not survive reopening");
    } finally {
      again.close();
    }

    const header = readFileSync(location).subarray(0, SQLITE_HEADER.length).toString("latin1");
    if (header === SQLITE_HEADER) throw new Error("the database file is not encrypted");

    const wrong = new Uint8Array(randomBytes(32));
    const refused = await openDatabase({ location, atRestKey: wrong, label: "selftest.db" }).then(
      (db) => {
        db.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    if (!(refused instanceof DatabaseError) || refused.code !== "WRONG_KEY") {
      throw new Error("a wrong key was not refused as WRONG_KEY");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function checkInk(): Promise<void> {
  const out = renderToString(createElement(Text, null, "selftest"), { columns: 40 });
  if (out.trim() !== "selftest") throw new Error(`rendered ${JSON.stringify(out)}`);
}

async function checkElysia(): Promise<void> {
  const app = new Elysia().get("/selftest", () => ({ status: "ok" }));
  const res = await app.handle(new Request("http://localhost/selftest"));
  const body = (await res.json()) as { status?: string };
  if (res.status !== 200 || body.status !== "ok") throw new Error(`answered ${res.status}`);
}
