import type { Migration } from "../db";
import init from "./migrations/0000_init.sql" with { type: "text" };
import handoffPollSecret from "./migrations/0001_handoff_poll_secret.sql" with { type: "text" };
import refsWithoutRowid from "./migrations/0002_refs_without_rowid.sql" with { type: "text" };
import keyedHashes from "./migrations/0003_keyed_hashes.sql" with { type: "text" };
import handoffOrigin from "./migrations/0004_handoff_origin.sql" with { type: "text" };

/** The migration that keys stored hashes; openAppDb supplies its code step (see keyed.ts). */
export const KEYED_HASHES = "0003_keyed_hashes";

/** Every migration of app.db, in order. The compiled binary embeds them as text. */
export const migrations: readonly Migration[] = [
  { name: "0000_init", sql: init },
  { name: "0001_handoff_poll_secret", sql: handoffPollSecret },
  { name: "0002_refs_without_rowid", sql: refsWithoutRowid },
  {
    name: KEYED_HASHES,
    sql: keyedHashes,
    prepare: async () => {
      throw new Error(`app.db: migration ${KEYED_HASHES} needs app.key; open app.db with openAppDb`);
    },
  },
  { name: "0004_handoff_origin", sql: handoffOrigin },
];
