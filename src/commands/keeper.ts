/**
 * `vault keeper status|rotate|rotate-root`, on the server host. When a server
 * runs on the data directory these go through the keeper's socket, so that no
 * in-memory keyring goes stale behind it; otherwise they open the files.
 */
import type { CommandContext } from "../cli-kit";
import { loadConfig } from "../config";
import { readKeyFile } from "../db";
import { EXIT } from "../exit-codes";
import { runningServer } from "../supervisor";
import { createKeeperClient, type KeeperApi, type KeeperStats, openKeeper } from "../vault";

async function withKeeper<T>(ctx: CommandContext, work: (keeper: KeeperApi) => Promise<T>): Promise<T> {
  const config = loadConfig(ctx.config, ctx.io.env, ctx.io.cwd);
  if (runningServer(config.dataDir) && config.keeperListen.kind === "unix") {
    const token = Buffer.from(readKeyFile(config.keeperTokenFile, "keeper token")).toString("hex");
    return work(createKeeperClient({ address: { kind: "unix", path: config.keeperListen.path }, token }));
  }
  const keeper = await openKeeper({ config, create: false });
  try {
    return await work(keeper);
  } finally {
    await keeper.close();
  }
}

export async function keeperStatus(ctx: CommandContext): Promise<number> {
  const stats = await withKeeper(ctx, (k) => k.stats());
  if (ctx.flags.json) {
    ctx.io.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    return EXIT.ok;
  }
  ctx.io.stdout.write(formatStatus(stats));
  return EXIT.ok;
}

export function formatStatus(stats: KeeperStats): string {
  const rows = [
    ["TERM", "STATE", "VALUES", "SEALS", "CREATED"],
    ...stats.terms.map((t) => [
      String(t.term),
      t.state,
      String(t.values),
      String(t.seals),
      new Date(t.createdAt).toISOString().replace(/\.\d+Z$/, "Z"),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
  const reseal = stats.reseal
    ? `re-seal: ${stats.reseal.done} done, ${stats.reseal.remaining} remaining (from term ${stats.reseal.fromTerms.join(", ")})`
    : "re-seal: idle";
  return `${table}\n\nvalues: ${stats.values}\nrotations: ${stats.rotations}\n${reseal}\n`;
}

export async function keeperRotate(ctx: CommandContext): Promise<number> {
  const { term } = await withKeeper(ctx, (k) => k.rotate());
  ctx.io.stdout.write(
    `rotated: term ${term} now seals new values; older values are re-sealed in the background\n`,
  );
  return EXIT.ok;
}

export async function keeperRotateRoot(ctx: CommandContext): Promise<number> {
  await withKeeper(ctx, (k) => k.rotateRoot());
  ctx.io.stdout.write("root key replaced: the keyring is re-sealed and the old root key opens nothing\n");
  return EXIT.ok;
}
