/**
 * `vault backup DEST` and `vault restore SRC`, on the server host: the
 * arguments, the checks of the data directory, and what the operator reads.
 * The work is src/backup's (manifest, snapshot, restore); no SQL here.
 */
import { existsSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { prepareDest, readManifest, restoreBackup, takeBackup, verifyBackup } from "../backup";
import type { CommandContext } from "../cli-kit";
import { CliError, type Io } from "../cli-kit";
import { withProgress } from "../client";
import { type Config, loadConfig } from "../config";
import { EXIT } from "../exit-codes";
import { runningServer } from "../supervisor";

const isRemote = (location: string) => /^[a-z]+:\/\//.test(location);

function progress(io: Io, text: string): void {
  io.stderr.write(`vault: ${text}\n`);
}

/** The one argument, and a data directory whose databases are local files. */
function setup(ctx: CommandContext, what: "backup" | "restore"): { config: Config; path: string } {
  const cwd = ctx.io.cwd ?? process.cwd();
  const [arg, extra] = ctx.positionals;
  if (!arg) {
    throw what === "backup"
      ? new CliError("where to? give DEST, a new directory", EXIT.usage, ["run: vault help backup"])
      : new CliError("restore what? give SRC, a backup directory", EXIT.usage, ["run: vault help restore"]);
  }
  if (extra !== undefined) throw new CliError(`unexpected argument "${extra}"`, EXIT.usage);
  const config = loadConfig(ctx.config, ctx.io.env, cwd);
  if (isRemote(config.appDb) || isRemote(config.vaultDb)) {
    throw new CliError(
      `a database on a libsql server is ${what === "backup" ? "backed up" : "restored"} with that server's own tools`,
      EXIT.usage,
    );
  }
  // Everything written is owner-only, like the data directory itself.
  process.umask(0o077);
  return { config, path: isAbsolute(arg) ? arg : resolve(cwd, arg) };
}

export async function backup(ctx: CommandContext): Promise<number> {
  const io = ctx.io;
  const { config, path: dest } = setup(ctx, "backup");
  for (const [path, what] of [
    [config.appDb, "app database"],
    [config.vaultDb, "vault database"],
  ] as const) {
    if (!existsSync(path)) {
      throw new CliError(`no ${what} at ${path}`, EXIT.usage, ["point at the data directory: --data DIR"]);
    }
  }
  const inside = relative(config.dataDir, dest);
  if (inside === "" || (!inside.startsWith("..") && !isAbsolute(inside))) {
    throw new CliError("DEST is inside the data directory", EXIT.usage, ["write the backup somewhere else"]);
  }
  const withKeys = ctx.flags.keys !== false;
  const online = runningServer(config.dataDir) !== undefined;
  prepareDest(dest);
  progress(
    io,
    `backing up ${config.dataDir}${online ? " (a server is running: taking an online snapshot)" : ""}`,
  );
  const manifest = await takeBackup(
    config,
    dest,
    { withKeys, online },
    { say: (text) => progress(io, text), step: (label, run) => withProgress(io, label, run) },
  );
  const total = manifest.files.reduce((n, f) => n + f.bytes, 0);
  io.stdout.write(
    `backed up ${manifest.counts.values} sealed values (${manifest.counts.refs} referenced) to ${dest} (${manifest.files.length} files, ${(total / 1024).toFixed(0)} KiB)\n`,
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

export async function restore(ctx: CommandContext): Promise<number> {
  const io = ctx.io;
  const { config, path: src } = setup(ctx, "restore");
  const holder = runningServer(config.dataDir);
  if (holder) {
    throw new CliError(`a server (pid ${holder.pid}) is running on ${config.dataDir}`, EXIT.conflict, [
      "stop it first; restore never replaces the files under a running server",
    ]);
  }
  const manifest = readManifest(src);
  progress(io, `checking ${manifest.files.length} files of the backup from ${manifest.createdAt}`);
  verifyBackup(src, manifest);
  const restored = await restoreBackup(config, src, manifest, {
    force: ctx.flags.force === true,
    say: (text) => progress(io, text),
  });
  io.stdout.write(
    `restored ${config.dataDir} from ${src}: ${restored.users} users, ${restored.check.values} sealed values (${restored.check.refs} referenced)\n`,
  );
  if (restored.replaced)
    io.stderr.write(`vault: the replaced files are kept as <file>.${restored.replaced}\n`);
  return EXIT.ok;
}
