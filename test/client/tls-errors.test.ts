/**
 * A TLS failure says what failed, not only "cannot reach the server": the
 * certificate is not trusted, is for another host, has expired, or the
 * handshake itself failed; each with a hint. Real servers on loopback with
 * certificates made by the openssl command.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClientError, createApiClient } from "../../src/client";
import { EXIT } from "../../src/exit-codes";
import { freePort } from "../helpers/serve";
import { requireOpenssl } from "../helpers/tls";
import { runCli, tempDir } from "./cli-harness";

const servers: { stop(force?: boolean): unknown }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

function openssl(cwd: string, ...args: string[]): void {
  const out = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${out.stderr}`);
}

interface Pair {
  cert: string;
  key: string;
}

/** A self-signed certificate for `names` (e.g. DNS:localhost,IP:127.0.0.1), valid now or only in 2020. */
function certificate(dir: string, name: string, names: string, expired = false): Pair {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  if (!expired) {
    openssl(
      dir,
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
      `/CN=${name}`,
      "-addext",
      `subjectAltName=${names}`,
    );
  } else {
    // openssl 3.0's req cannot backdate; its ca command can (-startdate/-enddate).
    writeFileSync(
      join(dir, "ca.cnf"),
      [
        "[ca]",
        "default_ca = d",
        "[d]",
        "database = index.txt",
        "new_certs_dir = .",
        "serial = serial",
        "policy = p",
        "default_md = sha256",
        "copy_extensions = copy",
        "[p]",
        "commonName = supplied",
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "index.txt"), "");
    writeFileSync(join(dir, "serial"), "01\n");
    const csr = join(dir, `${name}.csr`);
    openssl(
      dir,
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${name}`,
      "-addext",
      `subjectAltName=${names}`,
    );
    openssl(
      dir,
      "ca",
      "-batch",
      "-notext",
      "-config",
      "ca.cnf",
      "-selfsign",
      "-keyfile",
      key,
      "-in",
      csr,
      "-out",
      cert,
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200102000000Z",
    );
  }
  return { cert, key };
}

function serveTls(pair: Pair): string {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(pair.cert, "utf8"), key: readFileSync(pair.key, "utf8") },
    fetch: () => Response.json({ error: { code: "UNAUTHENTICATED", message: "sign in" } }, { status: 401 }),
  });
  servers.push(server);
  return `https://127.0.0.1:${server.port}`;
}

/** The ClientError of one request to `url`, trusting `ca` when given (as NODE_EXTRA_CA_CERTS would). */
async function failure(url: string, ca?: string): Promise<ClientError> {
  const api = createApiClient({
    baseUrl: url,
    fetch: (request) => fetch(request, ca ? { tls: { ca: readFileSync(ca, "utf8") } } : {}),
  });
  try {
    await api.auth.me();
  } catch (error) {
    expect(error).toBeInstanceOf(ClientError);
    return error as ClientError;
  }
  throw new Error("expected a failure");
}

let dir: string;
let good: Pair;
let other: Pair;
let expired: Pair;

beforeAll(() => {
  requireOpenssl();
  dir = tempDir("tls");
  good = certificate(dir, "localhost", "DNS:localhost,IP:127.0.0.1");
  other = certificate(dir, "other.example", "DNS:other.example");
  expired = certificate(dir, "old", "DNS:localhost,IP:127.0.0.1", true);
});

describe("TLS failures", () => {
  it("a self-signed certificate: says it is not trusted, and hints at NODE_EXTRA_CA_CERTS", async () => {
    const url = serveTls(good);
    const error = await failure(url);
    expect(error.code).toBe("NETWORK");
    expect(error.message).toBe(
      `the certificate of ${url} is not trusted here (self-signed: DEPTH_ZERO_SELF_SIGNED_CERT)`,
    );
    expect(error.hint).toContain("NODE_EXTRA_CA_CERTS=/path/to/ca.pem");
    // The control: trusted, the same server answers (here: 401, its own answer).
    expect((await failure(url, good.cert)).code).toBe("UNAUTHENTICATED");
  });

  it("a certificate for another host: says the host name does not match", async () => {
    const url = serveTls(other);
    const error = await failure(url, other.cert);
    expect(error.message).toBe(`the certificate of ${url} is not for 127.0.0.1 (host name mismatch)`);
    expect(error.hint).toContain("--public-url");
  });

  it("an expired certificate: says it expired", async () => {
    const url = serveTls(expired);
    const error = await failure(url, expired.cert);
    expect(error.message).toBe(`the certificate of ${url} has expired`);
    expect(error.hint).toContain("renews it");
  });

  it("https:// to a port that does not speak TLS: says the handshake failed and how to fix the URL", async () => {
    const plain = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hi") });
    servers.push(plain);
    const url = `https://127.0.0.1:${plain.port}`;
    const error = await failure(url);
    expect(error.message).toStartWith(`the TLS handshake with ${url} failed`);
    expect(error.hint).toContain("use http://");
    expect(error.hint).toContain("TLS 1.2");
  });

  it("a server that speaks only TLS 1.1: says the handshake failed and that 1.2 is the floor", async () => {
    const port = await freePort();
    const server = Bun.spawn(
      [
        "openssl",
        "s_server",
        "-accept",
        `127.0.0.1:${port}`,
        "-cert",
        good.cert,
        "-key",
        good.key,
        "-tls1_1",
        "-cipher",
        "DEFAULT:@SECLEVEL=0",
        "-www",
      ],
      { stdin: "pipe", stdout: "pipe", stderr: "ignore" },
    );
    try {
      let out = "";
      const reader = server.stdout.getReader();
      while (!out.includes("ACCEPT")) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error("openssl s_server did not start");
        out += new TextDecoder().decode(chunk.value);
      }
      const url = `https://127.0.0.1:${port}`;
      const error = await failure(url, good.cert);
      expect(error.message).toStartWith(`the TLS handshake with ${url} failed`);
      expect(error.hint).toContain("TLS 1.2 is the lowest version the CLI accepts");
    } finally {
      server.kill();
      await server.exited;
    }
  });

  it("a server that is not there still says it cannot be reached", async () => {
    const gone = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const url = `http://127.0.0.1:${gone.port}`;
    gone.stop(true);
    expect((await failure(url)).message).toBe(`cannot reach the server at ${url}`);
  });

  it("the CLI prints what failed as vault: error: and vault: hint:, with exit code 6", async () => {
    const url = serveTls(good);
    const r = await runCli(["whoami", "--server", url], {
      config: join(tempDir("tls-cli"), "vault"),
      env: { VAULT_TOKEN: `vst_${"1".repeat(64)}` },
    });
    expect(r.code).toBe(EXIT.network);
    expect(r.stderr).toBe(
      `vault: error: the certificate of ${url} is not trusted here (self-signed: DEPTH_ZERO_SELF_SIGNED_CERT)\n` +
        "vault: hint: if it is your own CA's (or the server's self-signed one), trust it for the CLI: NODE_EXTRA_CA_CERTS=/path/to/ca.pem (the PEM of the CA that signed it) before the command\n",
    );
  });
});
