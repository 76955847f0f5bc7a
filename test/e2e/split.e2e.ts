/**
 * Split hosts: `vault serve --role keeper` on TCP, reached only over mutual
 * TLS 1.3, and `vault serve --role app --keeper https://...` beside it, both
 * from the compiled binary.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, type Installed, installBinary } from "../helpers/binary";
import { waitFor } from "../helpers/proc";
import { freePort } from "../helpers/serve";

let vault: Installed;
const children: Bun.Subprocess[] = [];

function openssl(args: string[], cwd: string): void {
  const out = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (out.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${out.stderr.toString()}`);
}

/** A CA, and a certificate for the keeper and one for the app, signed by it. */
function certificates(dir: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=vault-test-ca",
    ],
    dir,
  );
  for (const name of ["keeper", "app"]) {
    openssl(
      [
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${name}`,
      ],
      dir,
    );
    openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-extfile",
        "ext",
      ],
      dir,
    );
  }
  return (name: string) => join(dir, name);
}

function start(args: string[]): Bun.Subprocess<"ignore", "pipe", "pipe"> {
  const proc = Bun.spawn([vault.bin, "serve", ...args], {
    cwd: vault.dir,
    env: cleanEnv(vault.dir),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(proc);
  return proc;
}

beforeAll(() => {
  vault = installBinary();
});

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exited));
  vault?.remove();
});

describe("vault serve on split hosts", () => {
  it("serves the app against a keeper over mutual TLS 1.3, and the keeper refuses a client without a certificate", async () => {
    const file = certificates(join(vault.dir, "certs"));
    const keeperPort = await freePort();
    const appPort = await freePort();
    const keeperData = join(vault.dir, "keeper-host");
    const appData = join(vault.dir, "app-host");
    start([
      "--role",
      "keeper",
      "--data",
      keeperData,
      "--keeper-listen",
      `127.0.0.1:${keeperPort}`,
      "--keeper-tls-cert",
      file("keeper.pem"),
      "--keeper-tls-key",
      file("keeper.key"),
      "--keeper-tls-ca",
      file("ca.pem"),
    ]);
    const token = join(keeperData, "app", "keeper.token");
    await waitFor("the keeper's token file", async () => Bun.file(token).exists(), { timeoutMs: 15_000 });
    mkdirSync(join(appData, "app"), { recursive: true, mode: 0o700 });
    copyFileSync(token, join(appData, "app", "keeper.token"));
    start([
      "--role",
      "app",
      "--data",
      appData,
      "--listen",
      `127.0.0.1:${appPort}`,
      "--keeper",
      `https://127.0.0.1:${keeperPort}`,
      "--keeper-tls-cert",
      file("app.pem"),
      "--keeper-tls-key",
      file("app.key"),
      "--keeper-tls-ca",
      file("ca.pem"),
    ]);
    await waitFor(
      "/readyz on the app",
      async () => (await fetch(`http://127.0.0.1:${appPort}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 20_000 },
    );

    // No client certificate: the handshake itself fails.
    const bare = await fetch(`https://127.0.0.1:${keeperPort}/v1/health`, {
      tls: { ca: Bun.file(file("ca.pem")) },
    } as RequestInit).then(
      () => "answered",
      () => "refused",
    );
    expect(bare).toBe("refused");
    // With a certificate, TLS 1.3 completes and TLS 1.2 is refused.
    const probe = (version: string) =>
      Bun.spawnSync(
        [
          "openssl",
          "s_client",
          "-connect",
          `127.0.0.1:${keeperPort}`,
          version,
          "-cert",
          file("app.pem"),
          "-key",
          file("app.key"),
          "-CAfile",
          file("ca.pem"),
        ],
        { stdin: new Uint8Array(), stdout: "pipe", stderr: "pipe" },
      ).stdout.toString();
    expect(probe("-tls1_3")).toMatch(/New, TLSv1\.3, Cipher is TLS_/);
    expect(probe("-tls1_2")).toContain("Cipher is (NONE)");
  });
});
