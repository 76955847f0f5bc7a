import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseError, newKey, openDatabase, readKeyFile, writeKeyFile } from "../../src/db";
import { createKeeper, openKeeper } from "../../src/vault";
import { atRestKeyFor } from "../../src/vault/keeper-types";
import { openKeyring, sealKeyring } from "../../src/vault/keyring";
import { fileCustody } from "../../src/vault/open";
import { createStore } from "../../src/vault/store";
import { freshKeeper, type KeeperConfig, keeperConfig, tempDir, text, utf8 } from "./helpers";

const random = (n: number) => new Uint8Array(randomBytes(n));

/** Names, sizes, modification times and contents of every file under a directory. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    const st = statSync(path);
    out[name] = st.isDirectory()
      ? `dir ${st.mtimeMs}`
      : `${st.size} ${st.mtimeMs} ${Bun.hash(readFileSync(path)).toString(16)}`;
  }
  return out;
}

async function openWith(config: KeeperConfig, root: Uint8Array) {
  return openDatabase({ location: config.vaultDb, atRestKey: atRestKeyFor(root), label: "vault.db" });
}

describe("start-up", () => {
  it("creates a 0600 root key in a 0700 directory on first start", async () => {
    const { keeper, config } = await freshKeeper();
    await keeper.close();
    expect(statSync(config.rootKeyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(config.rootKeyFile, "..")).mode & 0o777).toBe(0o700);
    expect(readKeyFile(config.rootKeyFile, "root key").length).toBe(32);
  });

  it("stops with a clear error on a wrong root key and touches nothing", async () => {
    // The keeper that wrote the files ran in another process, as in production.
    const dir = tempDir();
    const config = keeperConfig(dir);
    await inChild(`
      const keeper = await openKeeper({ config: ${JSON.stringify(config)} });
      await keeper.put([new TextEncoder().encode("kept")]);
      await keeper.close();
    `);
    writeKeyFile(config.rootKeyFile, newKey());
    const before = snapshot(dir);
    // A clean stop leaves one file: nothing a wrong key could rewrite (no WAL index).
    expect(Object.keys(before).sort()).toEqual(["keeper", "keeper/root.key", "keeper/vault.db"]);
    await Bun.sleep(20); // any write would now show in a modification time
    const failure = openKeeper({ config });
    expect(failure).rejects.toMatchObject({ code: "WRONG_ROOT_KEY" });
    expect(failure).rejects.toThrow(/root key does not open vault\.db/);
    await failure.catch(() => {});
    expect(snapshot(dir)).toEqual(before);
  });

  it("refuses to start when vault.db exists but the root key does not, and writes no new key", async () => {
    const { keeper, config, dir } = await freshKeeper();
    await keeper.close();
    const key = readFileSync(config.rootKeyFile);
    await Bun.write(config.rootKeyFile, "");
    (await import("node:fs")).unlinkSync(config.rootKeyFile);
    const before = snapshot(dir);
    expect(openKeeper({ config })).rejects.toMatchObject({ code: "ROOT_KEY_MISSING" });
    await openKeeper({ config }).catch(() => {});
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(config.rootKeyFile)).toBe(false);
    expect(key.length).toBe(65);
  });

  it("creates nothing when asked not to", async () => {
    const dir = tempDir();
    expect(openKeeper({ config: keeperConfig(dir), create: false })).rejects.toMatchObject({
      code: "NO_KEEPER",
    });
    await openKeeper({ config: keeperConfig(dir), create: false }).catch(() => {});
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("root key rotation", () => {
  it("keeps every value readable and leaves the old root key opening nothing", async () => {
    const { keeper, config } = await freshKeeper();
    const refs = await keeper.put(Array.from({ length: 50 }, (_, i) => utf8(`secret ${i}`)));
    await keeper.rotate();
    const oldRoot = readKeyFile(config.rootKeyFile, "root key");
    const sealedBefore = await keeperKeyringRow(config, oldRoot, keeper);
    await keeper.rotateRoot();
    expect((await keeper.get(refs)).map(text)).toEqual(refs.map((_, i) => `secret ${i}`));
    await keeper.put([utf8("after")]);
    await keeper.close();

    const newRoot = readKeyFile(config.rootKeyFile, "root key");
    expect(Buffer.from(newRoot).equals(Buffer.from(oldRoot))).toBe(false);
    expect(existsSync(`${config.rootKeyFile}.next`)).toBe(false);
    // The old root key opens neither the file nor the keyring stored in it.
    expect(openWith(config, oldRoot)).rejects.toBeInstanceOf(DatabaseError);
    const db = await openWith(config, newRoot);
    const sealed = (await createStore(db).loadKeyring())!;
    db.close();
    expect(() => openKeyring(oldRoot, sealed)).toThrow(expect.objectContaining({ code: "WRONG_ROOT_KEY" }));
    expect(openKeyring(newRoot, sealed).terms()).toEqual(openKeyring(oldRoot, sealedBefore).terms());

    const reopened = await openKeeper({ config });
    expect((await reopened.get(refs)).map(text)).toEqual(refs.map((_, i) => `secret ${i}`));
    await reopened.close();
  });

  it("discards a staged root key that was never used", async () => {
    const { keeper, config } = await freshKeeper();
    const [ref] = await keeper.put([utf8("v")]);
    await keeper.close();
    const root = readKeyFile(config.rootKeyFile, "root key");
    writeKeyFile(`${config.rootKeyFile}.next`, newKey());
    const reopened = await openKeeper({ config });
    expect(text((await reopened.get([ref!]))[0]!)).toBe("v");
    await reopened.close();
    expect(existsSync(`${config.rootKeyFile}.next`)).toBe(false);
    expect(readKeyFile(config.rootKeyFile, "root key")).toEqual(root);
  });

  it("finishes a rotation interrupted after the keyring was re-sealed", async () => {
    const { keeper, config } = await freshKeeper();
    const [ref] = await keeper.put([utf8("v")]);
    await keeper.close();
    const oldRoot = readKeyFile(config.rootKeyFile, "root key");
    const next = newKey();
    // The state a crash leaves between "keyring re-sealed" and "vault.db re-keyed".
    writeKeyFile(`${config.rootKeyFile}.next`, next);
    const db = await openWith(config, oldRoot);
    const store = createStore(db);
    const ring = openKeyring(oldRoot, (await store.loadKeyring())!);
    await store.saveKeyring(sealKeyring(next, ring, random), Date.now());
    db.close();

    const reopened = await openKeeper({ config });
    expect(text((await reopened.get([ref!]))[0]!)).toBe("v");
    await reopened.close();
    expect(readKeyFile(config.rootKeyFile, "root key")).toEqual(next);
    expect(existsSync(`${config.rootKeyFile}.next`)).toBe(false);
    expect(openWith(config, oldRoot)).rejects.toBeInstanceOf(DatabaseError);
  });

  it("finishes a rotation interrupted before the new key file was renamed into place", async () => {
    const dir = tempDir();
    const config = keeperConfig(dir);
    (await openKeeper({ config })).close();
    const oldRoot = readKeyFile(config.rootKeyFile, "root key");
    const real = fileCustody(config.rootKeyFile);
    const crashing = {
      stage: real.stage,
      commit() {
        throw new Error("simulated crash before the rename");
      },
    };
    const db = await openDatabase({
      location: config.vaultDb,
      atRestKey: atRestKeyFor(oldRoot),
      label: "vault.db",
      concurrency: 1,
    });
    const keeper = await createKeeper({ db, rootKey: oldRoot, config, custody: crashing });
    const [ref] = await keeper.put([utf8("v")]);
    expect(keeper.rotateRoot()).rejects.toThrow(/simulated crash/);
    await keeper.rotateRoot().catch(() => {});
    await keeper.close();
    expect(readKeyFile(config.rootKeyFile, "root key")).toEqual(oldRoot);
    expect(existsSync(`${config.rootKeyFile}.next`)).toBe(true);

    const reopened = await openKeeper({ config });
    expect(text((await reopened.get([ref!]))[0]!)).toBe("v");
    await reopened.close();
    expect(existsSync(`${config.rootKeyFile}.next`)).toBe(false);
    expect(openWith(config, oldRoot)).rejects.toBeInstanceOf(DatabaseError);
  });
});

describe("root key rotation, retried", () => {
  it("finishes a failed rotation with the key it staged, never a new one", async () => {
    const dir = tempDir();
    const config = keeperConfig(dir);
    await (await openKeeper({ config })).close();
    const oldRoot = readKeyFile(config.rootKeyFile, "root key");
    const real = fileCustody(config.rootKeyFile);
    const staged: Uint8Array[] = [];
    let commits = 0;
    const flaky = {
      stage(next: Uint8Array) {
        staged.push(new Uint8Array(next));
        real.stage(next);
      },
      commit() {
        commits++;
        if (commits === 1) throw new Error("simulated failure before the rename");
        real.commit();
      },
    };
    const db = await openDatabase({
      location: config.vaultDb,
      atRestKey: atRestKeyFor(oldRoot),
      label: "vault.db",
      concurrency: 1,
    });
    const keeper = await createKeeper({ db, rootKey: oldRoot, config, custody: flaky });
    const [ref] = await keeper.put([utf8("v")]);
    await keeper.rotateRoot().catch(() => {});
    await keeper.rotateRoot();
    expect(staged.length).toBe(1);
    expect(text((await keeper.get([ref!]))[0]!)).toBe("v");
    await keeper.close();
    expect(readKeyFile(config.rootKeyFile, "root key")).toEqual(staged[0]!);

    const reopened = await openKeeper({ config });
    expect(text((await reopened.get([ref!]))[0]!)).toBe("v");
    await reopened.close();
  });
});

describe("at rest", () => {
  it("keeps plaintext out of vault.db and its WAL, and the file is not a plain SQLite file", async () => {
    const { keeper, config } = await freshKeeper();
    const marker = `PLAINTEXT-MARKER-${randomBytes(8).toString("hex")}`;
    await keeper.put(Array.from({ length: 20 }, () => utf8(`${marker}=${marker}`)));
    const files = () => readdirSync(join(config.vaultDb, "..")).filter((f) => f.startsWith("vault.db"));
    const search = () => {
      for (const file of files()) {
        const bytes = readFileSync(join(config.vaultDb, "..", file));
        expect(bytes.includes(Buffer.from(marker))).toBe(false);
      }
    };
    expect(files()).toContain("vault.db-wal");
    search();
    await keeper.close();
    search();
    expect(readFileSync(config.vaultDb).subarray(0, 16).toString("latin1")).not.toBe("SQLite format 3\0");
  });
});

/** Runs a script with openKeeper in scope in a child process, and waits for it. */
async function inChild(body: string): Promise<void> {
  const index = join(import.meta.dir, "..", "..", "src", "vault", "index.ts");
  const script = `import { openKeeper } from ${JSON.stringify(index)};\n${body}`;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`child failed: ${err}`);
}

/** The sealed keyring row as stored now (read through a second connection, beside the keeper). */
async function keeperKeyringRow(
  config: KeeperConfig,
  root: Uint8Array,
  _keeper: unknown,
): Promise<Uint8Array> {
  const db = await openWith(config, root);
  try {
    return (await createStore(db).loadKeyring())!;
  } finally {
    db.close();
  }
}
