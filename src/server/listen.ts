/**
 * The public listener: TCP (HTTP on loopback only, HTTPS elsewhere unless
 * behind a proxy) or a unix socket for a reverse proxy on the same host.
 * TLS 1.0 and 1.1 are always refused; `--tls-min 1.3` refuses 1.2 as well.
 *
 * TLS 1.2 offers only forward-secret key exchange (ECDHE) with an AEAD
 * cipher (AES-GCM, ChaCha20-Poly1305): no static-RSA key exchange, whose
 * recorded sessions a stolen key decrypts, and no CBC suites (padding
 * oracles, SHA-1 MACs). That is Mozilla's "intermediate" list without DHE,
 * which BoringSSL does not implement; every TLS 1.2 client of the last ten
 * years has one of them. The cipher list does not touch TLS 1.3, whose
 * suites are all AEAD with ephemeral keys.
 */

import { constants } from "node:crypto";
import { chmodSync, existsSync, readFileSync, unlinkSync } from "node:fs";
import type { Config } from "../config";
import { EXIT, EXIT_CODE } from "../exit-codes";

export type ListenConfig = Pick<Config, "listen" | "tlsCertFile" | "tlsKeyFile" | "tlsMin">;

export const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/**
 * Sent on every answer under TLS, never over plain HTTP (RFC 6797 §7.2): two
 * years, without includeSubDomains or preload, which would bind every other
 * host of the operator's domain to HTTPS as well. Behind a TLS proxy, the
 * proxy sets it.
 */
export const HSTS = "max-age=63072000";

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
    ciphers: TLS12_CIPHERS,
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

  readonly [EXIT_CODE] = EXIT.server;
}

export function describeEndpoint(config: ListenConfig): string {
  return config.listen.kind === "unix"
    ? `unix:${config.listen.path}`
    : `${config.listen.host}:${config.listen.port}`;
}
