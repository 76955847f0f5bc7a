import type { Migration } from "../db";
import init from "./migrations/0000_init.sql" with { type: "text" };
import handoffPollSecret from "./migrations/0001_handoff_poll_secret.sql" with { type: "text" };
import refsWithoutRowid from "./migrations/0002_refs_without_rowid.sql" with { type: "text" };
import versionMac from "./migrations/0005_version_mac.sql" with { type: "text" };

/** Every migration of app.db, in order. The compiled binary embeds them as text. */
export const migrations: readonly Migration[] = [
  { name: "0000_init", sql: init },
  { name: "0001_handoff_poll_secret", sql: handoffPollSecret },
  { name: "0002_refs_without_rowid", sql: refsWithoutRowid },
  { name: "0005_version_mac", sql: versionMac },
];
