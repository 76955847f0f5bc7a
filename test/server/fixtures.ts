import type { Harness } from "./harness";

/** A file that exercises the layout: comments, blank lines, export, every quoting style, multi-line, CRLF, Unicode. */
export const TRICKY_FILE = [
  "# database settings",
  "DB_HOST=localhost",
  "DB_PASS='p@ss w0rd # not a comment'",
  "",
  'export API_KEY="sk_live_\\nline2"',
  'MULTI="first line',
  'second line"',
  "BACKTICK=`has 'single' and \"double\"`",
  "INLINE=value # trailing comment",
  "   SPACED   =   padded   ",
  "UNICODE=héllo wörld ✓ 日本",
  "EMPTY=",
  "",
].join("\n");

export const CRLF_FILE = "A=1\r\nB='two'\r\n# comment\r\nC=\"three\"\r\n";

export async function projectWith(h: Harness, email = "owner@example.com") {
  const owner = await h.user(email);
  const project = (
    await h.request("POST", "/api/v1/projects", { token: owner.token, body: { name: "shop" } })
  ).body;
  const base = `/api/v1/projects/${project.id}/environments`;
  return { owner, project, base };
}
