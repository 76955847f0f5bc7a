/**
 * The push baseline: the least a program must do to commit what one push of
 * 100 keys commits, with nothing of ours in between (no HTTP, no parsing, no
 * keeper socket, no group commit). Each push, from one of N concurrent
 * writers (async loops, each on its own environment):
 *
 * - seals each of the 100 values and the layout with AES-256-GCM
 *   (node:crypto, a random 12-byte nonce, the name bound as associated data);
 * - commits the 101 sealed blobs under new 16-byte refs (6 bytes of the time
 *   in ms, then 10 random, as the keeper makes them: time first keeps the
 *   refs' b-trees appending at their right edge) and the term's
 *   seal counter in vault.db: one transaction;
 * - commits the version row (entries as JSON, summary, an HMAC over it), the
 *   environment's new head, the 101 refs, and one hash-chained audit row in
 *   app.db: one transaction.
 *
 * Two libsql files opened as ours are (encrypted at rest, WAL, the same
 * pragmas as src/db/open.ts: synchronous FULL, or NORMAL for `fast`), one
 * transaction in each per push: the physical work of a push, as a writer
 * that does not batch across writers would do it. Batching across writers is
 * what the server adds (group commit), so it is left out here on purpose.
 * vault.db is written from a worker thread and app.db from the main one, as
 * the server writes them from two processes: libsql runs a statement on the
 * calling thread, and one thread for both files would give the baseline one
 * core where the server has two.
 *
 *   bun bench/push-baseline.ts           # push/s of 8 writers for BENCH_SECONDS (default 5), full and fast
 */
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";

export type Durability = "full" | "fast";

export interface PushBaseline {
  /** One push of `values` (name -> value) to writer `writer`'s environment. */
  push(writer: number, values: ReadonlyMap<string, string>): Promise<void>;
  close(): void;
}

async function open(path: string, durability: Durability): Promise<Client> {
  const client = createClient({
    url: `file:${path}`,
    encryptionKey: randomBytes(32).toString("hex"),
    concurrency: 1,
  });
  // The pragmas of src/db/open.ts (configureLocal), written out here.
  await client.execute("SELECT count(*) FROM sqlite_master");
  await client.execute("PRAGMA journal_mode=WAL");
  await client.execute(`PRAGMA synchronous=${durability === "fast" ? "NORMAL" : "FULL"}`);
  await client.execute("PRAGMA wal_autocheckpoint=300");
  await client.execute("PRAGMA busy_timeout=5000");
  await client.execute("PRAGMA foreign_keys=ON");
  await client.execute("PRAGMA secure_delete=ON");
  return client;
}

/** A ref as the keeper makes one (src/vault/keyring.ts): the time in ms (6 bytes), then 10 random bytes. */
function newRef(now: number): Buffer {
  const ref = randomBytes(16);
  ref.writeUIntBE(now % 2 ** 48, 0, 6);
  return ref;
}

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export async function openPushBaseline(
  dir: string,
  options: { durability: Durability; writers: number },
): Promise<PushBaseline> {
  const vault = await vaultWriter(join(dir, "vault.db"), options.durability);
  const app = await open(join(dir, "app.db"), options.durability);
  await app.batch(
    [
      "CREATE TABLE environments (id TEXT PRIMARY KEY NOT NULL, head INTEGER NOT NULL DEFAULT 0)",
      "CREATE TABLE versions (environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE, number INTEGER NOT NULL, entries TEXT NOT NULL, layout_ref BLOB NOT NULL, summary TEXT NOT NULL, kind TEXT NOT NULL, author_label TEXT NOT NULL, created_at INTEGER NOT NULL, mac BLOB NOT NULL, PRIMARY KEY (environment_id, number))",
      // One b-tree, as app.db's refs since its migration 0002.
      "CREATE TABLE refs (ref BLOB PRIMARY KEY NOT NULL, environment_id TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID",
      "CREATE TABLE audit (seq INTEGER PRIMARY KEY NOT NULL, at INTEGER NOT NULL, action TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_label TEXT, environment_id TEXT, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
      ...Array.from(
        { length: options.writers },
        (_, i) => `INSERT INTO environments (id) VALUES ('env${i}')`,
      ),
    ],
    "write",
  );
  const dataKey = randomBytes(32);
  const macKey = randomBytes(32);
  const heads = new Array<number>(options.writers).fill(0);
  let seq = 0;
  let prevHash = "0".repeat(64);

  return {
    async push(writer, values) {
      const env = `env${writer}`;
      const number = ++heads[writer]!;
      const now = Date.now();
      // Seal: each value under a new ref, and the layout (here the file's names, in order).
      const names = [...values.keys()];
      const rows: string[] = [];
      const entries: [string, string][] = [];
      for (const [name, value] of values) {
        const ref = newRef(now);
        const blob = seal(dataKey, Buffer.from(value, "utf8"), `${env}/${name}`);
        rows.push(ref.toString("hex") + blob.toString("hex"));
        entries.push([name, ref.toString("hex")]);
      }
      const layoutRef = newRef(now);
      rows.push(
        layoutRef.toString("hex") +
          seal(dataKey, Buffer.from(names.join("\n")), `${env}#${number}`).toString("hex"),
      );
      // vault.db: the blobs and the seal counter, one transaction.
      await vault.commit(now, rows);
      // app.db: the version, the head, the refs and the audit row, one transaction.
      const entriesJson = JSON.stringify(entries);
      const mac = createHmac("sha256", macKey).update(`${env}\n${number}\n${entriesJson}`).digest();
      const detail = JSON.stringify({ version: number, added: 0, changed: names.length, removed: 0 });
      const auditSeq = ++seq;
      const hash = createHmac("sha256", macKey)
        .update(JSON.stringify([auditSeq, prevHash, now, "secrets.push", "user", "bench", env, detail]))
        .digest("hex");
      const prev = prevHash;
      prevHash = hash;
      await app.batch(
        [
          {
            sql: "INSERT INTO versions (environment_id, number, entries, layout_ref, summary, kind, author_label, created_at, mac) VALUES (?, ?, ?, ?, ?, 'push', 'bench', ?, ?)",
            args: [
              env,
              number,
              entriesJson,
              layoutRef,
              JSON.stringify({ added: [], changed: names, removed: [] }),
              now,
              mac,
            ],
          },
          {
            sql: "UPDATE environments SET head = ? WHERE id = ? AND head = ?",
            args: [number, env, number - 1],
          },
          {
            sql: "INSERT INTO refs (ref, environment_id, created_at) SELECT unhex(value), ?, ? FROM json_each(?)",
            args: [env, now, JSON.stringify([...entries.map(([, r]) => r), layoutRef.toString("hex")])],
          },
          {
            sql: "INSERT INTO audit (seq, at, action, actor_kind, actor_label, environment_id, detail, prev_hash, hash) VALUES (?, ?, 'secrets.push', 'user', 'bench', ?, ?, ?, ?)",
            args: [auditSeq, now, env, detail, prev, hash],
          },
        ],
        "write",
      );
    },
    close() {
      vault.close();
      app.close();
    },
  };
}

/** vault.db's side, on a worker thread: one transaction per push, answered when committed. */
async function vaultWriter(path: string, durability: Durability) {
  const worker = new Worker(new URL(import.meta.url).href, { env: { PUSH_BASELINE_WORKER: "1" } });
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let next = 0;
  worker.onmessage = ({ data }: MessageEvent<{ id: number; error?: string }>) => {
    const w = waiting.get(data.id)!;
    waiting.delete(data.id);
    if (data.error) w.reject(new Error(data.error));
    else w.resolve();
  };
  const call = (message: object) =>
    new Promise<void>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, ...message });
    });
  await call({ open: path, durability });
  return {
    commit: (now: number, rows: string[]) => call({ now, rows: JSON.stringify(rows) }),
    close: () => worker.terminate(),
  };
}

if (process.env.PUSH_BASELINE_WORKER === "1" && !Bun.isMainThread) {
  let vault: Client | undefined;
  (globalThis as unknown as Worker).onmessage = async ({ data }: MessageEvent) => {
    try {
      if (data.open) {
        vault = await open(data.open, data.durability);
        await vault.batch(
          [
            "CREATE TABLE sealed_values (ref BLOB PRIMARY KEY NOT NULL, term INTEGER NOT NULL, blob BLOB NOT NULL, created_at INTEGER NOT NULL)",
            "CREATE INDEX sealed_values_term ON sealed_values (term)",
            "CREATE TABLE term_counters (term INTEGER PRIMARY KEY NOT NULL, seals INTEGER NOT NULL DEFAULT 0)",
            "INSERT INTO term_counters (term, seals) VALUES (1, 0)",
          ],
          "write",
        );
      } else {
        await vault!.batch(
          [
            {
              sql: "INSERT INTO sealed_values (ref, term, blob, created_at) SELECT unhex(substr(value, 1, 32)), 1, unhex(substr(value, 33)), ? FROM json_each(?)",
              args: [data.now, data.rows],
            },
            {
              sql: "UPDATE term_counters SET seals = seals + json_array_length(?) WHERE term = 1",
              args: [data.rows],
            },
          ],
          "write",
        );
      }
      postMessage({ id: data.id });
    } catch (error) {
      postMessage({ id: data.id, error: String((error as Error)?.message ?? error) });
    }
  };
} else if (import.meta.main) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const writers = 8;
  let counter = 0;
  const file = () =>
    new Map(
      Array.from({ length: 100 }, (_, i) => [`KEY_${i}`, `value-b${counter++}-${i}-${"x".repeat(24)}`]),
    );
  for (const durability of ["full", "fast"] as const) {
    const dir = mkdtempSync(join(tmpdir(), "vault-push-baseline-"));
    const baseline = await openPushBaseline(dir, { durability, writers });
    let pushes = 0;
    const deadline = performance.now() + seconds * 1000;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        while (performance.now() < deadline) {
          await baseline.push(w, file());
          pushes++;
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    baseline.close();
    rmSync(dir, { recursive: true, force: true });
    console.log(`${durability}: ${Math.round(pushes / elapsed)} push/s (${writers} writers, ${seconds} s)`);
  }
}
