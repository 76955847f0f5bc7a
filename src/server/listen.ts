/**
 * The public listener: TCP (HTTP on loopback only, HTTPS elsewhere unless
 * behind a proxy) or a unix socket for a reverse proxy on the same host.
 * TLS 1.0 and 1.1 are always refused; `--tls-min 1.3` refuses 1.2 as well.
 */

import { constants } from "node:crypto";
import { chmodSync, existsSync, readFileSync, unlinkSync } from "node:fs";
import type { Config } from "../config";

export type ListenConfig = Pick<Config, "listen" | "tlsCertFile" | "tlsKeyFile" | "tlsMin">;

export function tlsOptions(config: ListenConfig) {
  if (!config.tlsCertFile || !config.tlsKeyFile) return undefined;
  let secureOptions =
    constants.SSL_OP_NO_SSLv2 |
    constants.SSL_OP_NO_SSLv3 |
    constants.SSL_OP_NO_TLSv1 |
    constants.SSL_OP_NO_TLSv1_1;
  if (config.tlsMin === "1.3") secureOptions |= constants.SSL_OP_NO_TLSv1_2;
  return {
    cert: readFileSync(config.tlsCertFile, "utf8"),
    key: readFileSync(config.tlsKeyFile, "utf8"),
    secureOptions,
  };
}

export function listenOptions(config: ListenConfig) {
  const tls = tlsOptions(config);
  if (config.listen.kind === "unix") {
    // A unix listener left behind by kill -9 blocks the next listen; nobody else owns this path.
    if (existsSync(config.listen.path)) unlinkSync(config.listen.path);
    return { unix: config.listen.path, ...(tls ? { tls } : {}) };
  }
  return {
    hostname: config.listen.host,
    port: config.listen.port,
    reusePort: false,
    ...(tls ? { tls } : {}),
  };
}

/** After listening on a unix socket: owner and group may connect (put the proxy in vault's group). */
export function afterListen(config: ListenConfig): void {
  if (config.listen.kind === "unix") chmodSync(config.listen.path, 0o660);
}

export class ListenError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ListenError";
  }
}

export function describeEndpoint(config: ListenConfig): string {
  return config.listen.kind === "unix"
    ? `unix:${config.listen.path}`
    : `${config.listen.host}:${config.listen.port}`;
}
