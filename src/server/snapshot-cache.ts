/**
 * Recently opened versions, kept in the app's memory so that a hot pull
 * does not go to the keeper and decrypt every value again. Versions are
 * immutable (a version number of an environment always names the same
 * values), so an entry can only be stale by being evicted, never wrong.
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
  /** The rendered file, once something rendered it. */
  rendered?: string;
}

interface Entry {
  snapshot: CachedSnapshot;
  bytes: number;
  expiresAt: number;
}

export interface SnapshotCache {
  get(environmentId: string, version: number): CachedSnapshot | undefined;
  put(environmentId: string, version: number, snapshot: CachedSnapshot): void;
  /** Forgets every version of an environment (deleted environments and projects). */
  forget(environmentId: string): void;
  size(): { entries: number; bytes: number };
}

function weigh(s: CachedSnapshot): number {
  let bytes = s.layout?.length ?? 0;
  for (const [name, value] of s.values) bytes += 2 * (name.length + value.length) + 64;
  return bytes + s.entries.length * 64;
}

export function createSnapshotCache(options: {
  ttlMs: number;
  maxBytes: number;
  now: () => number;
}): SnapshotCache {
  const entries = new Map<string, Entry>();
  let total = 0;
  const drop = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    total -= entry.bytes;
  };
  return {
    get(environmentId, version) {
      if (options.ttlMs <= 0) return undefined;
      const key = `${environmentId}:${version}`;
      const entry = entries.get(key);
      if (!entry) return undefined;
      const now = options.now();
      if (entry.expiresAt <= now) {
        drop(key);
        return undefined;
      }
      // Most recently used last: the first entries are the ones to evict.
      entries.delete(key);
      entry.expiresAt = now + options.ttlMs;
      entries.set(key, entry);
      return entry.snapshot;
    },
    put(environmentId, version, snapshot) {
      if (options.ttlMs <= 0) return;
      const key = `${environmentId}:${version}`;
      drop(key);
      const bytes = weigh(snapshot);
      if (bytes > options.maxBytes / 4) return;
      entries.set(key, { snapshot, bytes, expiresAt: options.now() + options.ttlMs });
      total += bytes;
      const now = options.now();
      for (const [k, e] of entries) {
        if (total <= options.maxBytes && e.expiresAt > now) break;
        drop(k);
      }
    },
    forget(environmentId) {
      for (const key of [...entries.keys()]) if (key.startsWith(`${environmentId}:`)) drop(key);
    },
    size: () => ({ entries: entries.size, bytes: total }),
  };
}
