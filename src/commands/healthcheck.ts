/**
 * `vault healthcheck [URL]` (hidden): exits 0 when URL answers 200, 1
 * otherwise. For a container's HEALTHCHECK, where the slim image has no curl.
 * Without a URL it asks this host's own listener for /readyz, from the same
 * VAULT_* settings the server reads (https when a certificate is set; the
 * certificate is then not checked: it names the public host, not 127.0.0.1).
 */
import type { CommandContext } from "../cli-kit";
import { loadConfig } from "../config";
import { EXIT } from "../exit-codes";

function ownReadyz(ctx: CommandContext): { url: string; unix?: string } {
  const config = loadConfig(ctx.config, ctx.io.env, ctx.io.cwd);
  const scheme = config.tlsCertFile ? "https" : "http";
  if (config.listen.kind === "unix") return { url: `${scheme}://localhost/readyz`, unix: config.listen.path };
  const host =
    config.listen.host === "0.0.0.0" ? "127.0.0.1" : config.listen.host === "::" ? "::1" : config.listen.host;
  return { url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${config.listen.port}/readyz` };
}

export async function healthcheck(ctx: CommandContext): Promise<number> {
  const given = ctx.positionals[0];
  const target = given ? { url: given } : ownReadyz(ctx);
  const insecure = ctx.flags.insecure === true || !given;
  try {
    const res = await fetch(target.url, {
      signal: AbortSignal.timeout(5_000),
      ...("unix" in target && target.unix ? { unix: target.unix } : {}),
      ...(insecure ? { tls: { rejectUnauthorized: false } } : {}),
    } as RequestInit);
    await res.arrayBuffer();
    if (res.status === 200) return EXIT.ok;
    ctx.io.stderr.write(`vault: healthcheck: ${target.url} answered ${res.status}\n`);
  } catch (error) {
    ctx.io.stderr.write(`vault: healthcheck: ${target.url} did not answer (${(error as Error).name})\n`);
  }
  return EXIT.failure;
}
