/**
 * The public listener of the compiled binary: TLS versions (probed with the
 * openssl client, which can still speak TLS 1.0 and 1.1) and a unix socket.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { type Installed, installBinary } from "../helpers/binary";
import { waitFor } from "../helpers/proc";
import { freePort, startServe, stopAllServers } from "../helpers/serve";
import { probeTls, selfSignedCert, TLS_PROTOCOL, type TlsVersion } from "../helpers/tls";

let vault: Installed;
let cert: { cert: string; key: string };

beforeAll(() => {
  vault = installBinary();
  cert = selfSignedCert(vault.dir);
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

afterEach(stopAllServers);

async function startTls(tlsMin?: "1.2" | "1.3") {
  const port = await freePort();
  const server = await startServe({
    bin: vault.bin,
    cwd: vault.dir,
    data: join(vault.dir, `data-tls-${tlsMin ?? "default"}`),
    listen: `127.0.0.1:${port}`,
    args: ["--tls-cert", cert.cert, "--tls-key", cert.key, ...(tlsMin ? ["--tls-min", tlsMin] : [])],
  });
  await server.waitReady();
  return { server, port };
}

function expectProbe(port: number, version: TlsVersion, accepted: boolean): void {
  const probe = probeTls(port, version);
  const summary = { version, accepted: probe.accepted, protocol: probe.protocol };
  const expected = { version, accepted, protocol: accepted ? TLS_PROTOCOL[version] : undefined };
  if (summary.accepted !== accepted) process.stderr.write(`openssl s_client -${version}:\n${probe.output}\n`);
  expect(summary).toEqual(expected);
}

describe("the TLS probe (control)", () => {
  it("can complete TLS 1.0 and 1.1 handshakes, so a refusal is the server's", async () => {
    for (const version of ["1.0", "1.1"] as const) {
      const port = await freePort();
      const flag = version === "1.0" ? "-tls1" : "-tls1_1";
      const server = Bun.spawn(
        [
          "openssl",
          "s_server",
          "-accept",
          String(port),
          "-cert",
          cert.cert,
          "-key",
          cert.key,
          flag,
          "-cipher",
          "DEFAULT:@SECLEVEL=0",
        ],
        { stdin: "pipe", stdout: "pipe", stderr: "pipe" },
      );
      try {
        const reader = server.stdout.getReader();
        let text = "";
        await waitFor(
          "openssl s_server to accept",
          async () => {
            const { value, done } = await reader.read();
            if (done) throw new Error(`openssl s_server exited: ${text}`);
            text += new TextDecoder().decode(value);
            return text.includes("ACCEPT");
          },
          { timeoutMs: 10_000, intervalMs: 0 },
        );
        reader.releaseLock();
        expectProbe(port, version, true);
      } finally {
        server.kill("SIGKILL");
        await server.exited;
      }
    }
  });
});

describe("vault serve --tls-cert --tls-key", () => {
  it("refuses TLS 1.0 and 1.1, accepts 1.2 and 1.3, and answers /readyz over https", async () => {
    const { server, port } = await startTls();
    expectProbe(port, "1.0", false);
    expectProbe(port, "1.1", false);
    expectProbe(port, "1.2", true);
    expectProbe(port, "1.3", true);
    expect(server.url).toStartWith("https://");
    expect(await server.status("/readyz")).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it("refuses TLS 1.2 with --tls-min 1.3", async () => {
    const { server, port } = await startTls("1.3");
    expectProbe(port, "1.1", false);
    expectProbe(port, "1.2", false);
    expectProbe(port, "1.3", true);
    expect(await server.status("/readyz")).toBe(200);
    expect(await server.stop()).toBe(0);
  });
});

/** The suite a TLS 1.2 handshake offering only `cipher` settles on, or undefined when refused. */
function tls12Cipher(port: number, cipher: string): string | undefined {
  const out = spawnSync(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, "-tls1_2", "-cipher", `${cipher}:@SECLEVEL=0`],
    { encoding: "utf8", input: "", timeout: 15_000 },
  );
  const negotiated = /Cipher is (\S+)/.exec(`${out.stdout ?? ""}${out.stderr ?? ""}`)?.[1];
  return negotiated === "(NONE)" ? undefined : negotiated;
}

describe("vault serve --tls-cert --tls-key: TLS 1.2 suites and HSTS", () => {
  it("refuses static-RSA and CBC suites, accepts ECDHE with AEAD, and sends Strict-Transport-Security", async () => {
    const { server, port } = await startTls();
    const offered = [
      "AES128-SHA",
      "AES128-GCM-SHA256",
      "ECDHE-RSA-AES128-SHA",
      "ECDHE-RSA-AES128-GCM-SHA256",
    ];
    expect(offered.map((cipher) => [cipher, tls12Cipher(port, cipher)])).toEqual([
      ["AES128-SHA", undefined],
      ["AES128-GCM-SHA256", undefined],
      ["ECDHE-RSA-AES128-SHA", undefined],
      ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"],
    ]);
    expectProbe(port, "1.3", true);
    const res = await server.get("/healthz");
    expect(res?.headers.get("strict-transport-security")).toBe("max-age=63072000");
    expect(await server.stop()).toBe(0);
  });
});

/** One raw HTTP/1.1 request with exactly this Host header; the status line's code and the body. */
function rawGet(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      out += chunk;
    });
    socket.on("error", reject);
    socket.on("end", () =>
      resolve({ status: Number(out.split(" ")[1]), body: out.slice(out.indexOf("\r\n\r\n") + 4) }),
    );
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

describe("vault serve and the Host header", () => {
  it("routes GET /zzz/metrics with Host: x to no route, serves /metrics with Host: a:1, and refuses Host: a/b with 400", async () => {
    const port = await freePort();
    const server = await startServe({
      bin: vault.bin,
      cwd: vault.dir,
      data: join(vault.dir, "data-host"),
      listen: `127.0.0.1:${port}`,
    });
    await server.waitReady();
    const shifted = await rawGet(port, "/zzz/metrics", "x");
    expect(shifted.status).toBe(404);
    expect(shifted.body).not.toContain("vault_http_requests_total");
    const short = await rawGet(port, "/metrics", "a:1");
    expect(short.status).toBe(200);
    expect(short.body).toContain("vault_http_requests_total");
    const bad = await rawGet(port, "/metrics", "a/b");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatchObject({ code: "INVALID_HOST" });
    expect(await server.stop()).toBe(0);
  });
});

describe("vault serve --listen unix:PATH", () => {
  it("serves /healthz and /readyz on the unix socket", async () => {
    const socket = join(vault.dir, "http.sock");
    const server = await startServe({
      bin: vault.bin,
      cwd: vault.dir,
      data: join(vault.dir, "data-unix"),
      listen: `unix:${socket}`,
    });
    await server.waitReady();
    const res = await server.get("/healthz");
    expect(res?.status).toBe(200);
    expect(await res?.json()).toEqual({ status: "ok" });
    expect(await server.status("/readyz")).toBe(200);
    expect(await server.stop()).toBe(0);
  });
});
