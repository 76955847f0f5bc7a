import type { Migration } from "../db";
import init from "./migrations/0000_init.sql" with { type: "text" };
import handoffPollSecret from "./migrations/0001_handoff_poll_secret.sql" with { type: "text" };
import refsWithoutRowid from "./migrations/0002_refs_without_rowid.sql" with { type: "text" };
import keyedHashes from "./migrations/0003_keyed_hashes.sql" with { type: "text" };
import handoffOrigin from "./migrations/0004_handoff_origin.sql" with { type: "text" };
import versionMac from "./migrations/0005_version_mac.sql" with { type: "text" };
import drafts from "./migrations/0006_drafts.sql" with { type: "text" };
import identities from "./migrations/0008_identities.sql" with { type: "text" };
import layers from "./migrations/0009_layers.sql" with { type: "text" };
import overrides from "./migrations/0010_overrides.sql" with { type: "text" };
import webhooks from "./migrations/0011_webhooks.sql" with { type: "text" };
import changeRequests from "./migrations/0012_change_requests.sql" with { type: "text" };

/** The migration that keys stored hashes; its code step is in keyed.ts. */
export const KEYED_HASHES = "0003_keyed_hashes";
/** The migration that adds the versions' MAC; its code step MACs the versions made before it. */
export const VERSION_MAC = "0005_version_mac";

/**
 * Every migration of app.db, in order. The compiled binary embeds them as text.
 * Those that `needsHook` have a code step with keys from app.key
 * (appDbMigrationHooks in open.ts), run inside their own transaction.
 */
export const migrations: readonly Migration[] = [
  { name: "0000_init", sql: init },
  { name: "0001_handoff_poll_secret", sql: handoffPollSecret },
  { name: "0002_refs_without_rowid", sql: refsWithoutRowid },
  { name: KEYED_HASHES, sql: keyedHashes, needsHook: true },
  { name: "0004_handoff_origin", sql: handoffOrigin },
  { name: VERSION_MAC, sql: versionMac, needsHook: true },
  { name: "0006_drafts", sql: drafts },
  { name: "0008_identities", sql: identities },
  { name: "0009_layers", sql: layers },
  { name: "0010_overrides", sql: overrides },
  { name: "0011_webhooks", sql: webhooks },
  { name: "0012_change_requests", sql: changeRequests },
];
