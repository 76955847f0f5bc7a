/**
 * TLS fixtures with the `openssl` command-line tool: a self-signed
 * certificate, and a probe that says whether a server accepts one exact TLS
 * version.
 *
 * The probe lowers the client's security level (`@SECLEVEL=0`): without it,
 * Debian's openssl refuses TLS 1.0 and 1.1 by itself, and a "refused" would
 * prove nothing about the server.
 */
import { spawnSync } from "node:child_process";
import { chmodSync } from "node:fs";
import { join } from "node:path";

export type TlsVersion = "1.0" | "1.1" | "1.2" | "1.3";

const FLAG: Record<TlsVersion, string> = {
  "1.0": "-tls1",
  "1.1": "-tls1_1",
  "1.2": "-tls1_2",
  "1.3": "-tls1_3",
};

export function requireOpenssl(): void {
  const out = spawnSync("openssl", ["version"], { encoding: "utf8" });
  if (out.error || out.status !== 0)
    throw new Error("the openssl command is needed (Debian: apt-get install openssl)");
}

/** Writes `cert.pem` and `key.pem` (0600) for localhost and 127.0.0.1 into `dir`. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  requireOpenssl();
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const out = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { encoding: "utf8" },
  );
  if (out.status !== 0) throw new Error(`openssl req failed: ${out.stderr}`);
  chmodSync(key, 0o600);
  return { cert, key };
}

export interface ProbeResult {
  accepted: boolean;
  /** The protocol openssl reports, e.g. "TLSv1.2", when accepted. */
  protocol: string | undefined;
  output: string;
}

/** Tries one handshake at exactly `version` with `openssl s_client`. */
export function probeTls(port: number, version: TlsVersion): ProbeResult {
  const out = spawnSync(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, FLAG[version], "-cipher", "DEFAULT:@SECLEVEL=0"],
    { encoding: "utf8", input: "", timeout: 15_000 },
  );
  const output = `${out.stdout ?? ""}${out.stderr ?? ""}`;
  const cipher = /Cipher is (\S+)/.exec(output)?.[1];
  const protocol = /Protocol\s*:\s*(\S+)/.exec(output)?.[1] ?? /New, (TLSv[\d.]+),/.exec(output)?.[1];
  const accepted = out.status === 0 && cipher !== undefined && cipher !== "(NONE)";
  return { accepted, protocol: accepted ? protocol : undefined, output };
}

export const TLS_PROTOCOL: Record<TlsVersion, string> = {
  "1.0": "TLSv1",
  "1.1": "TLSv1.1",
  "1.2": "TLSv1.2",
  "1.3": "TLSv1.3",
};
