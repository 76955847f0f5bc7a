/**
 * Recently opened versions, kept in the app's memory so that a hot pull
 * does not go to the keeper and decrypt every value again. Versions are
 * immutable (a version number of an environment always names the same
 * values), so an entry can only be stale by being evicted, never wrong.
 * An entry is put by the push that made the version, or after the version's
 * MAC verified (src/appdb/repos/versions.ts): a hit is not checked again,
 * which keeps the check off the pull hot path.
 *
 * The price is plaintext in the app's memory for at most `ttlMs` after its
 * last use; an attacker who can read that memory can also read app.key and
 * the keeper token, so this does not widen what the app process can reach.
 * `--cache-ttl 0` turns the cache off; the size is bounded.
 */
export interface CachedSnapshot {
  values: Map<string, string>;
  layout: Uint8Array | undefined;
  entries: [name: string, ref: string][];
  /** Whether the version's values resolve references (false: made before references existed). */
  resolves: boolean;
  /**
   * A branch's version merged over its parent's chain (secrets/views.ts), kept with the heads it
   * was merged with (`key`): a parent that moved on gives another key, never this view.
   */
  merged?: { key: string; view: unknown };
  /**
   * The version's values resolved (references followed; never a personal override), with the
   * reads it made: valid only while every environment read is still at the version it was read
   * at (secrets/layers.ts checks that before each use), so a change anywhere it touched is seen
   * at once. Not weighed: one more copy of the values, like the rendered file.
   */
  resolved?: { values: Map<string, string>; reads: unknown[]; rendered?: string };
  /** The rendered file, once something rendered it. */
  rendered?: string;
  /** The rendered file as a JSON string literal, for the pull answer (escaping 5 KB per pull showed). */
  renderedJson?: string;
}

interface Entry {
  environmentId: string;
  version: number;
  snapshot: CachedSnapshot;
  bytes: number;
  expiresAt: number;
}

export interface SnapshotCache {
  get(environmentId: string, version: number): CachedSnapshot | undefined;
  /**
   * Keeps a version. With `latest`, the version was just pushed: the older
   * versions of that environment are dropped, because pulls ask for the head
   * and a history read can open them again.
   */
  put(environmentId: string, version: number, snapshot: CachedSnapshot, options?: { latest?: boolean }): void;
  /** Forgets every version of an environment (deleted environments and projects). */
  forget(environmentId: string): void;
  size(): { entries: number; bytes: number };
}

/**
 * What a snapshot costs in the heap, roughly: the name twice (in the map and
 * in the entries), the value twice (alone and in the rendered file, once a
 * pull renders it), two bytes a character, a map slot, an entry pair, the layout.
 */
function weigh(s: CachedSnapshot): number {
  let bytes = (s.layout?.length ?? 0) + 256;
  for (const [name, value] of s.values) bytes += 4 * (name.length + value.length) + 160;
  return bytes;
}

export function createSnapshotCache(options: {
  ttlMs: number;
  maxBytes: number;
  now: () => number;
}): SnapshotCache {
  /** In least recently used order: the first entries are the ones to evict. */
  const entries = new Map<string, Entry>();
  /** The cached versions of each environment, to drop them together. */
  const byEnvironment = new Map<string, Set<number>>();
  let total = 0;
  const keyOf = (environmentId: string, version: number) => `${environmentId}:${version}`;
  const drop = (environmentId: string, version: number) => {
    const key = keyOf(environmentId, version);
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    total -= entry.bytes;
    const versions = byEnvironment.get(environmentId);
    versions?.delete(version);
    if (versions?.size === 0) byEnvironment.delete(environmentId);
  };
  const forget = (environmentId: string) => {
    for (const version of [...(byEnvironment.get(environmentId) ?? [])]) drop(environmentId, version);
  };
  return {
    get(environmentId, version) {
      if (options.ttlMs <= 0) return undefined;
      const key = keyOf(environmentId, version);
      const entry = entries.get(key);
      if (!entry) return undefined;
      const now = options.now();
      if (entry.expiresAt <= now) {
        drop(environmentId, version);
        return undefined;
      }
      entries.delete(key);
      entry.expiresAt = now + options.ttlMs;
      entries.set(key, entry);
      return entry.snapshot;
    },
    put(environmentId, version, snapshot, putOptions) {
      if (options.ttlMs <= 0) return;
      if (putOptions?.latest) forget(environmentId);
      else drop(environmentId, version);
      const bytes = weigh(snapshot);
      if (bytes > options.maxBytes / 4) return;
      entries.set(keyOf(environmentId, version), {
        environmentId,
        version,
        snapshot,
        bytes,
        expiresAt: options.now() + options.ttlMs,
      });
      const versions = byEnvironment.get(environmentId) ?? new Set<number>();
      byEnvironment.set(environmentId, versions.add(version));
      total += bytes;
      const now = options.now();
      for (const e of entries.values()) {
        if (total <= options.maxBytes && e.expiresAt > now) break;
        drop(e.environmentId, e.version);
      }
    },
    forget,
    size: () => ({ entries: entries.size, bytes: total }),
  };
}
