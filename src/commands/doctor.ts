/**
 * `vault doctor`: checks a data directory and says what to fix. It reads;
 * the only writes are the ones a start of the server would make anyway
 * (pending migrations of app.db and vault.db when no server runs).
 *
 * Checks, in order: directory modes, key files (present, 0600,
 * well-formed), the keeper socket's directory and, when a server runs, the
 * keeper answering on it; app.db (opens, schema, audit chain, every
 * version's MAC); vault.db
 * (opens with the root key, values per term, re-seal); orphans (values no
 * version references).
 */
import { existsSync, lstatSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { type AppDb, openAppDb } from "../appdb";
import type { CommandContext } from "../cli-kit";
import { type Config, loadConfig } from "../config";
import { appliedMigrations, readKeyFile } from "../db";
import { EXIT } from "../exit-codes";
import { runningServer } from "../supervisor";
import { createKeeperClient, type KeeperApi, openKeeper } from "../vault";

type Level = "ok" | "warn" | "fail";

interface Finding {
  level: Level;
  what: string;
  fix?: string;
}

const mode = (path: string) => statSync(path).mode & 0o777;
const octal = (m: number) => m.toString(8).padStart(4, "0");
const isRemote = (location: string) => /^[a-z]+:\/\//.test(location);

export async function doctor(ctx: CommandContext): Promise<number> {
  const config = loadConfig(ctx.config, ctx.io.env, ctx.io.cwd);
  const findings = await diagnose(config);
  const label: Record<Level, string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };
  if (ctx.flags.json) {
    ctx.io.stdout.write(`${JSON.stringify({ findings }, null, 2)}\n`);
  } else {
    for (const f of findings) {
      ctx.io.stdout.write(`${label[f.level]}  ${f.what}\n`);
      if (f.fix) ctx.io.stdout.write(`      fix: ${f.fix}\n`);
    }
    const fails = findings.filter((f) => f.level === "fail").length;
    const warns = findings.filter((f) => f.level === "warn").length;
    ctx.io.stdout.write(
      fails + warns === 0 ? "\nno problem found\n" : `\n${fails} problem(s), ${warns} warning(s)\n`,
    );
  }
  return findings.some((f) => f.level === "fail") ? EXIT.failure : EXIT.ok;
}

export async function diagnose(config: Readonly<Config>): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (level: Level, what: string, fix?: string) => out.push({ level, what, fix });

  // Directories: 0700.
  const dirs = [config.dataDir, join(config.dataDir, "app"), join(config.dataDir, "keeper")];
  for (const dir of dirs) {
    if (!existsSync(dir)) {
      if (dir === config.dataDir) {
        add("fail", `data directory ${dir} does not exist`, "start the server once: vault serve --data DIR");
        return out;
      }
      continue; // reported below with what it should hold
    }
    const m = mode(dir);
    if ((m & 0o077) !== 0) add("fail", `directory ${dir} is mode ${octal(m)}`, `chmod 700 ${dir}`);
    else add("ok", `directory ${dir} is ${octal(m)}`);
  }

  // Key files: present, 0600, 32 bytes in hex.
  const keys: [string, string][] = [
    [config.rootKeyFile, "root key"],
    [config.appKeyFile, "app key"],
    [config.keeperTokenFile, "keeper token"],
  ];
  const keysOk = new Map<string, boolean>();
  for (const [path, what] of keys) {
    try {
      readKeyFile(path, what).fill(0);
      add("ok", `${what} ${path}: present, ${octal(mode(path))}, well-formed`);
      keysOk.set(what, true);
    } catch (error) {
      const e = error as { code?: string; message: string };
      const fix =
        e.code === "PERMISSIONS"
          ? `chmod 600 ${path}`
          : e.code === "MISSING"
            ? `restore ${path} from a backup (a new key opens nothing that exists)`
            : `restore ${path} from a backup: it must hold 64 lowercase hex characters`;
      add("fail", e.message.replace(/; run: chmod.*$/, ""), fix);
      keysOk.set(what, false);
    }
  }

  // The keeper's socket: its directory private, and the keeper answering when a server runs.
  const server = runningServer(config.dataDir);
  let keeper: KeeperApi | undefined;
  let closeKeeper: (() => Promise<void>) | undefined;
  if (config.keeperListen.kind === "unix") {
    const socket = config.keeperListen.path;
    const dir = dirname(socket);
    if (!existsSync(dir)) {
      add(
        server ? "fail" : "warn",
        `the keeper socket's directory ${dir} does not exist`,
        server
          ? `restart the server (it creates ${dir} with mode 0700)`
          : `the server creates it at start; or: mkdir -m 700 ${dir}`,
      );
    } else if ((mode(dir) & 0o077) !== 0) {
      add("fail", `the keeper socket's directory ${dir} is mode ${octal(mode(dir))}`, `chmod 700 ${dir}`);
    }
    if (server) {
      if (!existsSync(socket) || !lstatSync(socket).isSocket()) {
        add("fail", `a server runs (pid ${server.pid}) but ${socket} is not there`, "restart the server");
      } else if (keysOk.get("keeper token")) {
        const client = createKeeperClient({
          address: { kind: "unix", path: socket },
          token: Buffer.from(readKeyFile(config.keeperTokenFile, "keeper token")).toString("hex"),
          timeoutMs: 5_000,
        });
        try {
          const health = await client.health();
          add(
            "ok",
            `keeper answers on ${socket} (server pid ${server.pid}, active term ${health.activeTerm})`,
          );
          keeper = client;
        } catch (error) {
          add(
            "fail",
            `the keeper does not answer on ${socket}: ${(error as Error).message}`,
            "look at the server's log; restart it",
          );
        }
      }
    } else {
      add("ok", "no server runs on this data directory (the keeper socket is checked while one runs)");
      if (existsSync(socket)) {
        add("warn", `a socket left by a stopped keeper: ${socket}`, "the next start removes it");
      }
    }
  }

  // vault.db, through the running keeper or its files.
  if (!keeper && keysOk.get("root key")) {
    if (!isRemote(config.vaultDb) && !existsSync(config.vaultDb)) {
      add("fail", `vault.db ${config.vaultDb} does not exist`, "restore it from a backup");
    } else {
      try {
        const opened = await openKeeper({ config, create: false });
        keeper = opened;
        closeKeeper = () => opened.close();
        add("ok", "vault.db opens with the root key; its schema is current");
      } catch (error) {
        add(
          "fail",
          `vault.db does not open: ${(error as Error).message}`,
          "check --root-key-file and --vault-db, or restore both from one backup",
        );
      }
    }
  }
  if (keeper) {
    try {
      const stats = await keeper.stats();
      const terms = stats.terms.map((t) => `${t.term}:${t.state}(${t.values})`).join(" ");
      add("ok", `vault.db: ${stats.values} values, ${stats.rotations} rotations; terms ${terms}`);
      if (stats.reseal)
        add(
          "warn",
          `re-seal in progress: ${stats.reseal.remaining} values left`,
          "a running keeper finishes it",
        );
    } catch (error) {
      add("fail", `the keeper's stats failed: ${(error as Error).message}`);
    }
  }

  // app.db: schema, audit chain, orphans.
  let appdb: AppDb | undefined;
  if (!keysOk.get("app key")) {
    // reported above
  } else if (!isRemote(config.appDb) && !existsSync(config.appDb)) {
    add("fail", `app.db ${config.appDb} does not exist`, "restore it from a backup");
  } else {
    try {
      appdb = await openAppDb(config);
      const applied = await appliedMigrations(appdb.database);
      add("ok", `app.db opens; schema at ${applied.at(-1) ?? "(none)"} (${applied.length} migrations)`);
    } catch (error) {
      add(
        "fail",
        `app.db does not open: ${(error as Error).message}`,
        "check --app-key-file and --app-db, or restore both from one backup",
      );
    }
  }
  try {
    if (appdb) {
      const chain = await appdb.audit.verify();
      if (chain.ok) add("ok", `audit chain intact (${chain.rows} events)`);
      else
        add(
          "fail",
          `audit chain broken at row ${chain.seq}: ${chain.problem}`,
          "restore app.db from a backup, and find out who could write to it",
        );
      const macs = await appdb.versions.verifyAll();
      if (macs.failed.length === 0) add("ok", `every version's MAC verifies (${macs.checked} versions)`);
      else {
        const first = macs.failed[0]!;
        add(
          "fail",
          `${macs.failed.length} of ${macs.checked} version(s) fail their MAC (first: version ${first.number} of environment ${first.environmentId}, ${first.reason}); they are refused, never served`,
          "app.db was changed outside vault: restore it from a backup, and find out who could write to it",
        );
      }
    }
    if (appdb && keeper) {
      const orphans = await unreferenced(keeper, appdb, Date.now() + 1);
      const collectable = await unreferenced(keeper, appdb, Date.now() - config.gcGraceMs);
      if (orphans === 0) add("ok", "no orphans: every stored value belongs to a version");
      else
        add(
          "warn",
          `${orphans} orphan value(s) no version references (${collectable} older than --gc-grace)`,
          "vault gc --data DIR removes those older than the grace period (a running server does it every 10 minutes)",
        );
    }
  } finally {
    appdb?.close();
    await closeKeeper?.();
  }
  return out;
}

/** Values created before a time that no version references, counted page by page. */
async function unreferenced(keeper: KeeperApi, appdb: AppDb, createdBefore: number): Promise<number> {
  let count = 0;
  let after: Uint8Array | undefined;
  for (;;) {
    const page = await keeper.list({ createdBefore, after, limit: 1_000 });
    if (page.length === 0) return count;
    const used = await appdb.versions.referenced(page.map((r) => Buffer.from(r)));
    count += page.filter((r) => !used.has(Buffer.from(r).toString("hex"))).length;
    if (page.length < 1_000) return count;
    after = page[page.length - 1];
  }
}
