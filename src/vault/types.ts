/**
 * The keeper's public contract: what the app may ask of it. The same shape is
 * served in process (tests, the keeper role itself) and over the private
 * socket (`createKeeperClient`), so callers never know which they hold.
 */

/** A ref: 16 random bytes naming one sealed value. Nothing else names it. */
export type Ref = Uint8Array;

export interface TermStats {
  term: number;
  /** Values currently sealed under this term. */
  values: number;
  createdAt: number;
  /** "active" seals new values; "draining" is being re-sealed away; "retired" keys are destroyed. */
  state: "active" | "draining" | "retired";
  /** Seals performed under this term so far. */
  seals: number;
}

export interface KeeperStats {
  values: number;
  terms: TermStats[];
  /** Re-seal progress after a rotation; null when nothing is being re-sealed. */
  reseal: { fromTerms: number[]; remaining: number; done: number } | null;
  rotations: number;
  /**
   * vault.db's `PRAGMA synchronous` on the keeper's connection: 2 (FULL, every commit synced)
   * or 1 (NORMAL, `--durability fast`); absent for a remote vault.db, whose server decides.
   */
  synchronous?: number;
}

export interface KeeperHealth {
  ok: boolean;
  activeTerm: number;
}

export interface KeeperApi {
  /** Seals each blob under the active term and stores it under a new random ref, in one transaction. */
  put(blobs: readonly Uint8Array[]): Promise<Ref[]>;
  /** Opens the values named by refs; a ref that does not exist yields null. */
  get(refs: readonly Ref[]): Promise<(Uint8Array | null)[]>;
  /** Deletes the refs; returns how many existed. */
  delete(refs: readonly Ref[]): Promise<number>;
  /** Lists refs created before a time, for the app's garbage collector (paged by ref). */
  list(options: { createdBefore: number; after?: Ref; limit: number }): Promise<Ref[]>;
  stats(): Promise<KeeperStats>;
  health(): Promise<KeeperHealth>;
  /** Forces a data-key rotation now. Returns the new active term. */
  rotate(): Promise<{ term: number }>;
  /** Replaces the root key: re-seals the keyring (and re-keys vault.db at rest); touches no value. */
  rotateRoot(): Promise<void>;
}
