/**
 * What "changes nothing" means for the resilience tests: a snapshot of
 * app.db taken through SQL, compared before and after a refused request.
 *
 * Every row of every table is compared, except:
 * - `tokens.last_used_at`: touched by any authenticated request, refused or not;
 * - `users.failed_logins`, `failed_window_start`, `locked_until`: a refused
 *   sign-in counts against the account it names (that is the lockout);
 * - `meta.audit_head`: it follows the audit table, which is
 *   compared separately;
 * - `audit`: compared separately. A refused request may append events whose
 *   action is in `REFUSAL_ACTIONS` (a failed sign-in is audited) and nothing
 *   else; the rows already there must stay byte for byte.
 * - `handoff_origins` may gain rows (the rows already there must stay): a
 *   dotenv-vault poll that is still pending (`/check`, `/vault` answer 404
 *   then) records where its request came from, for the approval page.
 */
import type { Harness } from "../server/harness";

export const REFUSAL_ACTIONS = new Set(["auth.login_failed"]);

const APPEND_ONLY = new Set(["handoff_origins"]);

const IGNORED_COLUMNS: Record<string, readonly string[]> = {
  tokens: ["last_used_at"],
  users: ["failed_logins", "failed_window_start", "locked_until"],
};

export interface Snapshot {
  tables: Record<string, string>;
  audit: { seq: number; action: string; hash: string }[];
}

/** Each table but the audit, and how to order its rows: by rowid, or by primary key (its first column) WITHOUT ROWID. */
async function tableNames(h: Harness): Promise<{ name: string; order: string }[]> {
  const rs = await h.appdb.database.client.execute(
    "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name",
  );
  return rs.rows
    .map((r) => ({ name: String(r.name), order: /WITHOUT ROWID/i.test(String(r.sql)) ? "1" : "rowid" }))
    .filter((t) => t.name !== "audit");
}

export async function snapshot(h: Harness): Promise<Snapshot> {
  await h.ctx.audit.flush();
  const tables: Record<string, string> = {};
  for (const { name, order } of await tableNames(h)) {
    const rs = await h.appdb.database.client.execute(`SELECT * FROM "${name}" ORDER BY ${order}`);
    const ignored = IGNORED_COLUMNS[name] ?? [];
    const rows = name === "meta" ? rs.rows.filter((r) => r.key !== "audit_head") : rs.rows;
    tables[name] = JSON.stringify(
      rows.map((row) =>
        rs.columns
          .filter((c) => !ignored.includes(c))
          .map((c) => {
            const v = row[c];
            return v instanceof ArrayBuffer ? Buffer.from(v).toString("hex") : String(v);
          }),
      ),
    );
  }
  const audit = await h.appdb.database.client.execute("SELECT seq, action, hash FROM audit ORDER BY seq");
  return {
    tables,
    audit: audit.rows.map((r) => ({ seq: Number(r.seq), action: String(r.action), hash: String(r.hash) })),
  };
}

/** Undefined when `after` is what a refused request may leave; otherwise what changed. */
export function unexpectedChange(before: Snapshot, after: Snapshot): string | undefined {
  for (const [name, rows] of Object.entries(before.tables)) {
    if (APPEND_ONLY.has(name)) {
      const kept = JSON.parse(rows) as unknown[];
      const now = JSON.parse(after.tables[name] ?? "[]") as unknown[];
      if (JSON.stringify(now.slice(0, kept.length)) !== rows) return `table ${name} changed`;
    } else if (after.tables[name] !== rows) return `table ${name} changed`;
  }
  for (const name of Object.keys(after.tables)) {
    if (!(name in before.tables)) return `table ${name} appeared`;
  }
  for (const [i, row] of before.audit.entries()) {
    const now = after.audit[i];
    if (!now || now.hash !== row.hash) return `audit row ${row.seq} changed or vanished`;
  }
  for (const row of after.audit.slice(before.audit.length)) {
    if (!REFUSAL_ACTIONS.has(row.action)) return `audit gained ${row.action}`;
  }
  return undefined;
}
