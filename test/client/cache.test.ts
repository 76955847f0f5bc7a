import { afterAll, describe, expect, it } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCache, openCache, sealCache } from "../../src/client";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "vault-cache-"));
  dirs.push(d);
  return join(d, "config");
};

const ID = {
  server: "http://127.0.0.1:8750",
  projectId: `vlt_${"ab".repeat(32)}`,
  environment: "development",
};
const ENTRY = {
  environment: "development",
  version: 3,
  fetchedAt: 1,
  values: { DB_PASSWORD: "hunter2", EMPTY: "" },
};
const KEY = new Uint8Array(32).fill(7);

describe("the offline copy", () => {
  it("opens what it sealed", () => {
    expect(openCache(sealCache(ENTRY, KEY, ID), KEY, ID)).toEqual(ENTRY);
  });

  it("two seals of one copy differ", () => {
    expect(Buffer.from(sealCache(ENTRY, KEY, ID)).equals(Buffer.from(sealCache(ENTRY, KEY, ID)))).toBe(false);
  });

  it("flipping any byte fails to open", () => {
    const sealed = sealCache(ENTRY, KEY, ID);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Uint8Array.from(sealed);
      bad[i]! ^= 0x01;
      expect(() => openCache(bad, KEY, ID)).toThrow(/does not open|format/);
    }
  });

  it("a copy made for one environment fails to open as another's", () => {
    const sealed = sealCache(ENTRY, KEY, ID);
    expect(() => openCache(sealed, KEY, { ...ID, environment: "production" })).toThrow();
    expect(() => openCache(sealed, KEY, { ...ID, server: "http://other:8750" })).toThrow();
  });

  it("fails to open with another key", () => {
    expect(() => openCache(sealCache(ENTRY, KEY, ID), new Uint8Array(32).fill(8), ID)).toThrow();
  });

  it("is written 0600 in a 0700 directory, with its key 0600, and holds no value in clear", () => {
    const dir = tempDir();
    const cache = createCache({ dir });
    cache.save(ID, ENTRY);
    expect(cache.load(ID)).toEqual(ENTRY);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "cache.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "cache")).mode & 0o777).toBe(0o700);
    const files = readdirSync(join(dir, "cache"));
    expect(files.length).toBe(1);
    const path = join(dir, "cache", files[0]!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const bytes = readFileSync(path);
    expect(bytes.includes(Buffer.from("hunter2"))).toBe(false);
    expect(bytes.includes(Buffer.from("DB_PASSWORD"))).toBe(false);
  });

  it("has nothing for an environment never pulled, and refuses a key file others can read", () => {
    const dir = tempDir();
    const cache = createCache({ dir });
    expect(cache.load(ID)).toBeUndefined();
    cache.save(ID, ENTRY);
    writeFileSync(join(dir, "cache.key"), readFileSync(join(dir, "cache.key")), { mode: 0o644 });
    chmodSync(join(dir, "cache.key"), 0o644);
    expect(() => cache.load(ID)).toThrow(/readable by others/);
  });
});
