/**
 * Keyed hashes: what app.db stores to recognise a credential, and the audit
 * chain, are keyed with secrets derived from app.key (HKDF, each under its own
 * label), which app.db never holds. Without this, anyone who can write app.db
 * (a libsql server's operator) could insert a session row holding SHA-256 of a
 * token of their own for any user, or delete audit rows and recompute the
 * chain so that `vault audit verify` passes.
 *
 * - A credential row holds HMAC-SHA-256(credential key, SHA-256 hex of the
 *   token). The inner SHA-256 is what rows held before migration 0003, so
 *   the upgrade re-keys them in place without any plaintext token: existing
 *   sessions, `me_` credentials and service tokens keep working. The handoff
 *   poll secret's hash (`handoffs.poll_hash`) is keyed the same way.
 * - Audit rows from `meta.audit_anchor` on are HMAC-SHA-256(audit key, row);
 *   see repos/audit.ts for the anchor and the head's MAC.
 *
 * The upgrade, and why it cannot be replayed to launder a forgery:
 *
 * 1. It runs only as part of applying migration 0003: its statements (the
 *    re-keyed rows, the anchor at the current audit head, the head with its
 *    MAC) join the migration's own transaction (a MigrationHook), so either
 *    the migration is recorded and everything is keyed, or neither happened.
 *    A crash in between cannot leave a half-upgraded database, and there is
 *    no "pending" marker that a writer could plant to trigger it again.
 * 2. Once 0003 is recorded nothing is ever re-keyed. Deleting or moving the
 *    anchor makes `verify` fail (it is MAC'd, and required once 0003 is
 *    there); credentials are keyed whatever the anchor says.
 * 3. A writer who removes every trace of 0003 (its `_migrations` row, the
 *    anchor, the meta row its SQL wrote) makes app.db look like a database
 *    of the previous release, and the next start would re-key whatever
 *    SHA-256 rows they planted. Nothing inside app.db can tell the two apart,
 *    so the app keeps a note outside it: `DATA/app/app-db.keyed`, written by
 *    the first start that sees app.db keyed. When the note exists, an app.db
 *    that still needs 0003 and holds any credential or audit row is refused
 *    (a new, empty one is fine: there is nothing to launder). An operator who
 *    really put an older app.db back deletes the note. A host that has never
 *    seen the keyed database (a new app host added later) has no note: that
 *    host trusts the database as it finds it, as any first start must.
 *
 * What is not keyed, and why that is enough: every other row of app.db
 * (users, grants, names, versions) can still be changed by its writer; the
 * keys only take away the two things a writer could not otherwise do without
 * being seen: sign in as someone, and rewrite history unnoticed.
 */
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseError, hkdf32, type MigrationHook } from "../db";
import { anchorStatements, HEAD_KEY, legacyHead } from "./repos/audit";

export const CREDENTIAL_LABEL = "vault/v1/credential-mac";
export const AUDIT_LABEL = "vault/v1/audit-mac";

export interface HashKeys {
  /** Keys what credential rows (and handoff poll secrets) store. */
  credential: Uint8Array;
  /** Keys the audit chain. */
  audit: Uint8Array;
}

export function hashKeys(appKey: Uint8Array): HashKeys {
  return { credential: hkdf32(appKey, CREDENTIAL_LABEL), audit: hkdf32(appKey, AUDIT_LABEL) };
}

/** What app.db stores for a secret whose SHA-256 hex is `digest`. */
export function keyedDigest(key: Uint8Array, digest: string): string {
  return createHmac("sha256", key).update(digest, "utf8").digest("hex");
}

/** The note, outside app.db, that this data directory has seen app.db keyed. */
export function keyedNoteFile(dataDir: string): string {
  return join(dataDir, "app", "app-db.keyed");
}

/** Writes the note if it is missing. Best effort: a read-only data directory (doctor on a mounted copy) opens anyway. */
export function writeKeyedNote(path: string): void {
  if (existsSync(path)) return;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(
      path,
      "app.db's credential hashes and audit chain are keyed (migration 0003). Delete this file only if you put an older app.db back on purpose.\n",
      { mode: 0o600, flag: "wx" },
    );
  } catch {
    // The next process that can write the data directory (the server) leaves the note.
  }
}

/** Migration 0003's code step (see the top of this file). */
export function keyedHashesUpgrade(
  keys: HashKeys,
  options: { noteFile?: string; now?: () => number } = {},
): MigrationHook {
  return async (tx) => {
    const rows = async (text: string) => (await tx.execute(text)).rows;
    const tokens = (await rows("SELECT id, hash FROM tokens")).map((r) => [String(r.id), String(r.hash)]);
    const polls = (await rows("SELECT id, poll_hash FROM handoffs WHERE poll_hash IS NOT NULL")).map((r) => [
      String(r.id),
      String(r.poll_hash),
    ]);
    const headValue = (await tx.execute({ sql: "SELECT value FROM meta WHERE key = ?", args: [HEAD_KEY] }))
      .rows[0]?.value;
    const audited = Number((await rows("SELECT count(*) AS n FROM audit"))[0]?.n ?? 0);
    const holdsAnything = tokens.length > 0 || polls.length > 0 || audited > 0 || headValue != null;
    if (options.noteFile && existsSync(options.noteFile) && holdsAnything) {
      throw new DatabaseError(
        "OPEN_FAILED",
        `app.db has not been upgraded to keyed hashes, but this data directory has seen it keyed (${options.noteFile}): someone may have rolled app.db back to plant credentials; refusing to start. If you put an older app.db back on purpose, delete that file and start again`,
      );
    }
    const rekey = (pairs: string[][]) =>
      JSON.stringify(pairs.map(([id, digest]) => [id, keyedDigest(keys.credential, digest!)]));
    const statements = [
      {
        sql: "UPDATE tokens SET hash = j.value ->> 1 FROM json_each(?) AS j WHERE tokens.id = j.value ->> 0",
        args: [rekey(tokens)],
      },
      {
        sql: "UPDATE handoffs SET poll_hash = j.value ->> 1 FROM json_each(?) AS j WHERE handoffs.id = j.value ->> 0",
        args: [rekey(polls)],
      },
      ...anchorStatements(
        keys.audit,
        legacyHead(headValue == null ? undefined : String(headValue)),
        (options.now ?? Date.now)(),
      ),
    ];
    for (const statement of statements) await tx.execute(statement);
  };
}
