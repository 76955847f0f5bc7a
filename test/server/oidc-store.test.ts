/**
 * What single sign-on keeps in app.db (migration 0008): identities, unique by (issuer, subject)
 * and by (issuer, user); sign-ins in flight, each usable once even when two callbacks race; and
 * an app.db of the previous release upgraded in place, its users and sessions untouched.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appDbAtRestKey, appDbMigrationHooks, openAppDb } from "../../src/appdb";
import { migrations } from "../../src/appdb/migrations";
import { migrate, newKey, openDatabase, readKeyFile, writeKeyFile } from "../../src/db";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "vault-sso-store-"));
  dirs.push(dir);
  return dir;
};

async function appdbIn(dir: string) {
  return openAppDb({
    appDb: join(dir, "app.db"),
    appKeyFile: join(dir, "app.key"),
    appDbAuthTokenFile: undefined,
  });
}

const user = (id: string, email: string) => ({
  id,
  email,
  passwordHash: "x",
  role: "member" as const,
  mustChangePassword: false,
  createdAt: 1,
});

describe("identities and sign-ins in app.db", () => {
  it("links a subject once, and a user to one subject per issuer", async () => {
    const appdb = await appdbIn(tempDir());
    try {
      await appdb.users.insert(user("usr_a", "a@example.com"));
      await appdb.users.insert(user("usr_b", "b@example.com"));
      const link = (subject: string, userId: string, issuer = "https://idp.example.com") =>
        appdb.identities.link({ issuer, subject, userId, email: "x@example.com", createdAt: 1 });
      expect(await link("s1", "usr_a")).toBe(true);
      expect(await link("s1", "usr_b")).toBe(false);
      expect(await link("s2", "usr_a")).toBe(false);
      expect(await link("s1", "usr_b", "https://other.example.com")).toBe(true);
      expect((await appdb.identities.bySubject("https://idp.example.com", "s1"))?.userId).toBe("usr_a");
      expect((await appdb.identities.ofUser("https://idp.example.com", "usr_a"))?.subject).toBe("s1");
    } finally {
      appdb.close();
    }
  });

  it("hands a sign-in in flight to one of two racing callbacks, and never after it expired", async () => {
    const appdb = await appdbIn(tempDir());
    try {
      await appdb.identities.openLogin(
        { id: "L1", bindingHash: "h", next: "/", createdAt: 1000, expiresAt: 2000 },
        0,
      );
      const [one, two] = await Promise.all([
        appdb.identities.takeLogin("L1", 1500),
        appdb.identities.takeLogin("L1", 1500),
      ]);
      expect([one?.id, two?.id].filter(Boolean)).toEqual(["L1"]);
      await appdb.identities.openLogin(
        { id: "L2", bindingHash: "h", next: "/", createdAt: 1000, expiresAt: 2000 },
        0,
      );
      expect(await appdb.identities.takeLogin("L2", 2000)).toBeUndefined();
      // Rows long expired go when the next sign-in starts.
      await appdb.identities.openLogin(
        { id: "L3", bindingHash: "h", next: "/", createdAt: 9000, expiresAt: 9500 },
        5000,
      );
      expect(await appdb.identities.login("L1")).toBeUndefined();
      expect(await appdb.identities.login("L3")).toBeDefined();
    } finally {
      appdb.close();
    }
  });

  it("upgrades an app.db of the previous release in place: its users and sessions stay, identities start empty", async () => {
    const dir = tempDir();
    const keyFile = join(dir, "app.key");
    writeKeyFile(keyFile, newKey());
    const appKey = readKeyFile(keyFile, "app key");
    const old = await openDatabase({
      location: join(dir, "app.db"),
      atRestKey: appDbAtRestKey(appKey),
      label: "app.db",
    });
    const before = migrations.filter((m) => m.name < "0008");
    await migrate(old, before, appDbMigrationHooks(appKey));
    await old.client.execute(
      "INSERT INTO users (id, email, password_hash, role, must_change_password, created_at) VALUES ('usr_old', 'old@example.com', 'x', 'owner', 0, 1)",
    );
    await old.client.execute(
      "INSERT INTO tokens (id, kind, hash, user_id, created_at, expires_at) VALUES ('tok_old', 'session', 'h', 'usr_old', 1, 99999999999999)",
    );
    old.close();
    const appdb = await appdbIn(dir);
    try {
      expect((await appdb.users.byEmail("old@example.com"))?.role).toBe("owner");
      expect((await appdb.tokens.byId("tok_old"))?.userId).toBe("usr_old");
      expect(await appdb.identities.ofUser("https://idp.example.com", "usr_old")).toBeUndefined();
      expect(
        await appdb.identities.link({
          issuer: "https://idp.example.com",
          subject: "s",
          userId: "usr_old",
          createdAt: 2,
        }),
      ).toBe(true);
    } finally {
      appdb.close();
    }
  });
});
