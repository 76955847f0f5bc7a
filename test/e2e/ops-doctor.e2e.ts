/**
 * `vault doctor` from the compiled binary: a healthy data directory passes,
 * and each injected problem is reported with its fix (a key file others may
 * read, a missing keeper socket directory, a tampered audit row, a version
 * without its MAC, orphans).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, cpSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { appDbAtRestKey } from "../../src/appdb";
import { openDatabase, readKeyFile } from "../../src/db";
import { openKeeper } from "../../src/vault";
import { addUser, type Installed, installBinary, runVault } from "../helpers/binary";
import { keeperConfig } from "../helpers/keeper-config";
import { startServe, stopAllServers } from "../helpers/serve";

let vault: Installed;
/** A data directory with a user, a project and a pushed version, no server running. */
let golden: string;

const PASSWORD = "doctor doctor give me the news";

beforeAll(async () => {
  vault = installBinary();
  golden = join(vault.dir, "golden");
  const server = await startServe({ bin: vault.bin, cwd: vault.dir, data: golden });
  await server.waitReady();
  addUser(vault.bin, {
    cwd: vault.dir,
    data: golden,
    email: "owner@example.com",
    password: PASSWORD,
    role: "owner",
  });
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "owner@example.com", password: PASSWORD }),
  });
  const { token } = (await login.json()) as { token: string };
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const project = (await (
    await fetch(`${server.url}/api/v1/projects`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "p" }),
    })
  ).json()) as { id: string };
  const push = await fetch(`${server.url}/api/v1/projects/${project.id}/environments/development/secrets`, {
    method: "PUT",
    headers: auth,
    body: JSON.stringify({ dotenv: "A=1\nB=2\n" }),
  });
  expect(push.status).toBeLessThan(300);
  expect(await server.stop()).toBe(0);
});

afterAll(async () => {
  await stopAllServers();
  vault?.remove();
});

afterEach(stopAllServers);

let copies = 0;
function copy(): string {
  const dir = join(vault.dir, `case-${++copies}`);
  cpSync(golden, dir, { recursive: true });
  return dir;
}

function doctor(data: string, extra: string[] = []) {
  return runVault(vault.bin, ["doctor", "--data", data, ...extra], { cwd: vault.dir });
}

describe("vault doctor", () => {
  it("finds no problem in a healthy data directory", () => {
    const out = doctor(copy());
    expect(out.stdout).toContain("no problem found");
    expect(out.stdout).toContain("audit chain intact");
    expect(out.stdout).toContain("every version's MAC verifies (1 versions)");
    expect(out.stdout).toContain("no orphans");
    expect(out.code).toBe(0);
  });

  it("reports a key file others may read, with the chmod that fixes it", () => {
    const data = copy();
    chmodSync(join(data, "app", "app.key"), 0o644);
    const out = doctor(data);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`FAIL  app key ${join(data, "app", "app.key")} is readable by others`);
    expect(out.stdout).toContain(`fix: chmod 600 ${join(data, "app", "app.key")}`);
  });

  it("reports a malformed key file", async () => {
    const data = copy();
    await Bun.write(join(data, "app", "keeper.token"), "not hex\n");
    chmodSync(join(data, "app", "keeper.token"), 0o600);
    const out = doctor(data);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain("keeper token");
    expect(out.stdout).toContain("64 lowercase hex characters");
  });

  it("reports a tampered audit row", async () => {
    const data = copy();
    const appKey = readKeyFile(join(data, "app", "app.key"), "app key");
    const db = await openDatabase({
      location: join(data, "app", "app.db"),
      atRestKey: appDbAtRestKey(appKey),
      label: "app.db",
    });
    await db.client.execute("UPDATE audit SET actor_label = 'someone else' WHERE seq = 1");
    db.close();
    const out = doctor(data);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/FAIL {2}audit chain broken at row 1/);
    expect(out.stdout).toContain("restore app.db from a backup");
  });

  it("reports a version whose MAC was removed", async () => {
    const data = copy();
    const appKey = readKeyFile(join(data, "app", "app.key"), "app key");
    const db = await openDatabase({
      location: join(data, "app", "app.db"),
      atRestKey: appDbAtRestKey(appKey),
      label: "app.db",
    });
    await db.client.execute("UPDATE versions SET mac = NULL WHERE number = 1");
    db.close();
    const out = doctor(data);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(
      /FAIL {2}1 of 1 version\(s\) fail their MAC \(first: version 1 of environment env_\w+, missing\)/,
    );
    expect(out.stdout).toContain("app.db was changed outside vault");
  });

  it("counts orphans and says how to remove them", async () => {
    const data = copy();
    const keeper = await openKeeper({
      config: keeperConfig(data),
      create: false,
    });
    await keeper.put([new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])]);
    await keeper.close();
    const out = doctor(data);
    expect(out.stdout).toContain("warn  2 orphan value(s) no version references (0 older than --gc-grace)");
    expect(out.stdout).toContain("fix: vault gc --data DIR");
    expect(doctor(data, ["--gc-grace", "0s"]).stdout).toContain("(2 older than --gc-grace)");
  });

  it("reports a missing keeper socket directory under a running server, and the keeper not answering", async () => {
    const data = copy();
    // Keys and vault.db elsewhere, so that the keeper directory holds the socket alone.
    const keys = join(vault.dir, `keys-${copies}`);
    mkdirSync(keys, { mode: 0o700 });
    cpSync(join(data, "keeper", "root.key"), join(keys, "root.key"));
    cpSync(join(data, "keeper", "vault.db"), join(keys, "vault.db"));
    const flags = ["--root-key-file", join(keys, "root.key"), "--vault-db", join(keys, "vault.db")];
    rmSync(join(data, "keeper"), { recursive: true });
    const server = await startServe({ bin: vault.bin, cwd: vault.dir, data, args: flags });
    await server.waitReady();
    const healthy = doctor(data, flags);
    expect(healthy.stdout).toContain("ok    keeper answers on");
    expect(healthy.code).toBe(0);

    rmSync(join(data, "keeper"), { recursive: true });
    const out = doctor(data, flags);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      `FAIL  the keeper socket's directory ${join(data, "keeper")} does not exist`,
    );
    expect(out.stdout).toContain("fix: restart the server");
    expect(out.stdout).toContain("is not there");
    await server.stop();
  });

  it("reports a socket directory others may enter", () => {
    const data = copy();
    chmodSync(join(data, "keeper"), 0o755);
    const out = doctor(data);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`fix: chmod 700 ${join(data, "keeper")}`);
  });
});
