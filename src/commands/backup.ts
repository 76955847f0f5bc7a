/**
 * `vault backup DEST` and `vault restore SRC`, on the server host.
 *
 * Backup takes an online, consistent snapshot of each database with SQLite's
 * `VACUUM INTO`, through a fresh connection opened with the database's own
 * at-rest key (the copy is encrypted with the same key; a server may keep
 * running: in WAL mode the snapshot is one read transaction and blocks no
 * writer). The two databases cannot be snapshotted in one transaction, so
 * the order matters: app.db first, then vault.db. Every write seals values
 * in the keeper before app.db names them, so a vault.db taken later holds
 * every ref the earlier app.db names, except refs deleted in between (an
 * environment removed, a DOTENV_KEY rotated twice). The backup therefore
 * checks that every ref in the app.db snapshot's `refs` table is in the
 * vault.db snapshot, and takes both again when one is missing.
 *
 * DEST gets the data directory's layout and a manifest:
 *
 *   DEST/manifest.json       format, time, version, and per file: path, bytes, SHA-256;
 *                            the migrations applied to each database
 *   DEST/app/app.db          DEST/keeper/vault.db
 *   DEST/app/app.key         DEST/keeper/root.key     DEST/app/keeper.token   (unless --no-keys)
 *
 * Restore checks every file against the manifest, copies them next to their
 * targets, opens both copies with their keys (migrating them if this binary
 * is newer), checks the refs, and only then renames them into place. The
 * files it replaces are kept beside them as `<file>.before-restore-<time>`.
 * It refuses while a server runs on the data directory.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { appDbAtRestKey, openAppDb } from "../appdb";
import type { CommandContext } from "../cli-kit";
import { CliError, type Io } from "../cli-kit";
import { withProgress } from "../client";
import { type Config, loadConfig } from "../config";
import { appliedMigrations, type Database, openDatabase, readKeyFile } from "../db";
import { EXIT } from "../exit-codes";
import { runningServer } from "../supervisor";
import { atRestKeyFor, openKeeper } from "../vault";
import { commit, version } from "../version";

export const BACKUP_FORMAT = "vault-backup/1";

const ATTEMPTS = 5;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  vault: string;
  /** Whether a server was running on the data directory while the snapshot was taken. */
  online: boolean;
  keys: boolean;
  files: ManifestFile[];
  schema: { "app.db": string[]; "vault.db": string[] };
  counts: { refs: number; values: number };
}

const FILES = {
  appDb: "app/app.db",
  vaultDb: "keeper/vault.db",
  appKey: "app/app.key",
  rootKey: "keeper/root.key",
  keeperToken: "app/keeper.token",
} as const;

function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

function describe(root: string, rel: string): ManifestFile {
  const path = join(root, rel);
  return { path: rel, bytes: statSync(path).size, sha256: sha256File(path) };
}

function sqlString(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

const isRemote = (location: string) => /^[a-z]+:\/\//.test(location);

function progress(io: Io, text: string): void {
  io.stderr.write(`vault: ${text}\n`);
}

async function openWithKey(
  location: string,
  key: Uint8Array,
  derive: (key: Uint8Array) => Uint8Array,
  what: "app.db" | "vault.db",
) {
  return openDatabase({ location, atRestKey: derive(key), label: what, concurrency: 1 });
}

/** The root keys that may open vault.db: the file's, and a staged `.next` of an interrupted rotation. */
function rootKeyCandidates(config: Pick<Config, "rootKeyFile">): { path: string; key: Uint8Array }[] {
  const out = [{ path: config.rootKeyFile, key: readKeyFile(config.rootKeyFile, "root key file") }];
  const next = `${config.rootKeyFile}.next`;
  if (existsSync(next)) out.push({ path: next, key: readKeyFile(next, "staged root key file") });
  return out;
}

async function refsOf(db: Database, sql: string): Promise<Set<string>> {
  const rows = await db.client.execute(sql);
  return new Set(rows.rows.map((r) => Buffer.from(r[0] as ArrayBuffer).toString("hex")));
}

/** Refs app.db names that vault.db lacks. */
async function missingRefs(
  app: Database,
  vault: Database,
): Promise<{ missing: number; refs: number; values: number }> {
  // Personal overrides' refs are not listed in refs (migration 0010): their rows name them.
  const overrides = await app.client.execute(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'overrides'",
  );
  const named = await refsOf(
    app,
    overrides.rows.length > 0
      ? "SELECT ref FROM refs UNION SELECT ref FROM overrides"
      : "SELECT ref FROM refs",
  );
  const held = await refsOf(vault, "SELECT ref FROM sealed_values");
  let missing = 0;
  for (const ref of named) if (!held.has(ref)) missing++;
  return { missing, refs: named.size, values: held.size };
}

function checkDest(dest: string): void {
  if (existsSync(dest)) {
    if (!statSync(dest).isDirectory())
      throw new CliError(`${dest} exists and is not a directory`, EXIT.usage);
    if (readdirSync(dest).length > 0) {
      throw new CliError(`${dest} is not empty`, EXIT.usage, [
        "give a new or empty directory: backups are never merged",
      ]);
    }
  }
  mkdirSync(join(dest, "app"), { recursive: true, mode: 0o700 });
  mkdirSync(join(dest, "keeper"), { recursive: true, mode: 0o700 });
}

export async function backup(ctx: CommandContext): Promise<number> {
  const io = ctx.io;
  const cwd = io.cwd ?? process.cwd();
  const [destArg, extra] = ctx.positionals;
  if (!destArg)
    throw new CliError("where to? give DEST, a new directory", EXIT.usage, ["run: vault help backup"]);
  if (extra !== undefined) throw new CliError(`unexpected argument "${extra}"`, EXIT.usage);
  const config = loadConfig(ctx.config, io.env, cwd);
  if (isRemote(config.appDb) || isRemote(config.vaultDb)) {
    throw new CliError("a database on a libsql server is backed up with that server's own tools", EXIT.usage);
  }
  for (const [path, what] of [
    [config.appDb, "app database"],
    [config.vaultDb, "vault database"],
  ] as const) {
    if (!existsSync(path)) {
      throw new CliError(`no ${what} at ${path}`, EXIT.usage, ["point at the data directory: --data DIR"]);
    }
  }
  const dest = isAbsolute(destArg) ? destArg : resolve(cwd, destArg);
  const inside = relative(config.dataDir, dest);
  if (inside === "" || (!inside.startsWith("..") && !isAbsolute(inside))) {
    throw new CliError("DEST is inside the data directory", EXIT.usage, ["write the backup somewhere else"]);
  }
  const withKeys = ctx.flags.keys !== false;
  // Everything written below is owner-only, like the data directory itself.
  process.umask(0o077);
  const online = runningServer(config.dataDir) !== undefined;
  checkDest(dest);
  progress(
    io,
    `backing up ${config.dataDir}${online ? " (a server is running: taking an online snapshot)" : ""}`,
  );

  const appKey = readKeyFile(config.appKeyFile, "app key");
  let counts = { refs: 0, values: 0 };
  let schema: Manifest["schema"] = { "app.db": [], "vault.db": [] };
  let rootKeyUsed: string | undefined;
  for (let attempt = 1; ; attempt++) {
    for (const rel of [FILES.appDb, FILES.vaultDb]) rmSync(join(dest, rel), { force: true });
    // 1. app.db, then 2. vault.db: see the top of this file.
    const live = await openWithKey(config.appDb, appKey, appDbAtRestKey, "app.db");
    try {
      await withProgress(io, "copying app.db", () =>
        live.client.execute(`VACUUM INTO ${sqlString(join(dest, FILES.appDb))}`),
      );
    } finally {
      live.close();
    }
    let vaultLive: Database | undefined;
    for (const candidate of rootKeyCandidates(config)) {
      try {
        vaultLive = await openWithKey(config.vaultDb, candidate.key, atRestKeyFor, "vault.db");
        rootKeyUsed = candidate.path;
        break;
      } catch {
        // Try the next candidate.
      }
    }
    if (!vaultLive) throw new CliError(`the root key does not open ${config.vaultDb}`, EXIT.server);
    try {
      await withProgress(io, "copying vault.db", () =>
        vaultLive!.client.execute(`VACUUM INTO ${sqlString(join(dest, FILES.vaultDb))}`),
      );
    } finally {
      vaultLive.close();
    }
    // Check the pair: every ref named is held.
    const rootKey = readKeyFile(rootKeyUsed!, "root key file");
    const app = await openWithKey(join(dest, FILES.appDb), appKey, appDbAtRestKey, "app.db");
    const vault = await openWithKey(join(dest, FILES.vaultDb), rootKey, atRestKeyFor, "vault.db");
    try {
      const check = await missingRefs(app, vault);
      counts = { refs: check.refs, values: check.values };
      schema = { "app.db": await appliedMigrations(app), "vault.db": await appliedMigrations(vault) };
      // The snapshots must not keep WAL files: VACUUM INTO writes a plain database.
      await app.client.execute("PRAGMA journal_mode=DELETE");
      await vault.client.execute("PRAGMA journal_mode=DELETE");
      if (check.missing === 0) break;
      if (attempt >= ATTEMPTS) {
        throw new CliError(
          `app.db names ${check.missing} values the vault.db snapshot lacks, after ${ATTEMPTS} attempts`,
          EXIT.server,
          ["the server was removing environments or rotating keys throughout; retry later, or stop it first"],
        );
      }
      progress(
        io,
        `values were removed between the two snapshots; taking them again (${attempt}/${ATTEMPTS})`,
      );
    } finally {
      app.close();
      vault.close();
    }
  }
  for (const rel of [FILES.appDb, FILES.vaultDb]) {
    for (const suffix of ["-wal", "-shm"]) rmSync(join(dest, rel + suffix), { force: true });
  }

  if (withKeys) {
    copyFileSync(config.appKeyFile, join(dest, FILES.appKey));
    copyFileSync(rootKeyUsed!, join(dest, FILES.rootKey));
    if (existsSync(config.keeperTokenFile))
      copyFileSync(config.keeperTokenFile, join(dest, FILES.keeperToken));
  }
  const rels: string[] = [FILES.appDb, FILES.vaultDb, ...(withKeys ? [FILES.appKey, FILES.rootKey] : [])];
  if (withKeys && existsSync(join(dest, FILES.keeperToken))) rels.push(FILES.keeperToken);
  const manifest: Manifest = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    vault: `${version} (${commit})`,
    online,
    keys: withKeys,
    files: rels.map((rel) => describe(dest, rel)),
    schema,
    counts,
  };
  writeFileSync(join(dest, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  const total = manifest.files.reduce((n, f) => n + f.bytes, 0);
  io.stdout.write(
    `backed up ${counts.values} sealed values (${counts.refs} referenced) to ${dest} (${manifest.files.length} files, ${(total / 1024).toFixed(0)} KiB)\n`,
  );
  if (withKeys) {
    io.stderr.write(
      "vault: warning: this backup holds the keys with the databases: anyone who gets it can read every value\n" +
        "vault: hint: keep it encrypted and offline, or back up with --no-keys and keep the key files elsewhere\n",
    );
  } else {
    io.stderr.write(
      "vault: hint: restoring needs the key files (app.key, root.key) of this data directory\n",
    );
  }
  return EXIT.ok;
}

function readManifest(src: string): Manifest {
  const path = join(src, "manifest.json");
  if (!existsSync(path)) throw new CliError(`${src} holds no manifest.json: not a vault backup`, EXIT.usage);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8")) as Manifest;
  } catch {
    throw new CliError(`${path} is not valid JSON: the backup is damaged`, EXIT.server);
  }
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.files)) {
    throw new CliError(`${path} is not a ${BACKUP_FORMAT} manifest`, EXIT.server);
  }
  return manifest;
}

/** Every file the manifest lists, with its size and checksum, and nothing it needs missing. */
export function verifyBackup(src: string, manifest: Manifest): void {
  const known = new Set<string>(Object.values(FILES));
  for (const file of manifest.files) {
    if (!known.has(file.path))
      throw new CliError(`the manifest lists an unexpected file ${file.path}`, EXIT.server);
    const path = join(src, file.path);
    if (!existsSync(path))
      throw new CliError(`the backup lacks ${file.path}`, EXIT.server, ["nothing was replaced"]);
    const bytes = statSync(path).size;
    if (bytes !== file.bytes || sha256File(path) !== file.sha256) {
      throw new CliError(
        `${file.path} does not match the manifest's checksum: the backup is damaged`,
        EXIT.server,
        ["nothing was replaced; use another backup"],
      );
    }
  }
  for (const required of [FILES.appDb, FILES.vaultDb]) {
    if (!manifest.files.some((f) => f.path === required)) {
      throw new CliError(`the manifest does not list ${required}`, EXIT.server, ["nothing was replaced"]);
    }
  }
}

export async function restore(ctx: CommandContext): Promise<number> {
  const io = ctx.io;
  const cwd = io.cwd ?? process.cwd();
  const [srcArg, extra] = ctx.positionals;
  if (!srcArg)
    throw new CliError("restore what? give SRC, a backup directory", EXIT.usage, ["run: vault help restore"]);
  if (extra !== undefined) throw new CliError(`unexpected argument "${extra}"`, EXIT.usage);
  const config = loadConfig(ctx.config, io.env, cwd);
  if (isRemote(config.appDb) || isRemote(config.vaultDb)) {
    throw new CliError("a database on a libsql server is restored with that server's own tools", EXIT.usage);
  }
  const holder = runningServer(config.dataDir);
  if (holder) {
    throw new CliError(`a server (pid ${holder.pid}) is running on ${config.dataDir}`, EXIT.conflict, [
      "stop it first; restore never replaces the files under a running server",
    ]);
  }
  const src = isAbsolute(srcArg) ? srcArg : resolve(cwd, srcArg);
  process.umask(0o077);
  const manifest = readManifest(src);
  progress(io, `checking ${manifest.files.length} files of the backup from ${manifest.createdAt}`);
  verifyBackup(src, manifest);

  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const has = (rel: string) => manifest.files.some((f) => f.path === rel);
  // What goes where: databases always, keys when the backup holds them.
  const plan: { rel: string; target: string }[] = [
    { rel: FILES.appDb, target: config.appDb },
    { rel: FILES.vaultDb, target: config.vaultDb },
    ...(has(FILES.appKey) ? [{ rel: FILES.appKey, target: config.appKeyFile }] : []),
    ...(has(FILES.rootKey) ? [{ rel: FILES.rootKey, target: config.rootKeyFile }] : []),
    ...(has(FILES.keeperToken) ? [{ rel: FILES.keeperToken, target: config.keeperTokenFile }] : []),
  ];
  const occupied = plan.filter(
    (p) => existsSync(p.target) && (p.rel === FILES.appDb || p.rel === FILES.vaultDb),
  );
  if (occupied.length > 0 && ctx.flags.force !== true) {
    throw new CliError(
      `${config.dataDir} already holds data (${occupied.map((p) => p.rel).join(", ")})`,
      EXIT.conflict,
      [
        "restore into a new data directory (--data DIR), or replace it with --force (the current files are kept as <file>.before-restore-<time>)",
      ],
    );
  }
  for (const needed of [
    [FILES.appKey, config.appKeyFile],
    [FILES.rootKey, config.rootKeyFile],
  ] as const) {
    if (!has(needed[0]) && !existsSync(needed[1])) {
      throw new CliError(`the backup holds no ${needed[0]} and ${needed[1]} does not exist`, EXIT.usage, [
        "put the key file of the backed-up data directory in place (or point at it), then restore again",
      ]);
    }
  }

  // 1. Copy next to the targets.
  const token = randomBytes(4).toString("hex");
  const staged = plan.map((p) => ({ ...p, staged: `${p.target}.restoring-${token}` }));
  const cleanup = () => {
    for (const s of staged) {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(s.staged + suffix, { force: true });
    }
  };
  try {
    for (const s of staged) {
      mkdirSync(dirname(s.target), { recursive: true, mode: 0o700 });
      copyFileSync(join(src, s.rel), s.staged);
      chmodSync(s.staged, 0o600);
    }
    const stagedOf = (rel: string, fallback: string) => staged.find((s) => s.rel === rel)?.staged ?? fallback;
    // 2. Open both copies with their keys, as the server would, and check the refs.
    progress(io, "opening the copies with their keys");
    const appdb = await openAppDb({
      appDb: stagedOf(FILES.appDb, config.appDb),
      appKeyFile: stagedOf(FILES.appKey, config.appKeyFile),
      appDbAuthTokenFile: undefined,
    });
    let appUsers = 0;
    let check: Awaited<ReturnType<typeof missingRefs>>;
    try {
      appUsers = (await appdb.users.list()).length;
      const keeper = await openKeeper({
        config: {
          ...config,
          vaultDb: stagedOf(FILES.vaultDb, config.vaultDb),
          rootKeyFile: stagedOf(FILES.rootKey, config.rootKeyFile),
        },
        create: false,
      });
      await keeper.close();
      const rootKey = readKeyFile(stagedOf(FILES.rootKey, config.rootKeyFile), "root key file");
      const vault = await openWithKey(
        stagedOf(FILES.vaultDb, config.vaultDb),
        rootKey,
        atRestKeyFor,
        "vault.db",
      );
      try {
        check = await missingRefs(appdb.database, vault);
        await vault.client.execute("PRAGMA journal_mode=DELETE");
      } finally {
        vault.close();
      }
      await appdb.database.client.execute("PRAGMA journal_mode=DELETE");
    } finally {
      appdb.close();
    }
    if (check.missing > 0) {
      throw new CliError(
        `the backup's app.db names ${check.missing} values its vault.db lacks`,
        EXIT.server,
        ["nothing was replaced; use another backup"],
      );
    }
    for (const s of staged) {
      for (const suffix of ["-wal", "-shm"]) rmSync(s.staged + suffix, { force: true });
    }
    // 3. Move the current files aside, then the copies into place.
    for (const s of staged) {
      for (const suffix of ["", "-wal", "-shm"]) {
        if (existsSync(s.target + suffix))
          renameSync(s.target + suffix, `${s.target}${suffix}.before-restore-${stamp}`);
      }
    }
    for (const s of staged) renameSync(s.staged, s.target);
    io.stdout.write(
      `restored ${config.dataDir} from ${src}: ${appUsers} users, ${check.values} sealed values (${check.refs} referenced)\n`,
    );
    if (occupied.length > 0)
      io.stderr.write(`vault: the replaced files are kept as <file>.before-restore-${stamp}\n`);
    return EXIT.ok;
  } catch (error) {
    cleanup();
    if (error instanceof CliError) throw error;
    const e = error as { name?: string; message?: string };
    throw new CliError(`the backup does not open: ${e?.message ?? String(error)}`, EXIT.server, [
      "nothing was replaced",
    ]);
  }
}
