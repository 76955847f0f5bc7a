/**
 * What `vault serve` checks before it creates or touches anything: a start
 * that is bound to fail must fail before the data directory is made, the
 * keys are generated and the keeper is started, and say what to change.
 *
 * Checked here, because they need no data directory: the data directory is
 * a directory (or does not exist yet) that no running server holds; the public listener's address can be
 * bound (not in use, on this host, allowed) or its unix socket's directory
 * exists; the TLS certificate and key can be read, parse, and belong
 * together; a keeper on TCP can bind its address and has its mutual-TLS
 * files. Key files and databases are checked where they are opened.
 *
 * A trial bind is a moment's listen on the address, closed at once: the
 * role that listens for real binds it again a moment later. Another process
 * could take the port in between; the listener still reports that itself.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import type { Config, Endpoint } from "../config";
import { DataDirLockedError, runningServer } from "./data-dir";

export class PreflightError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "PreflightError";
  }
}

export type PreflightConfig = Pick<
  Config,
  | "role"
  | "dataDir"
  | "listen"
  | "tlsCertFile"
  | "tlsKeyFile"
  | "keeper"
  | "keeperListen"
  | "keeperTlsCertFile"
  | "keeperTlsKeyFile"
  | "keeperTlsCaFile"
>;

/** Listens on host:port for a moment; the error, or undefined when the address could be bound. */
export function trialBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function bindProblem(error: NodeJS.ErrnoException): { why: string; hint: string } {
  switch (error.code) {
    case "EADDRINUSE":
      return {
        why: "the address is in use",
        hint: "stop whatever holds it (ss -ltnp shows it), or choose another address with --listen",
      };
    case "EACCES":
      return {
        why: "permission denied",
        hint: "ports below 1024 need CAP_NET_BIND_SERVICE; use a port above 1023, or a proxy in front",
      };
    case "EADDRNOTAVAIL":
      return {
        why: "no network interface of this host has that address",
        hint: "use an address of this host, 0.0.0.0 for all of them, or 127.0.0.1",
      };
    default:
      return {
        why: error.code ? `${error.code.toLowerCase()}` : "the address cannot be bound",
        hint: "check the host name and port given to --listen",
      };
  }
}

async function checkBind(endpoint: Endpoint, flag: string): Promise<void> {
  if (endpoint.kind === "unix") {
    const dir = dirname(endpoint.path);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new PreflightError(
        `cannot listen on unix:${endpoint.path}: the directory ${dir} does not exist`,
        `create it, or choose another path with ${flag}`,
      );
    }
    return;
  }
  if (endpoint.port === 0) return;
  const error = await trialBind(endpoint.host, endpoint.port);
  if (!error) return;
  const { why, hint } = bindProblem(error);
  const where = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  throw new PreflightError(
    `cannot listen on ${where}:${endpoint.port}: ${why}`,
    flag === "--listen" ? hint : hint.replace("--listen", flag),
  );
}

function readable(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : (code ?? "unreadable");
    throw new PreflightError(`${flag} ${path}: ${why}`, `give ${flag} a file the server's user can read`);
  }
}

function checkTlsPair(certFile: string, keyFile: string): void {
  const certText = readable(certFile, "--tls-cert");
  const keyText = readable(keyFile, "--tls-key");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certText);
  } catch {
    throw new PreflightError(
      `--tls-cert ${certFile}: not a PEM certificate`,
      "give the certificate (chain) in PEM form: -----BEGIN CERTIFICATE-----",
    );
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyText);
  } catch {
    throw new PreflightError(
      `--tls-key ${keyFile}: not an unencrypted PEM private key`,
      "give the private key in PEM form, without a passphrase",
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new PreflightError(
      `--tls-key ${keyFile} is not the key of the certificate in --tls-cert ${certFile}`,
      "give the private key that belongs to the certificate (the first one in the file)",
    );
  }
}

function checkDataDir(dataDir: string): void {
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw new PreflightError(
      `--data ${dataDir} is not a directory`,
      "give --data a directory (it is created when missing)",
    );
  }
}

/** Every check for this role; throws the first PreflightError (or DataDirLockedError). Creates nothing. */
export async function preflight(config: PreflightConfig): Promise<void> {
  checkDataDir(config.dataDir);
  const holder = config.role === "all" ? runningServer(config.dataDir) : undefined;
  if (holder && holder.pid !== process.pid) {
    // Before the port: the same server usually holds both, and this says which.
    throw new DataDirLockedError(holder);
  }
  const app = config.role !== "keeper";
  if (app && config.tlsCertFile && config.tlsKeyFile) checkTlsPair(config.tlsCertFile, config.tlsKeyFile);
  // Either end of keeper mutual TLS needs its certificate, key and CA.
  const keeperTls =
    (config.role === "keeper" && config.keeperListen.kind === "tcp") ||
    (config.role === "app" && config.keeper.kind === "https");
  if (keeperTls) {
    for (const [flag, file] of [
      ["--keeper-tls-cert", config.keeperTlsCertFile],
      ["--keeper-tls-key", config.keeperTlsKeyFile],
      ["--keeper-tls-ca", config.keeperTlsCaFile],
    ] as const)
      if (file) readable(file, flag);
  }
  if (config.role === "keeper" && config.keeperListen.kind === "tcp") {
    await checkBind(config.keeperListen, "--keeper-listen");
  }
  if (app) await checkBind(config.listen, "--listen");
}
