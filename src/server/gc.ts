/**
 * The garbage collector: removes the web editor's drafts nobody can use any
 * more (expired, or their session ended) with their blobs, then refs the
 * keeper holds but app.db no longer uses, once they are older than a grace
 * period (a push in flight has put its values but not yet committed its
 * version; the grace keeps them). A draft's ref is listed in `refs` while
 * the draft lives, so it is never an orphan before then.
 */
import type { AppDb } from "../appdb";
import type { KeeperApi } from "../vault";
import { collectDrafts } from "./modules/secrets/drafts";

export interface GcResult {
  scanned: number;
  removed: number;
  /** Drafts removed (expired, or their session ended). */
  drafts: number;
}

export async function collectGarbage(deps: {
  appdb: Pick<AppDb, "versions" | "drafts">;
  keeper: Pick<KeeperApi, "list" | "delete">;
  now: () => number;
  graceMs: number;
  pageSize?: number;
}): Promise<GcResult> {
  const drafts = await collectDrafts(deps);
  const createdBefore = deps.now() - deps.graceMs;
  const limit = deps.pageSize ?? 1_000;
  let after: Uint8Array | undefined;
  let scanned = 0;
  let removed = 0;
  for (;;) {
    const page = await deps.keeper.list({ createdBefore, after, limit });
    if (page.length === 0) break;
    scanned += page.length;
    const used = await deps.appdb.versions.referenced(page.map((r) => Buffer.from(r)));
    const orphans = page.filter((r) => !used.has(Buffer.from(r).toString("hex")));
    if (orphans.length > 0) removed += await deps.keeper.delete(orphans);
    after = page[page.length - 1];
    if (page.length < limit) break;
  }
  return { scanned, removed, drafts };
}
