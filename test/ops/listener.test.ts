/**
 * The public listener in process, over real sockets (Bun.serve): the Host
 * gate before routing, HSTS under TLS only, and TLS 1.2's cipher suites
 * (probed with openssl). Raw sockets, because fetch() writes the Host
 * header itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import type { Server } from "bun";
import type { Config } from "../../src/config";
import { createLogger } from "../../src/log";
import { createServer } from "../../src/server";
import { peerAddress } from "../../src/server/host";
import { type PublicListener, startListener } from "../../src/server/listener";
import { createServerMetrics } from "../../src/server/metrics";
import { observedHandler } from "../../src/server/request-log";
import { selfSignedCert } from "../helpers/tls";
import { type Harness, startHarness } from "../server/harness";
import { parsePrometheus } from "./prometheus";

type ListenerConfig = Pick<Config, "listen" | "tlsCertFile" | "tlsKeyFile" | "tlsMin">;

const dir = mkdtempSync(join(tmpdir(), "vault-listener-"));
const listeners: PublicListener[] = [];
let cert: { cert: string; key: string };

beforeAll(() => {
  cert = selfSignedCert(dir);
});

afterAll(async () => {
  for (const l of listeners) await l.stop(1_000);
  rmSync(dir, { recursive: true, force: true });
});

interface Served {
  h: Harness;
  port: number;
  lines: string[];
  metrics: ReturnType<typeof createServerMetrics>;
}

/** The real app behind the real listener, as run.ts wires them. */
async function serveApp(tls = false): Promise<Served> {
  const h = await startHarness();
  const lines: string[] = [];
  const log = createLogger({ level: "debug", format: "json", write: (line) => lines.push(line) });
  const metrics = createServerMetrics();
  const app = createServer({ ...h.ctx, log }, metrics);
  const handle = observedHandler({ handle: (r) => app.handle(r), metrics, log });
  const config: ListenerConfig = {
    listen: { kind: "tcp", host: "127.0.0.1", port: 0 },
    tlsCertFile: tls ? cert.cert : undefined,
    tlsKeyFile: tls ? cert.key : undefined,
    tlsMin: "1.2",
  };
  const listener = await startListener({
    config,
    fetch: (request) => handle(request),
    refused: (request, response) => handle(request, () => response),
    maxRequestBodySize: 1024 * 1024,
    onServer: (server) => {
      app.server = server;
    },
  });
  listeners.push(listener);
  return { h, port: listener.port!, lines, metrics };
}

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends `text` as it is and reads the answer until the server closes. */
function raw(port: number, text: string, tls = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = tls
      ? connectTls({ host: "127.0.0.1", port, rejectUnauthorized: false })
      : connectTcp({ host: "127.0.0.1", port });
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      out += chunk;
    });
    socket.on("error", reject);
    socket.on("end", () => {
      const [head = "", ...rest] = out.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") });
    });
    socket.on(tls ? "secureConnect" : "connect", () => socket.write(text));
  });
}

const get = (port: number, path: string, host: string | null, tls = false) =>
  raw(
    port,
    `GET ${path} HTTP/1.1\r\n${host === null ? "" : `Host: ${host}\r\n`}Connection: close\r\n\r\n`,
    tls,
  );

describe("the Host gate", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serveApp();
  });

  it("a Host shorter than four characters does not shift the route: GET /zzz/metrics with Host: x is a 404, not the metrics", async () => {
    const res = await get(served.port, "/zzz/metrics", "x");
    expect(res.status).toBe(404);
    expect(res.body).not.toContain("vault_http_requests_total");
    expect(JSON.parse(res.body).error.code).toBe("NOT_FOUND");
  });

  it("a short but valid Host routes to the path asked for", async () => {
    for (const host of ["x", "a:1", "ab", "[::1]", "[::1]:8750", "a:", "A:0080", "1.2.3.4"]) {
      const res = await get(served.port, "/healthz?probe=1", host);
      expect({ host, status: res.status, body: res.body }).toEqual({
        host,
        status: 200,
        body: JSON.stringify({ status: "ok" }),
      });
    }
  });

  it("an HTTP/1.0 request without a Host routes to the path asked for", async () => {
    const res = await raw(served.port, "GET /healthz HTTP/1.0\r\n\r\n");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: "ok" });
  });

  it("a Host that is not host[:port] is refused with 400 INVALID_HOST and a hint before routing, never a 500", async () => {
    const bad = [
      "a/b",
      "vault.example.com/metrics",
      "a b",
      "a@b",
      "a?b",
      "a#b",
      "a\\b",
      "a%2fb",
      "a,b",
      "[::1",
      "[::1]x",
      "[zz::1]",
      "[fe80::1%25eth0]",
      "a:65536",
      "a:-1",
      "a:b",
      "999.1.1.1",
      "a.1",
      "127.1",
      "x".repeat(254),
    ];
    for (const host of bad) {
      const res = await get(served.port, "/healthz", host);
      const error = res.status === 400 ? JSON.parse(res.body).error : undefined;
      expect({ host, status: res.status, code: error?.code, hinted: Boolean(error?.hint) }).toEqual({
        host,
        status: 400,
        code: "INVALID_HOST",
        hinted: true,
      });
    }
  });

  it("two Host headers are refused", async () => {
    const res = await raw(
      served.port,
      "GET /healthz HTTP/1.1\r\nHost: vault.example.com\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe("INVALID_HOST");
  });

  it("a refused request is logged and counted like any other (unmatched, 400), without its Host", async () => {
    const marker = "leaky/host-marker";
    await get(served.port, "/healthz", marker);
    const refusals = served.lines
      .map((line) => JSON.parse(line))
      .filter((l) => l.msg === "request" && l.status === 400);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]).toMatchObject({ method: "GET", route: "(unmatched)", status: 400 });
    expect(served.lines.join("\n")).not.toContain(marker);
    const samples = parsePrometheus(await served.metrics.registry.render());
    const counted = samples.filter(
      (s) =>
        s.name === "vault_http_requests_total" &&
        s.labels.route === "(unmatched)" &&
        s.labels.status === "400",
    );
    expect(counted.reduce((n, s) => n + s.value, 0)).toBeGreaterThan(0);
  });
});

describe("a rebuilt request", () => {
  it("keeps the socket's peer address, so per-address limits and logs still see the client", async () => {
    const seen: { url: string; peer: string | undefined }[] = [];
    const listener = await startListener({
      config: {
        listen: { kind: "tcp", host: "127.0.0.1", port: 0 },
        tlsCertFile: undefined,
        tlsKeyFile: undefined,
        tlsMin: "1.2",
      },
      fetch: (request: Request, server: Server<unknown>) => {
        seen.push({ url: request.url, peer: peerAddress(request, server)?.address });
        return new Response("ok");
      },
      maxRequestBodySize: 1024,
    });
    listeners.push(listener);
    await get(listener.port!, "/a/b?c=d", "x");
    await get(listener.port!, "/a/b?c=d", "vault.example.com");
    expect(seen).toEqual([
      { url: "http://localhost/a/b?c=d", peer: "127.0.0.1" },
      { url: "http://vault.example.com/a/b?c=d", peer: "127.0.0.1" },
    ]);
  });
});

describe("Strict-Transport-Security", () => {
  it("is on every answer under TLS: a route's, a 404 and the Host gate's 400", async () => {
    const { port } = await serveApp(true);
    const answers = [
      await get(port, "/healthz", "localhost", true),
      await get(port, "/no/such/route", "localhost", true),
      await get(port, "/healthz", "a/b", true),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 404, 400]);
    for (const answer of answers)
      expect(answer.headers.get("strict-transport-security")).toBe("max-age=63072000");
  });

  it("is never sent over plain HTTP", async () => {
    const { port } = await serveApp(false);
    const answers = [await get(port, "/healthz", "localhost"), await get(port, "/healthz", "a/b")];
    expect(answers.map((a) => a.status)).toEqual([200, 400]);
    for (const answer of answers) expect(answer.headers.has("strict-transport-security")).toBe(false);
  });
});

/** One TLS 1.2 handshake offering only `cipher` (security level 0, so the client itself refuses nothing). */
async function probeCipher(port: number, cipher: string): Promise<string | undefined> {
  // Asynchronous: the listener under test runs on this process's event loop.
  const proc = Bun.spawn(
    ["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-tls1_2", "-cipher", `${cipher}:@SECLEVEL=0`],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 15_000 },
  );
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  await proc.exited;
  const negotiated = /Cipher is (\S+)/.exec(`${stdout}${stderr}`)?.[1];
  return negotiated === "(NONE)" ? undefined : negotiated;
}

describe("TLS 1.2 cipher suites", () => {
  let port: number;
  beforeAll(async () => {
    port = (await serveApp(true)).port;
  });

  it("refuses static-RSA key exchange and CBC suites (SHA-1 and SHA-2)", async () => {
    const refused = [
      "AES128-SHA",
      "AES256-SHA",
      "AES128-GCM-SHA256",
      "AES256-GCM-SHA384",
      "AES128-SHA256",
      "ECDHE-RSA-AES128-SHA",
      "ECDHE-RSA-AES256-SHA",
      "ECDHE-RSA-AES128-SHA256",
    ];
    for (const cipher of refused)
      expect({ cipher, negotiated: await probeCipher(port, cipher) }).toEqual({
        cipher,
        negotiated: undefined,
      });
  });

  it("accepts ECDHE with AES-GCM and ChaCha20-Poly1305 (the control: the probe can succeed)", async () => {
    for (const cipher of [
      "ECDHE-RSA-AES128-GCM-SHA256",
      "ECDHE-RSA-AES256-GCM-SHA384",
      "ECDHE-RSA-CHACHA20-POLY1305",
    ])
      expect(await probeCipher(port, cipher)).toBe(cipher);
  });
});
