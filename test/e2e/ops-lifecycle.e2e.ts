/**
 * The compiled server's lifecycle: SIGTERM lets an in-flight request finish
 * before the process exits, and SIGHUP reloads the TLS certificate without
 * dropping the listener (new connections see the new certificate, a request
 * in flight on an old connection completes).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { type Installed, installBinary } from "../helpers/binary";
import { waitFor } from "../helpers/proc";
import { freePort, startServe, stopAllServers } from "../helpers/serve";
import { selfSignedCert } from "../helpers/tls";

let vault: Installed;

beforeAll(() => {
  vault = installBinary();
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

afterEach(stopAllServers);

const BODY = JSON.stringify({ email: "nobody@example.com", password: "not the password at all" });

/** Sends a login request's headers and half its body; the rest is sent by `finish()`, which resolves with the answer. */
function slowRequest(socket: Socket) {
  let answer = "";
  socket.on("data", (chunk) => {
    answer += chunk.toString("utf8");
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const half = Math.floor(BODY.length / 2);
  socket.write(
    `POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY.slice(0, half)}`,
  );
  return {
    async finish(): Promise<string> {
      socket.write(BODY.slice(half));
      await Promise.race([closed, Bun.sleep(10_000)]);
      return answer;
    },
  };
}

function connected<T extends Socket>(socket: T, event: "connect" | "secureConnect"): Promise<T> {
  return new Promise((resolve, reject) => {
    socket.once(event, () => resolve(socket));
    socket.once("error", reject);
  });
}

function fingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.once("error", reject);
  });
}

function certFingerprint(dir: string): Promise<string> {
  // The fingerprint openssl prints for the file, in the form node's getPeerCertificate uses.
  const out = Bun.spawnSync([
    "openssl",
    "x509",
    "-noout",
    "-fingerprint",
    "-sha256",
    "-in",
    join(dir, "cert.pem"),
  ]);
  return Promise.resolve(out.stdout.toString().trim().replace(/^.*=/, ""));
}

describe("graceful shutdown", () => {
  it("finishes a request in flight across SIGTERM, then exits 0", async () => {
    const port = await freePort();
    const server = await startServe({
      bin: vault.bin,
      cwd: vault.dir,
      data: join(vault.dir, "data-stop"),
      listen: `127.0.0.1:${port}`,
    });
    await server.waitReady();
    const socket = await connected(netConnect({ host: "127.0.0.1", port }), "connect");
    const request = slowRequest(socket);
    await Bun.sleep(300);
    server.proc.kill("SIGTERM");
    await Bun.sleep(700);
    // The listener is closed to new connections while the old one is served.
    expect(await server.status("/healthz")).toBeUndefined();
    const answer = await request.finish();
    expect(answer).toStartWith("HTTP/1.1 401");
    expect(await server.exited()).toBe(0);
    expect(server.stderr).toContain("app stopping");
    expect(server.stderr).not.toContain("did not finish before the deadline");
  });

  it("closes a request that outlives --shutdown-timeout", async () => {
    const port = await freePort();
    const server = await startServe({
      bin: vault.bin,
      cwd: vault.dir,
      data: join(vault.dir, "data-stop-deadline"),
      listen: `127.0.0.1:${port}`,
      args: ["--shutdown-timeout", "1s"],
    });
    await server.waitReady();
    const socket = await connected(netConnect({ host: "127.0.0.1", port }), "connect");
    slowRequest(socket);
    await Bun.sleep(300);
    const started = Date.now();
    server.proc.kill("SIGTERM");
    expect(await server.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(server.stderr).toContain("did not finish before the deadline");
  });
});

describe("SIGHUP", () => {
  it("reloads the TLS certificate: new connections see the new one, a request in flight completes", async () => {
    const first = join(vault.dir, "cert-a");
    const second = join(vault.dir, "cert-b");
    const live = join(vault.dir, "cert-live");
    for (const d of [first, second, live]) mkdirSync(d, { recursive: true });
    selfSignedCert(first);
    selfSignedCert(second);
    copyFileSync(join(first, "cert.pem"), join(live, "cert.pem"));
    copyFileSync(join(first, "key.pem"), join(live, "key.pem"));
    const [fpA, fpB] = [await certFingerprint(first), await certFingerprint(second)];
    expect(fpA).not.toBe(fpB);

    const port = await freePort();
    const server = await startServe({
      bin: vault.bin,
      cwd: vault.dir,
      data: join(vault.dir, "data-hup"),
      listen: `127.0.0.1:${port}`,
      args: ["--tls-cert", join(live, "cert.pem"), "--tls-key", join(live, "key.pem")],
    });
    await server.waitReady();
    expect(await fingerprint(port)).toBe(fpA);

    const socket = await connected(
      tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }),
      "secureConnect",
    );
    const request = slowRequest(socket);
    await Bun.sleep(200);

    copyFileSync(join(second, "cert.pem"), join(live, "cert.pem"));
    copyFileSync(join(second, "key.pem"), join(live, "key.pem"));
    server.proc.kill("SIGHUP");
    // A connection that lands on the old listener in the instant it closes may be reset (the port
    // itself stays bound throughout); once the new certificate answers, every connection gets it.
    await waitFor(
      "the new certificate on new connections",
      async () => (await fingerprint(port).catch(() => "reset")) === fpB,
      { timeoutMs: 10_000 },
    );
    for (let i = 0; i < 5; i++) expect(await fingerprint(port)).toBe(fpB);
    expect(await server.status("/readyz")).toBe(200);

    const answer = await request.finish();
    expect(answer).toStartWith("HTTP/1.1 401");
    expect(server.stderr).toContain("TLS certificate reloaded");
    // The same process still serves: the supervisor did not restart anything.
    expect(server.stderr).not.toContain("restarting");

    // A broken pair is refused and the running certificate stays.
    copyFileSync(join(first, "cert.pem"), join(live, "cert.pem"));
    server.proc.kill("SIGHUP");
    await waitFor("the failed reload to be logged", () => server.stderr.includes("reload failed"), {
      timeoutMs: 10_000,
    });
    expect(await fingerprint(port)).toBe(fpB);
    expect(await server.stop()).toBe(0);
  });
});
