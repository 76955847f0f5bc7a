/**
 * The compiled server on two remote databases (Hrana-over-HTTP fixtures
 * standing in for sqld): `--app-db http://...` and `--vault-db libsql://...`
 * with auth tokens from files. Push, pull, restart, pull again; the data
 * directory then holds keys only, no database file.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type HranaServer, startHranaServer } from "../fixtures/hrana";
import { cleanEnv, type Installed, installBinary } from "../helpers/binary";
import { startServe, stopAllServers } from "../helpers/serve";

let vault: Installed;
let appServer: HranaServer;
let vaultServer: HranaServer;

beforeAll(() => {
  vault = installBinary();
  appServer = startHranaServer({ file: join(vault.dir, "sqld-app.db") });
  vaultServer = startHranaServer({ file: join(vault.dir, "sqld-vault.db") });
});

afterAll(async () => {
  await stopAllServers();
  await appServer?.stop();
  await vaultServer?.stop();
  vault?.remove();
});

afterEach(stopAllServers);

const PASSWORD = "remote e2e password 77";

describe("vault serve on a libsql server", () => {
  it("pushes and pulls with both databases remote, across a restart", async () => {
    const data = join(vault.dir, "data");
    const appToken = join(vault.dir, "app-db.token");
    const vaultToken = join(vault.dir, "vault-db.token");
    writeFileSync(appToken, `${appServer.token}\n`, { mode: 0o600 });
    writeFileSync(vaultToken, `${vaultServer.token}\n`, { mode: 0o600 });
    const flags = [
      "--app-db",
      appServer.url,
      "--app-db-auth-token-file",
      appToken,
      "--vault-db",
      `libsql://127.0.0.1:${vaultServer.port}?tls=0`,
      "--vault-db-auth-token-file",
      vaultToken,
    ];
    const start = async () => {
      const server = await startServe({ bin: vault.bin, cwd: vault.dir, data, args: flags });
      await server.waitReady();
      return server;
    };
    let server = await start();
    // Asynchronously: the fixtures answering the command run in this process.
    const add = Bun.spawn(
      [
        vault.bin,
        "admin",
        "user",
        "add",
        "owner@example.com",
        "--role",
        "owner",
        "--password-stdin",
        "--data",
        data,
        ...flags,
      ],
      {
        cwd: vault.dir,
        env: cleanEnv(vault.dir),
        stdin: new TextEncoder().encode(`${PASSWORD}\n`),
        stderr: "pipe",
      },
    );
    expect(await add.exited).toBe(0);

    const call = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: the test reads answers by path.
      return { status: res.status, body: (await res.json()) as any };
    };
    const login = async () =>
      (
        await call("POST", "/api/v1/auth/login", undefined, {
          email: "owner@example.com",
          password: PASSWORD,
        })
      ).body.token as string;
    let token = await login();
    const project = await call("POST", "/api/v1/projects", token, { name: "remote-e2e" });
    expect(project.status).toBe(201);
    const path = `/api/v1/projects/${project.body.id}/environments/production/secrets`;
    const file = "# remote\nDATABASE_URL=postgres://db/app\nSECRET='s p a c e s'\n";
    expect((await call("PUT", path, token, { dotenv: file })).status).toBe(200);
    expect((await call("GET", path, token)).body.dotenv).toBe(file);

    expect(await server.stop()).toBe(0);
    server = await start();
    token = await login();
    expect((await call("GET", path, token)).body.dotenv).toBe(file);
    expect(server.stderr).toContain(`"appDb":"${appServer.url}"`);
    expect(server.stderr).not.toContain(appServer.token);
    expect(server.stderr).not.toContain(vaultServer.token);
    expect(await server.stop()).toBe(0);

    // The databases live on the servers; the data directory holds the keys.
    expect(existsSync(join(data, "app", "app.db"))).toBe(false);
    expect(existsSync(join(data, "keeper", "vault.db"))).toBe(false);
    expect(existsSync(join(data, "keeper", "root.key"))).toBe(true);
    expect(appServer.pipelines()).toBeGreaterThan(10);
    expect(vaultServer.pipelines()).toBeGreaterThan(5);
  });
});
