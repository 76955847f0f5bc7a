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
import { Elysia } from "elysia";
import { renderToString, Text } from "ink";
import { createElement } from "react";
import type { CommandContext } from "../cli-kit";
import { CliError } from "../cli-kit";
import { checkEncryptedDatabase } from "../db";
import { EXIT } from "../exit-codes";

export async function selftest({ io }: CommandContext): Promise<number> {
  const checks: [string, () => Promise<void>][] = [
    ["libsql", checkEncryptedDatabase],
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
