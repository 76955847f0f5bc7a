/**
 * Operator commands on the server host, against the data directory:
 * `vault admin user add|list|disable|enable|reset-password`, `vault admin session`
 * (break-glass: a session for an owner or admin without signing in, for
 * when single sign-on is the only way in and the provider is down),
 * `vault audit verify` and `vault gc`. They open app.db directly (SQLite's locking makes that safe
 * next to a running server, which keeps no user cache), with the same keys
 * as the server (credential hashes and the audit chain are keyed with
 * app.key), and reach values only through the keeper: its socket when a
 * server runs, its files otherwise.
 */
import { existsSync } from "node:fs";
import { type AppDb, AuditIntegrityError, openAppDb, type Role } from "../appdb";
import type { CommandContext } from "../cli-kit";
import { CliError } from "../cli-kit";
import { type Config, loadConfig, parseDuration } from "../config";
import { readKeyFile } from "../db";
import { EXIT } from "../exit-codes";
import { ApiError, collectGarbage, createAuditLog, createUserService, startSession } from "../server";
import { runningServer } from "../supervisor";
import { createKeeperClient, openKeeper } from "../vault";

async function withAppDb<T>(
  ctx: CommandContext,
  work: (appdb: AppDb, config: Readonly<Config>) => Promise<T>,
): Promise<T> {
  const config = loadConfig(ctx.config, ctx.io.env, ctx.io.cwd);
  if (!/^[a-z]+:\/\//.test(config.appDb) && !existsSync(config.appDb)) {
    throw new CliError(`no app database at ${config.appDb}`, EXIT.usage, [
      "start the server once to create the data directory: vault serve --data DIR",
      "or point at it: --data DIR",
    ]);
  }
  const appdb = await openAppDb(config);
  try {
    return await work(appdb, config);
  } catch (error) {
    if (error instanceof AuditIntegrityError) {
      throw new CliError(error.message, EXIT.server, [
        "restore app.db from a backup, and find out who could write to it",
      ]);
    }
    if (error instanceof ApiError) {
      const exit =
        error.code === "NOT_FOUND" ? EXIT.notFound : error.code === "CONFLICT" ? EXIT.conflict : EXIT.usage;
      throw new CliError(error.message, exit, error.hint ? [error.hint] : []);
    }
    throw error;
  } finally {
    appdb.close();
  }
}

function users(appdb: AppDb) {
  const audit = createAuditLog(appdb.audit, { now: Date.now });
  return createUserService({
    appdb,
    audit,
    now: Date.now,
    random: (n) => crypto.getRandomValues(new Uint8Array(n)),
  });
}

async function readStdin(): Promise<string> {
  const text = await Bun.stdin.text();
  return text.replace(/\r?\n$/, "");
}

function email(ctx: CommandContext): string {
  const [value, extra] = ctx.positionals;
  if (!value)
    throw new CliError("which user? give an EMAIL", EXIT.usage, [
      `run: vault help ${ctx.positionals.length ? "" : "admin user add"}`.trim(),
    ]);
  if (extra) throw new CliError(`unexpected argument "${extra}"`, EXIT.usage);
  return value;
}

export async function userAdd(ctx: CommandContext): Promise<number> {
  const address = email(ctx);
  const role = (ctx.flags.role ?? "member") as string;
  if (role !== "owner" && role !== "admin" && role !== "member") {
    throw new CliError(`--role: "${role}" is not owner, admin or member`, EXIT.usage);
  }
  const password = ctx.flags["password-stdin"] ? await readStdin() : undefined;
  return withAppDb(ctx, async (appdb) => {
    const { user, oneTimePassword } = await users(appdb).add({
      email: address,
      role: role as Role,
      password,
    });
    ctx.io.stdout.write(`created ${user.role} ${user.email}\n`);
    if (oneTimePassword) {
      ctx.io.stdout.write(`one-time password: ${oneTimePassword}\n`);
      ctx.io.stderr.write("vault: hint: it must be changed at first sign-in (vault login)\n");
    }
    return EXIT.ok;
  });
}

export async function userList(ctx: CommandContext): Promise<number> {
  return withAppDb(ctx, async (appdb) => {
    const rows = await appdb.users.list();
    if (ctx.flags.json) {
      const list = rows.map((u) => ({
        id: u.id,
        email: u.email,
        role: u.role,
        disabled: u.disabledAt !== null,
        createdAt: u.createdAt,
      }));
      ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return EXIT.ok;
    }
    const table = [
      ["EMAIL", "ROLE", "STATUS", "CREATED"],
      ...rows.map((u) => [
        u.email,
        u.role,
        u.disabledAt !== null ? "disabled" : u.mustChangePassword ? "must change password" : "active",
        new Date(u.createdAt).toISOString().slice(0, 10),
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const row of table)
      ctx.io.stdout.write(
        `${row
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd()}\n`,
      );
    return EXIT.ok;
  });
}

export async function userDisable(ctx: CommandContext): Promise<number> {
  const address = email(ctx);
  return withAppDb(ctx, async (appdb) => {
    const user = await users(appdb).disable(address);
    ctx.io.stdout.write(
      `disabled ${user.email}; their sessions and credentials are revoked, and the service tokens they created are suspended\n`,
    );
    return EXIT.ok;
  });
}

export async function userEnable(ctx: CommandContext): Promise<number> {
  const address = email(ctx);
  return withAppDb(ctx, async (appdb) => {
    const user = await users(appdb).enable(address);
    ctx.io.stdout.write(
      `enabled ${user.email}; they sign in again, and the service tokens they created work again\n`,
    );
    return EXIT.ok;
  });
}

export async function userResetPassword(ctx: CommandContext): Promise<number> {
  const address = email(ctx);
  return withAppDb(ctx, async (appdb) => {
    const oneTime = await users(appdb).resetPassword(address);
    ctx.io.stdout.write(`one-time password for ${address.toLowerCase()}: ${oneTime}\n`);
    ctx.io.stderr.write("vault: hint: it must be changed at first sign-in; their sessions were revoked\n");
    return EXIT.ok;
  });
}

/** Break-glass sessions last an hour unless asked, and never longer than a signed-in one. */
const BREAK_GLASS_TTL = "1h";
const BREAK_GLASS_MAX_MS = 12 * 3_600_000;

/**
 * `vault admin session EMAIL [--ttl 1h]`: a session token for an instance owner or admin, made
 * on the host from app.db (no password, no provider), printed alone on stdout for
 * `VAULT_TOKEN=$(...)`. It works whatever `--password-login` says and is audited as
 * `auth.login` by the operator (`{method: "break-glass"}`); it is an ordinary session
 * (revocable with POST /api/v1/auth/logout, by disabling the user, ...).
 */
export async function session(ctx: CommandContext): Promise<number> {
  const address = email(ctx);
  const ttlText = typeof ctx.flags.ttl === "string" ? ctx.flags.ttl : BREAK_GLASS_TTL;
  let ttlMs: number;
  try {
    ttlMs = parseDuration("ttl", ttlText);
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.usage, ["for example --ttl 30m or --ttl 2h"]);
  }
  if (ttlMs < 60_000 || ttlMs > BREAK_GLASS_MAX_MS)
    throw new CliError(`--ttl: ${ttlText} is outside 1m..12h`, EXIT.usage);
  return withAppDb(ctx, async (appdb) => {
    const user = await appdb.users.byEmail(address.trim().toLowerCase());
    if (!user) throw new CliError(`no user ${address}`, EXIT.notFound, ["list them: vault admin user list"]);
    if (user.disabledAt !== null) throw new CliError(`${user.email} is disabled`, EXIT.usage);
    if (user.role === "member") {
      throw new CliError(
        `${user.email} is a member: break-glass sessions are for owners and admins`,
        EXIT.usage,
        ["a member signs in as usual; an owner or admin can act for them"],
      );
    }
    const audit = createAuditLog(appdb.audit, { now: Date.now });
    const result = await startSession(
      { appdb, audit, now: Date.now, random: (n) => crypto.getRandomValues(new Uint8Array(n)) },
      user,
      { method: "break-glass", operator: true, ip: null, ttlMs },
    );
    await audit.flush();
    ctx.io.stdout.write(`${result.token}\n`);
    ctx.io.stderr.write(
      `vault: a session for ${user.email} (${user.role}) until ${new Date(result.expiresAt).toISOString().replace(/\.\d+Z$/, "Z")}\n` +
        "vault: hint: use it as VAULT_TOKEN, with VAULT_SERVER=URL: vault projects, vault tui, ...\n" +
        "vault: hint: it ends by itself then; POST /api/v1/auth/logout with it ends it sooner\n",
    );
    return EXIT.ok;
  });
}

export async function auditVerify(ctx: CommandContext): Promise<number> {
  return withAppDb(ctx, async (appdb) => {
    const result = await appdb.audit.verify();
    if (result.ok) {
      ctx.io.stdout.write(`audit chain intact: ${result.rows} events\n`);
      return EXIT.ok;
    }
    throw new CliError(`audit chain broken at row ${result.seq}: ${result.problem}`, EXIT.failure, [
      "restore app.db from a backup, and find out who could write to it",
    ]);
  });
}

export async function gc(ctx: CommandContext): Promise<number> {
  return withAppDb(ctx, async (appdb, config) => {
    const viaSocket = runningServer(config.dataDir) !== undefined && config.keeperListen.kind === "unix";
    const keeper = viaSocket
      ? createKeeperClient({
          address: { kind: "unix", path: config.keeperListen.path },
          token: Buffer.from(readKeyFile(config.keeperTokenFile, "keeper token")).toString("hex"),
        })
      : await openKeeper({ config, create: false });
    try {
      const result = await collectGarbage({ appdb, keeper, now: Date.now, graceMs: config.gcGraceMs });
      ctx.io.stdout.write(
        `scanned ${result.scanned} values older than the grace period; removed ${result.removed} orphans\n`,
      );
      return EXIT.ok;
    } finally {
      if ("close" in keeper && typeof keeper.close === "function") await keeper.close();
    }
  });
}
