import { afterAll, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { Server } from "bun";
import { eq } from "drizzle-orm";
import { newId, schema } from "../../src/appdb";
import { VERSION_MAC_LABEL, versionMac } from "../../src/appdb/repos/versions";
import { hkdf32, openDatabase, readKeyFile } from "../../src/db";
import { type IpRange, parseIpRange } from "../../src/ip-range";
import { collectGarbage, createServer } from "../../src/server";
import { hashCredential } from "../../src/server/auth/credentials";
import { clientIp } from "../../src/server/http";
import { type PublicListener, startListener } from "../../src/server/listener";
import type { KeeperApi } from "../../src/vault";
import { projectWith } from "./fixtures";
import { startHarness } from "./harness";

const SECRET = "s3cr3t-value-0f-a-very-distinctive-kind";
const NAME = "DISTINCTIVE_KEY_NAME_ZQX";

function filesOf(dir: string, prefix: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.startsWith(prefix))
      .map((f) => readFileSync(join(dir, f))),
  );
}

/** Wraps a keeper and records every blob that crosses to it. */
function recording(inner: KeeperApi, seen: Uint8Array[]): KeeperApi {
  return {
    ...inner,
    put: async (blobs) => {
      seen.push(...blobs);
      return inner.put(blobs);
    },
    get: (refs) => inner.get(refs),
    delete: (refs) => inner.delete(refs),
    list: (o) => inner.list(o),
    stats: () => inner.stats(),
    health: () => inner.health(),
    rotate: () => inner.rotate(),
    rotateRoot: () => inner.rotateRoot(),
  };
}

describe("two stores", () => {
  it("app.db holds no value that was pushed, and vault.db holds no key name and no project name", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: `# comment ${SECRET}\n${NAME}=${SECRET}\n` },
    });
    // Open app.db with its key and read every table as text.
    const tables = [
      "users",
      "tokens",
      "projects",
      "environments",
      "memberships",
      "grants",
      "versions",
      "refs",
      "audit",
      "meta",
    ];
    let appText = "";
    for (const table of tables) {
      const rows = await h.appdb.database.client.execute(`SELECT * FROM ${table}`);
      appText += JSON.stringify(rows.rows, (_k, v) =>
        v instanceof ArrayBuffer ? Buffer.from(v).toString("latin1") : v,
      );
    }
    expect(appText).toContain(NAME);
    expect(appText).not.toContain(SECRET);
    expect(appText).toContain("shop");

    // Open vault.db with its own at-rest key and read every table as text.
    const rootKey = readKeyFile(join(h.dir, "keeper", "root.key"), "root key");
    const vault = await openDatabase({
      location: join(h.dir, "keeper", "vault.db"),
      atRestKey: hkdf32(rootKey, "vault/v1/at-rest"),
      label: "vault.db",
    });
    let vaultText = "";
    const names = await vault.client.execute("SELECT name FROM sqlite_master WHERE type = 'table'");
    for (const { name } of names.rows) {
      const rows = await vault.client.execute(`SELECT * FROM "${String(name)}"`);
      vaultText += JSON.stringify(rows.rows, (_k, v) =>
        v instanceof ArrayBuffer ? Buffer.from(v).toString("latin1") : v,
      );
    }
    vault.close();
    expect(vaultText.length).toBeGreaterThan(100);
    for (const needle of [NAME, "shop", "development", SECRET, "owner@example.com"])
      expect(vaultText).not.toContain(needle);
    const raw = filesOf(join(h.dir, "keeper"), "vault.db");
    expect(raw.includes(Buffer.from(NAME))).toBe(false);
    expect(raw.includes(Buffer.from("shop"))).toBe(false);
    expect(raw.includes(Buffer.from(SECRET))).toBe(false);
    const appRaw = filesOf(join(h.dir, "app"), "app.db");
    expect(appRaw.includes(Buffer.from(NAME))).toBe(false);
  });

  it("the keeper never receives a plaintext value, and its blobs opened with its own keys are still ciphertext", async () => {
    const seen: Uint8Array[] = [];
    const h = await startHarness({ keeper: (k) => recording(k, seen) });
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: `${NAME}=${SECRET}\n` },
    });
    expect(seen.length).toBeGreaterThan(0);
    for (const blob of seen) {
      expect(Buffer.from(blob).includes(Buffer.from(SECRET))).toBe(false);
      expect(blob[0]).toBe(0x01);
    }
    // What the keeper returns (its own seal opened) is the app's envelope, not the value.
    const projectId = (await h.appdb.projects.all())[0]!.id;
    const env = (await h.appdb.projects.environments(projectId)).find((e) => e.name === "development")!;
    const { entries } = (await h.appdb.versions.get(projectId, env.id, 1))!;
    const [opened] = await h.keeper.get([Buffer.from(entries[0]![1], "hex")]);
    expect(Buffer.from(opened!).includes(Buffer.from(SECRET))).toBe(false);
    expect(opened!.length).toBe(1 + 4 + 12 + SECRET.length + 16);
  });

  it("a ref moved to another name in app.db fails with an integrity error instead of returning the other value", async () => {
    const h = await startHarness({ cacheTtlMs: 0 });
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "PUBLIC=harmless\nPRIVATE=topsecret\n" },
    });
    const env = (await h.appdb.projects.environment(project.id, "development"))!;
    const { entries } = (await h.appdb.versions.get(project.id, env.id, 1))!;
    const swapped = entries.map(([name], i) => [name, entries[(i + 1) % entries.length]![1]] as const);
    // The version's MAC would refuse this first; recompute it (as only app.key can) to reach the binding.
    const row = (
      await h.appdb.orm.select().from(schema.versions).where(eq(schema.versions.environmentId, env.id))
    )[0]!;
    const macKey = hkdf32(readKeyFile(join(h.dir, "app", "app.key"), "app key"), VERSION_MAC_LABEL);
    await h.appdb.orm
      .update(schema.versions)
      .set({
        entries: JSON.stringify(swapped),
        mac: versionMac(macKey, { ...row, projectId: project.id, entries: swapped }),
      })
      .where(eq(schema.versions.environmentId, env.id));
    const pull = await h.request("GET", `${base}/development/secrets?format=json&key=PUBLIC`, {
      token: owner.token,
    });
    expect(pull.status).toBe(500);
    expect(pull.body.error.code).toBe("INTEGRITY");
    expect(JSON.stringify(pull.body)).not.toContain("topsecret");
    // Refused by the value's binding: the version itself passed its MAC.
    expect(h.logs.some((line) => line.includes("a version failed its integrity check"))).toBe(false);
  });
});

describe("app.db write access", () => {
  it("an inserted session row with sha256(token) does not authenticate; the same row keyed with app.key would", async () => {
    const h = await startHarness();
    const { owner, project } = await projectWith(h);
    const plant = async (kind: "session" | "me" | "service", hash: (token: string) => string) => {
      const prefix = { session: "vss_", me: "me_", service: "vst_" }[kind];
      const token = `${prefix}${Buffer.from(h.ctx.random(32)).toString("hex")}`;
      await h.appdb.tokens.insert({
        id: newId.token(h.ctx.random),
        kind,
        hash: hash(token),
        userId: kind === "service" ? null : owner.id,
        projectId: kind === "session" ? null : project.id,
        environments: kind === "service" ? JSON.stringify([]) : null,
        createdBy: owner.id,
        createdAt: h.clock.now(),
        expiresAt: h.clock.now() + 3_600_000,
      });
      return token;
    };
    // What an app.db writer can compute: SHA-256 of a token of their own, as the rows held before.
    const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");
    for (const kind of ["session", "me", "service"] as const) {
      const forged = await plant(kind, sha256);
      const res = await h.request("GET", "/api/v1/me", { token: forged });
      expect({ kind, status: res.status }).toEqual({ kind, status: 401 });
    }
    // The /signin cookie path and the dotenv-vault verbs use the same lookup.
    const forgedMe = await plant("me", sha256);
    const whoami = await h.request("POST", "/whoami", {
      body: { DOTENV_VAULT: project.id, DOTENV_ME: forgedMe },
    });
    expect(whoami.status).toBe(401);
    // The control: the row as the app writes it (keyed with a key derived from app.key) authenticates.
    const genuine = await plant("session", (token) => hashCredential(h.appdb.credentialKey, token));
    expect((await h.request("GET", "/api/v1/me", { token: genuine })).status).toBe(200);
    // And no stored credential hash is the SHA-256 of its token.
    const stored = await h.appdb.tokens.byHash(sha256(owner.token));
    expect(stored).toBeUndefined();
  });
});

describe("cross-store writes", () => {
  it("a crash between the keeper write and the app commit leaves no name without a value, and gc removes the orphans only", async () => {
    let failCommit = false;
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "KEEP=1\n" },
    });
    const realCommit = h.appdb.versions.commit;
    h.appdb.versions.commit = async (v) => {
      if (failCommit) throw new Error("injected crash before the app commit");
      return realCommit(v);
    };
    const realDelete = h.keeper.delete;
    h.keeper.delete = async () => 0; // the process dies before it can clean up
    failCommit = true;
    const res = await h.request("PUT", `${base}/development/secrets`, {
      token: owner.token,
      body: { dotenv: "KEEP=1\nNEW=orphan\n" },
    });
    expect(res.status).toBe(500);
    failCommit = false;
    h.keeper.delete = realDelete;

    // Every name still points at a value.
    const pull = await h.request("GET", `${base}/development/secrets?format=json`, { token: owner.token });
    expect(pull.body).toMatchObject({ version: 1, values: { KEEP: "1" } });
    const statsBefore = await h.keeper.stats();

    // Within the grace period nothing is collected; after it, only the orphans are.
    const early = await collectGarbage({
      appdb: h.appdb,
      keeper: h.keeper,
      now: Date.now,
      graceMs: 3_600_000,
    });
    expect(early.removed).toBe(0);
    const late = await collectGarbage({
      appdb: h.appdb,
      keeper: h.keeper,
      now: () => Date.now() + 7_200_000,
      graceMs: 3_600_000,
    });
    expect(late.removed).toBe(2); // the new value and the new layout
    expect((await h.keeper.stats()).values).toBe(statsBefore.values - 2);
    const after = await h.request("GET", `${base}/development/secrets`, { token: owner.token });
    expect(after.body.dotenv).toBe("KEEP=1\n");
    void project;
  });
});

describe("concurrency", () => {
  it("50 concurrent pushes make 50 consecutive versions, each readable and equal to what was pushed", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    const files = Array.from({ length: 50 }, (_, i) => `N=${i}\nSHARED=same\nX${i}=only-in-${i}\n`);
    const results = await Promise.all(
      files.map((dotenv) =>
        h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv } }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const versions = results.map((r) => r.body.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const [i, r] of results.entries()) {
      const pull = await h.request("GET", `${base}/development/secrets?version=${r.body.version}`, {
        token: owner.token,
      });
      expect(pull.body.dotenv).toBe(files[i]);
    }
  });

  it("concurrent pushes with the same stale baseVersion: one wins, the rest get 409 and change nothing", async () => {
    const h = await startHarness();
    const { owner, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=0\n" } });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.request("PUT", `${base}/development/secrets`, {
          token: owner.token,
          body: { dotenv: `A=${i + 1}\n`, baseVersion: 1 },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    const pull = await h.request("GET", `${base}/development/versions`, { token: owner.token });
    expect(pull.body.head).toBe(2);
  });
});

describe("the client's address behind a proxy", () => {
  const ranges = (...texts: string[]) => texts.map((t) => parseIpRange(t));
  /** clientIp for a request from `peer` (null: a unix socket) with these X-Forwarded-For lines. */
  const ipOf = (
    config: { behindProxy: boolean; trustedProxies?: readonly IpRange[] },
    peer: string | null,
    ...forwarded: string[]
  ) => {
    const headers = new Headers();
    for (const line of forwarded) headers.append("x-forwarded-for", line);
    const server = {
      requestIP: () => (peer === null ? null : { address: peer, family: "IPv4", port: 40000 }),
    } as unknown as Server<unknown>;
    return clientIp({ config: config as never }, new Request("http://localhost/x", { headers }), server);
  };

  it("ignores X-Forwarded-For without --behind-proxy", () => {
    expect(ipOf({ behindProxy: false }, "203.0.113.9", "198.51.100.1")).toBe("203.0.113.9");
  });

  it("ignores the X-Forwarded-For of a direct client that is not a trusted proxy", () => {
    const config = { behindProxy: true, trustedProxies: ranges("10.0.0.0/8") };
    expect(ipOf(config, "203.0.113.9", "198.51.100.1")).toBe("203.0.113.9");
    // The default: only loopback peers are proxies.
    expect(ipOf({ behindProxy: true }, "203.0.113.9", "198.51.100.1")).toBe("203.0.113.9");
  });

  it("from a trusted proxy, takes the right-most address that is not a trusted proxy, so a client cannot prepend its own", () => {
    const config = { behindProxy: true, trustedProxies: ranges("10.0.0.0/8", "fd00::/8") };
    expect(ipOf(config, "10.0.0.2", "198.51.100.1")).toBe("198.51.100.1");
    // The client wrote 1.1.1.1 itself; the proxy appended the peer it saw.
    expect(ipOf(config, "10.0.0.2", "1.1.1.1, 198.51.100.1")).toBe("198.51.100.1");
    // Two proxies of ours: the outer one appended the client, the inner one the outer one.
    expect(ipOf(config, "10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.7")).toBe("198.51.100.1");
    expect(ipOf(config, "10.0.0.2", "1.1.1.1, 198.51.100.1", "fd00::7")).toBe("198.51.100.1");
    expect(ipOf(config, "::ffff:10.0.0.2", "2001:db8::1")).toBe("2001:db8::1");
  });

  it("takes the left-most address when every hop is a trusted proxy, and the peer when there is no header", () => {
    const config = { behindProxy: true, trustedProxies: ranges("10.0.0.0/8") };
    expect(ipOf(config, "10.0.0.2", "10.0.0.9, 10.0.0.8")).toBe("10.0.0.9");
    expect(ipOf(config, "10.0.0.2")).toBe("10.0.0.2");
  });

  it("reads hops with ports, and stops at a hop that is not an address instead of believing what is left of it", () => {
    const config = { behindProxy: true, trustedProxies: ranges("10.0.0.0/8") };
    expect(ipOf(config, "10.0.0.2", "198.51.100.1:5123")).toBe("198.51.100.1");
    expect(ipOf(config, "10.0.0.2", "[2001:db8::1]:5123")).toBe("2001:db8::1");
    expect(ipOf(config, "10.0.0.2", "198.51.100.1, unknown")).toBe("10.0.0.2");
    expect(ipOf(config, "10.0.0.2", "198.51.100.1, garbage, 10.0.0.9")).toBe("10.0.0.9");
  });

  it("trusts loopback peers by default, and any peer of a unix-socket listener", () => {
    expect(ipOf({ behindProxy: true }, "127.0.0.1", "198.51.100.1")).toBe("198.51.100.1");
    expect(ipOf({ behindProxy: true }, "::1", "198.51.100.1")).toBe("198.51.100.1");
    expect(ipOf({ behindProxy: true, trustedProxies: ranges("10.0.0.0/8") }, null, "198.51.100.1")).toBe(
      "198.51.100.1",
    );
  });
});

describe("per-address rate limits behind a proxy, over the real listener", () => {
  const listeners: PublicListener[] = [];
  afterAll(async () => {
    for (const l of listeners) await l.stop(1_000);
  });

  /** The app behind --behind-proxy with a limit of 1 request/s per address (bursts of 2). */
  async function behindProxy(trustedProxies: readonly IpRange[]) {
    const h = await startHarness();
    const app = createServer({
      ...h.ctx,
      config: { ...h.ctx.config, behindProxy: true, trustedProxies, rateLimitAddress: 1 },
    });
    const listener = await startListener({
      config: {
        listen: { kind: "tcp", host: "127.0.0.1", port: 0 },
        tlsCertFile: undefined,
        tlsKeyFile: undefined,
        tlsMin: "1.2",
      },
      fetch: (request) => app.handle(request),
      maxRequestBodySize: 1024 * 1024,
      onServer: (server) => {
        app.server = server;
      },
    });
    listeners.push(listener);
    // A raw request, so that the test's own address (127.0.0.1) is the direct peer.
    return (forwardedFor: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port: listener.port! });
        let out = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk) => {
          out += chunk;
        });
        socket.on("error", reject);
        socket.on("end", () => resolve(Number(out.split(" ")[1])));
        socket.write(
          `GET /api/v1/openapi.json HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: ${forwardedFor}\r\nConnection: close\r\n\r\n`,
        );
      });
  }

  it("a client that is not a trusted proxy cannot dodge its limit with a new X-Forwarded-For each time", async () => {
    const get = await behindProxy([parseIpRange("10.0.0.0/8")]);
    const statuses = [];
    for (let i = 1; i <= 4; i++) statuses.push(await get(`198.51.100.${i}`));
    expect(statuses).toContain(429);
  });

  it("behind a trusted proxy, each forwarded client has its own limit", async () => {
    const get = await behindProxy([parseIpRange("127.0.0.0/8")]);
    const statuses = [];
    for (let i = 1; i <= 4; i++) statuses.push(await get(`198.51.100.${i}`));
    expect(statuses).toEqual([200, 200, 200, 200]);
  });
});
