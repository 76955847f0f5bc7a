import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createKeeperClient, type Keeper, type KeeperService, serveKeeper } from "../../src/vault";
import { freshKeeper, tempDir, text, utf8 } from "./helpers";

const token = randomBytes(32).toString("hex");

/** Runs a command without blocking the event loop (the keeper answers from this process). */
async function run(cmd: string[], stdin = ""): Promise<{ code: number; out: string }> {
  const child = Bun.spawn(cmd, { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, out: out + err };
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI. */
async function makePki(dir: string, ca = "ca") {
  const ossl = async (...args: string[]) => {
    const { code, out } = await run(["openssl", ...args]);
    if (code !== 0) throw new Error(`openssl ${args[0]} failed: ${out}`);
  };
  const p = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await ossl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p(`${ca}.key`),
    "-out",
    p(`${ca}.crt`),
    "-days",
    "2",
    "-subj",
    `/CN=${ca}`,
  );
  for (const [name, ext] of [
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"],
    ["client", "extendedKeyUsage=clientAuth\n"],
  ] as const) {
    writeFileSync(p(`${ca}-${name}.ext`), ext);
    await ossl(
      "req",
      ...ec,
      "-keyout",
      p(`${ca}-${name}.key`),
      "-out",
      p(`${ca}-${name}.csr`),
      "-subj",
      `/CN=${name}`,
    );
    await ossl(
      "x509",
      "-req",
      "-in",
      p(`${ca}-${name}.csr`),
      "-CA",
      p(`${ca}.crt`),
      "-CAkey",
      p(`${ca}.key`),
      "-CAcreateserial",
      "-out",
      p(`${ca}-${name}.crt`),
      "-days",
      "2",
      "-extfile",
      p(`${ca}-${name}.ext`),
    );
  }
  const read = (name: string) => readFileSync(p(name), "utf8");
  return {
    ca: read(`${ca}.crt`),
    server: { cert: read(`${ca}-server.crt`), key: read(`${ca}-server.key`) },
    client: { cert: read(`${ca}-client.crt`), key: read(`${ca}-client.key`) },
    paths: { ca: p(`${ca}.crt`), clientCert: p(`${ca}-client.crt`), clientKey: p(`${ca}-client.key`) },
  };
}

describe("keeper over mutual TLS", () => {
  let keeper: Keeper;
  let service: KeeperService;
  let pki: Awaited<ReturnType<typeof makePki>>;
  let other: Awaited<ReturnType<typeof makePki>>;
  let port: number;

  beforeAll(async () => {
    const dir = tempDir();
    [pki, other] = await Promise.all([makePki(dir, "ca"), makePki(dir, "rogue")]);
    keeper = (await freshKeeper()).keeper;
    service = await serveKeeper({
      keeper,
      token,
      listen: { kind: "tcp", host: "127.0.0.1", port: 0 },
      tls: { ...pki.server, ca: pki.ca },
    });
    port = service.port!;
  });
  afterAll(async () => {
    await service.stop();
    await keeper.close();
  });

  const address = () => ({ kind: "https" as const, host: "127.0.0.1", port });

  it("serves a client with a certificate signed by the CA", async () => {
    const client = createKeeperClient({ address: address(), token, tls: { ...pki.client, ca: pki.ca } });
    const refs = await client.put([utf8("over tls")]);
    expect((await client.get(refs)).map(text)).toEqual(["over tls"]);
  });

  it("accepts PEM files given as Bun.file", async () => {
    const client = createKeeperClient({
      address: address(),
      token,
      tls: {
        cert: Bun.file(pki.paths.clientCert),
        key: Bun.file(pki.paths.clientKey),
        ca: Bun.file(pki.paths.ca),
      },
    });
    expect((await client.health()).ok).toBe(true);
  });

  it("refuses a client without a certificate", async () => {
    const bare = fetch(`https://127.0.0.1:${port}/v1/health`, {
      headers: { authorization: `Bearer ${token}` },
      tls: { ca: pki.ca },
    } as RequestInit);
    expect(bare).rejects.toThrow();
    await bare.catch(() => {});
    const probe = await run(
      [
        "openssl",
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-tls1_3",
        "-ign_eof",
        "-CAfile",
        pki.paths.ca,
      ],
      "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    expect(probe.out).toMatch(/certificate required/);
    expect(probe.out).not.toMatch(/HTTP\/1\.1 200/);
  });

  it("refuses a client certificate signed by another CA", async () => {
    const rogue = createKeeperClient({ address: address(), token, tls: { ...other.client, ca: pki.ca } });
    expect(rogue.health()).rejects.toMatchObject({ code: "UNREACHABLE" });
  });

  it("refuses a keeper whose certificate another CA signed", async () => {
    const client = createKeeperClient({ address: address(), token, tls: { ...pki.client, ca: other.ca } });
    expect(client.health()).rejects.toMatchObject({ code: "UNREACHABLE" });
  });

  it("refuses TLS 1.2, even with a valid client certificate", async () => {
    const probe = await run([
      "openssl",
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-tls1_2",
      "-CAfile",
      pki.paths.ca,
      "-cert",
      pki.paths.clientCert,
      "-key",
      pki.paths.clientKey,
    ]);
    expect(probe.code).not.toBe(0);
    expect(probe.out).toMatch(/alert protocol version/);
    const ok = await run(
      [
        "openssl",
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-tls1_3",
        "-ign_eof",
        "-CAfile",
        pki.paths.ca,
        "-cert",
        pki.paths.clientCert,
        "-key",
        pki.paths.clientKey,
      ],
      `GET /v1/health HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    );
    expect(ok.out).toMatch(/Protocol\s*:\s*TLSv1\.3|TLSv1\.3/);
    expect(ok.out).toMatch(/HTTP\/1\.1 200/);
  });

  it("still needs the token over mutual TLS", async () => {
    const client = createKeeperClient({
      address: address(),
      token: "0".repeat(64),
      tls: { ...pki.client, ca: pki.ca },
    });
    expect(client.stats()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});
