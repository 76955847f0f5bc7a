/**
 * Opening a libsql database for either store.
 *
 * Both app.db and vault.db are opened here so that the at-rest rules are the
 * same for both: local files are encrypted with a 32-byte key (libsql's
 * `encryptionKey`), put in WAL mode with every commit synced (synchronous=FULL;
 * `--durability fast` keeps NORMAL), and refused with a clear error when the
 * key does not open them. Remote URLs (libsql://, https://, http://) go to a
 * libsql server, which then owns at-rest encryption.
 */

import { existsSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import type { Client, InStatement, ResultSet } from "@libsql/client";
import { EXIT, EXIT_CODE } from "../exit-codes";

export class DatabaseError extends Error {
  constructor(
    readonly code: "WRONG_KEY" | "OPEN_FAILED" | "BAD_URL",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DatabaseError";
  }

  readonly [EXIT_CODE] = EXIT.server;
}

export interface DatabaseOptions {
  /** A path to a local file, or a libsql://, https:// or http:// URL. */
  location: string;
  /** The at-rest key for a local file (32 bytes). Ignored for remote URLs. */
  atRestKey?: Uint8Array;
  /** Auth token for a remote libsql server. */
  authToken?: string;
  /** A short name used in error messages ("app.db", "vault.db"). */
  label: string;
  /**
   * Connections the client may open to a local file (default 1). One is
   * right: libsql runs statements synchronously on this thread, so more
   * connections add no parallelism, and the PRAGMAs below (synchronous,
   * busy_timeout, foreign_keys) hold only on the connection that ran them.
   * vault.db needs exactly one, too: re-keying at rest leaves WAL mode.
   */
  concurrency?: number;
  /**
   * How commits reach the disk (default "full"): "full" is synchronous=FULL, every commit
   * synced before it returns, so an acknowledged write survives a power cut or a kernel crash;
   * "fast" is synchronous=NORMAL, which survives a crash of the process but may roll back the
   * last commits on a power cut (the WAL is synced only at checkpoints). `--durability`.
   */
  durability?: Durability;
}

export type Durability = "full" | "fast";

export interface CommitOptions {
  /**
   * "wait" (default): resolve once the transaction is synced to disk. "after": resolve once it
   * is committed (it survives a crash of the process) and sync it right after without waiting:
   * for what must not wait for the disk (the audit events of reads), never for a write that is
   * acknowledged as saved.
   */
  sync?: "wait" | "after";
}

export interface Database {
  client: Client;
  remote: boolean;
  label: string;
  /**
   * Runs the statements as one write transaction and resolves once it is on disk (with
   * `durability: "fast"`, once it is committed): for the hot group-committed writes (pushes, the
   * audit log). See `durableCommit`.
   */
  commit(statements: InStatement[], options?: CommitOptions): Promise<ResultSet[]>;
  close(): void;
}

const REMOTE = /^(libsql|https?):\/\//;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const remote = REMOTE.test(options.location);
  // Loaded on first use: processes that never open a database never load libsql's native addon.
  const { createClient } = await import("@libsql/client");
  let client: Client;
  if (remote) {
    client = createClient({ url: options.location, authToken: options.authToken });
  } else {
    if (options.atRestKey?.length !== 32) {
      throw new DatabaseError("OPEN_FAILED", `${options.label}: a 32-byte at-rest key is required`);
    }
    const existed = existsSync(options.location);
    client = createClient({
      url: `file:${options.location}`,
      encryptionKey: Buffer.from(options.atRestKey).toString("hex"),
      concurrency: options.concurrency ?? 1,
    });
    try {
      await configureLocal(client, options.durability);
    } catch (error) {
      client.close();
      const text = String((error as Error)?.message ?? error);
      if (existed && /NOTADB|not a database|encrypted/i.test(text)) {
        throw new DatabaseError(
          "WRONG_KEY",
          `${options.label}: the key does not open ${options.location} (wrong key, or not a vault database)`,
          { cause: error },
        );
      }
      throw new DatabaseError("OPEN_FAILED", `${options.label}: cannot open ${options.location}`, {
        cause: error,
      });
    }
  }
  const local = !remote && (options.concurrency ?? 1) === 1 && (options.durability ?? "full") === "full";
  const syncer = walSyncer(options.location);
  return {
    client,
    remote,
    label: options.label,
    commit: local
      ? (statements, commitOptions) =>
          durableCommit(client, syncer, statements, commitOptions?.sync ?? "wait")
      : (statements) => client.batch(statements, "write"),
    close: () => client.close(),
  };
}

/**
 * The settings of a connection to a local file. Exported for tests that open
 * a plaintext file to look at its bytes; the product opens every file through
 * openDatabase, with its at-rest key.
 */
export async function configureLocal(client: Client, durability: Durability = "full"): Promise<void> {
  // Touch the schema: a wrong key fails here, before anything is written.
  await client.execute("SELECT count(*) FROM sqlite_master");
  await client.execute("PRAGMA journal_mode=WAL");
  await client.execute(`PRAGMA synchronous=${durability === "fast" ? "NORMAL" : "FULL"}`);
  // Checkpoint every 300 pages, not SQLite's 1,000: a checkpoint runs inside the commit that
  // crosses the mark and blocks this thread while it copies and syncs, and the shorter pause
  // took pull p99 at 32 clients from 9-10 ms to 6 ms, pushes no slower.
  await client.execute("PRAGMA wal_autocheckpoint=300");
  await client.execute("PRAGMA busy_timeout=5000");
  await client.execute("PRAGMA foreign_keys=ON");
  // Deleted and shrunk rows are overwritten with zeros, in their page and in the freelist, so a
  // collected hand-off, a retired keyring or a re-sealed value leaves no old bytes in free space
  // once truncateWal (below) has folded the WAL. Writes here are inserts; deletes are rare.
  await client.execute("PRAGMA secure_delete=ON");
}

/**
 * A commit as durable as synchronous=FULL makes it, with the sync off the event loop. Under FULL,
 * SQLite syncs the WAL inside the commit, on this thread: every request waits while the disk
 * flushes (about 0.6 ms here, far more on a busy disk). So the commit runs under NORMAL (the WAL
 * is written, not synced), the connection goes back to FULL, and the WAL file is synced on
 * libuv's thread pool; only then does this resolve, and nothing is acknowledged before. Meanwhile
 * the event loop serves requests and gathers the next group commit.
 *
 * The three statements are asked for back to back, with no await between: the client's one
 * connection serves its callers in the order they asked (a released connection goes straight to
 * the next waiter), so no other write runs between them and so none runs under NORMAL. The WAL
 * is opened by name for each sync: if it was removed and made again meanwhile (a change of
 * journal mode, a re-key at rest), its frames were checkpointed into the main file first, which
 * SQLite syncs; the main file is synced too when the WAL is gone.
 */
async function durableCommit(
  client: Client,
  syncWal: () => Promise<void>,
  statements: InStatement[],
  sync: "wait" | "after",
): Promise<ResultSet[]> {
  const relaxed = client.execute("PRAGMA synchronous=NORMAL");
  const committed = client.batch(statements, "write");
  const restored = client.execute("PRAGMA synchronous=FULL");
  const [relax, commit, restore] = await Promise.allSettled([relaxed, committed, restored]);
  if (restore.status === "rejected") {
    // Never leave the connection under NORMAL: try again, and refuse to go on without it.
    await client.execute("PRAGMA synchronous=FULL");
  }
  if (commit.status === "rejected") throw commit.reason;
  // Under FULL after all (the PRAGMA failed), the commit synced itself.
  if (relax.status === "fulfilled") {
    const synced = syncWal();
    // Not waited for: a failed sync here is seen by the next commit that waits (the same file).
    if (sync === "after") synced.catch(() => {});
    else await synced;
  }
  return commit.value;
}

/**
 * Syncs of one database's WAL, one at a time: a sync asked for while one runs (which may have
 * started before the caller's commit) is served by the next one, shared by everyone who asked
 * meanwhile. Commits come faster than a disk syncs; this keeps it to one sync in flight.
 */
function walSyncer(location: string): () => Promise<void> {
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const run = syncFile(`${location}-wal`, location).finally(() => {
      if (running === run) running = null;
    });
    running = run;
    return run;
  };
  return () => {
    if (running === null) return start();
    next ??= running
      .catch(() => {})
      .then(() => {
        next = null;
        return start();
      });
    return next;
  };
}

/** fsync a file on the thread pool; when it does not exist, `otherwise`. */
async function syncFile(path: string, otherwise: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof openFile>>;
  try {
    handle = await openFile(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    handle = await openFile(otherwise, "r");
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Folds the WAL into the main file and truncates it to zero bytes, for the
 * rare writes that remove something that must be gone (a collected hand-off,
 * a retired data key): otherwise the old page stays in `-wal` until the WAL
 * wraps around. With secure_delete the page copied into the main file no
 * longer holds the old bytes either. A remote database's server owns its
 * files: nothing to do. False when a reader elsewhere kept the checkpoint
 * from finishing (the next one will).
 */
export async function truncateWal(db: Pick<Database, "client" | "remote">): Promise<boolean> {
  if (db.remote) return false;
  const result = await db.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  return Number(result.rows[0]?.[0] ?? 1) === 0;
}

/** A database's location for logs and summaries: a file path, or a URL without credentials or query. */
export function describeLocation(location: string): string {
  if (!REMOTE.test(location)) return location;
  try {
    const url = new URL(location);
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    return "(remote)";
  }
}
