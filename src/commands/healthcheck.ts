/**
 * `vault healthcheck [URL]` (hidden): exits 0 when URL answers 200, 1
 * otherwise. For a container's HEALTHCHECK, where the slim image has no curl.
 * `--insecure` accepts a certificate no CA signed (the server's own,
 * checked on loopback).
 */
import type { CommandContext } from "../cli";
import { EXIT } from "../exit-codes";

export async function healthcheck(ctx: CommandContext): Promise<number> {
  const url = ctx.positionals[0] ?? ctx.io.env.VAULT_HEALTHCHECK_URL ?? "http://127.0.0.1:8750/readyz";
  const insecure =
    ctx.flags.insecure === true || /^(1|true|yes)$/i.test(ctx.io.env.VAULT_HEALTHCHECK_INSECURE ?? "");
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(5_000),
      ...(insecure ? { tls: { rejectUnauthorized: false } } : {}),
    } as RequestInit);
    await res.arrayBuffer();
    if (res.status === 200) return EXIT.ok;
    ctx.io.stderr.write(`vault: healthcheck: ${url} answered ${res.status}\n`);
  } catch (error) {
    ctx.io.stderr.write(`vault: healthcheck: ${url} did not answer (${(error as Error).name})\n`);
  }
  return EXIT.failure;
}
