/**
 * Renaming keys through the API (PATCH .../secrets with `rename`), the same
 * change path the web editor's save takes: the key keeps its value and its
 * line in the file, its value is sealed again under the new name, and the
 * rules (a missing key, a taken name) answer as the API's errors do.
 */
import { describe, expect, it } from "bun:test";
import { parse } from "../../src/dotenv";
import { CRLF_FILE, projectWith, TRICKY_FILE } from "./fixtures";
import { startHarness } from "./harness";

async function setup(file = TRICKY_FILE) {
  const h = await startHarness();
  const { owner, project, base } = await projectWith(h);
  const url = `${base}/development/secrets`;
  expect((await h.request("PUT", url, { token: owner.token, body: { dotenv: file } })).status).toBe(200);
  const patch = (body: object) => h.request("PATCH", url, { token: owner.token, body });
  const pull = async () => (await h.request("GET", url, { token: owner.token })).body.dotenv as string;
  return { h, owner, project, url, patch, pull };
}

describe("renaming keys through the API", () => {
  it("renames a key in place: the pulled file differs only by the name, and the value reads back", async () => {
    const { patch, pull } = await setup();
    const res = await patch({ rename: { DB_PASS: "DB_PASSWORD" }, baseVersion: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 2, summary: { added: ["DB_PASSWORD"], removed: ["DB_PASS"] } });
    expect(await pull()).toBe(TRICKY_FILE.replace("DB_PASS=", "DB_PASSWORD="));
    expect(parse(await pull()).DB_PASSWORD).toBe("p@ss w0rd # not a comment");
  });

  it("keeps `export`, spacing and quoting of the renamed line, also with CRLF line ends", async () => {
    const { patch, pull } = await setup();
    await patch({ rename: { API_KEY: "STRIPE_KEY", SPACED: "PADDED" } });
    expect(await pull()).toBe(
      TRICKY_FILE.replace("export API_KEY=", "export STRIPE_KEY=").replace("   SPACED   =", "   PADDED   ="),
    );
    const crlf = await setup(CRLF_FILE);
    await crlf.patch({ rename: { B: "BEE" } });
    expect(await crlf.pull()).toBe(CRLF_FILE.replace("B='two'", "BEE='two'"));
  });

  it("renames every key of a tricky file to a new name, each time reading back exactly the values expected", async () => {
    const before = parse(TRICKY_FILE);
    for (const name of Object.keys(before)) {
      const { patch, pull } = await setup();
      expect((await patch({ rename: { [name]: `RENAMED_${name}` } })).status).toBe(200);
      const after = parse(await pull());
      const expected = Object.fromEntries(
        Object.entries(before).map(([k, v]) => [k === name ? `RENAMED_${name}` : k, v]),
      );
      expect({ name, after }).toEqual({ name, after: expected });
    }
  });

  it("seals the value again under its new name (a new ref), and leaves the old ref to the collector", async () => {
    const { h, project, patch } = await setup();
    const env = (await h.appdb.projects.environment(project.id, "development"))!;
    const v1 = (await h.appdb.versions.get(project.id, env.id, 1))!;
    await patch({ rename: { DB_HOST: "DATABASE_HOST" } });
    const v2 = (await h.appdb.versions.get(project.id, env.id, 2))!;
    const oldRef = v1.entries.find(([n]) => n === "DB_HOST")![1];
    const newRef = v2.entries.find(([n]) => n === "DATABASE_HOST")![1];
    expect(newRef).not.toBe(oldRef);
    // Every other key keeps its ref.
    for (const [name, ref] of v2.entries) {
      if (name !== "DATABASE_HOST") expect(ref).toBe(v1.entries.find(([n]) => n === name)![1]);
    }
    // The position of the entry in the snapshot is the old one.
    expect(v2.entries.map(([n]) => n).indexOf("DATABASE_HOST")).toBe(
      v1.entries.map(([n]) => n).indexOf("DB_HOST"),
    );
  });

  it("refuses to rename a key that does not exist (404) or onto a key that does (409), and makes no version", async () => {
    const { patch, pull } = await setup();
    const missing = await patch({ rename: { NOPE: "OTHER" } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe("development has no key NOPE");
    const taken = await patch({ rename: { DB_HOST: "DB_PASS" } });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({
      code: "CONFLICT",
      message: "development already has a key DB_PASS",
    });
    for (const body of [
      { rename: { DB_HOST: "DB_HOST" } },
      { rename: { DB_HOST: "X", DB_PASS: "X" } },
      { rename: { DB_HOST: "X" }, unset: ["DB_HOST"] },
      { rename: { DB_HOST: "1bad" } },
    ]) {
      expect({ body, status: (await patch(body)).status }).toEqual({ body, status: 400 });
    }
    expect(await pull()).toBe(TRICKY_FILE);
  });

  it("renames onto a key removed in the same change, swaps two keys, and takes a new value for the new name", async () => {
    const { patch, pull } = await setup("A=1\nB=2\nC=3\n");
    expect((await patch({ rename: { A: "C" }, unset: ["C"] })).status).toBe(200);
    expect(await pull()).toBe("C=1\nB=2\n");
    expect((await patch({ rename: { C: "B", B: "C" } })).status).toBe(200);
    expect(await pull()).toBe("B=1\nC=2\n");
    expect((await patch({ rename: { B: "D" }, set: { D: "four", E: "5" } })).status).toBe(200);
    expect(await pull()).toBe("D=four\nC=2\nE=5\n");
  });
});
