/**
 * Bad input gets a 4xx with a code and changes nothing. No input from a
 * client produces a 500.
 */
import { describe, expect, it } from "bun:test";
import { projectWith } from "./fixtures";
import { startHarness } from "./harness";

describe("bad input", () => {
  it("refuses each malformed request with a 4xx and a code, and changes nothing", async () => {
    const h = await startHarness();
    const { owner, project, base } = await projectWith(h);
    await h.request("PUT", `${base}/development/secrets`, { token: owner.token, body: { dotenv: "A=1\n" } });
    const url = `${base}/development/secrets`;
    const big = (n: number) => "x".repeat(n);
    const tooManyKeys = Array.from({ length: 10_001 }, (_, i) => `K${i}=v`).join("\n");
    const cases: [string, () => ReturnType<typeof h.request>][] = [
      ["malformed JSON", () => h.request("PUT", url, { token: owner.token, raw: "{not json" })],
      ["a JSON array", () => h.request("PUT", url, { token: owner.token, raw: "[1,2]" })],
      ["wrong type", () => h.request("PUT", url, { token: owner.token, body: { dotenv: 42 } })],
      [
        "unknown field",
        () =>
          h.request("PUT", url, { token: owner.token, body: { dotenv: "A=2\n", extra: "SENTINEL_9f3a" } }),
      ],
      ["missing field", () => h.request("PUT", url, { token: owner.token, body: {} })],
      [
        "a wrongly typed object that cannot become a string (found by the hostile-input suite)",
        () =>
          h.request("PUT", url, { token: owner.token, raw: '{"dotenv":{"toString":null,"valueOf":null}}' }),
      ],
      [
        "a lone surrogate in a value",
        () => h.request("PATCH", url, { token: owner.token, raw: '{"set":{"B":"\\ud800"}}' }),
      ],
      [
        "a lone surrogate in a file",
        () => h.request("PUT", url, { token: owner.token, raw: '{"dotenv":"A=\\udfff\\n"}' }),
      ],
      ["10,001 keys", () => h.request("PUT", url, { token: owner.token, body: { dotenv: tooManyKeys } })],
      [
        "a 65 KiB value",
        () => h.request("PUT", url, { token: owner.token, body: { dotenv: `A=${big(65 * 1024)}\n` } }),
      ],
      [
        "a file over 2 MiB",
        () =>
          h.request("PUT", url, { token: owner.token, body: { dotenv: `# ${big(2 * 1024 * 1024)}\nA=1\n` } }),
      ],
      ["a NUL byte", () => h.request("PUT", url, { token: owner.token, body: { dotenv: "A=1\u0000\n" } })],
      [
        "invalid UTF-8",
        () =>
          h.request("PUT", url, {
            token: owner.token,
            raw: new Uint8Array([
              0x7b, 0x22, 0x64, 0x6f, 0x74, 0x65, 0x6e, 0x76, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d,
            ]),
          }),
      ],
      [
        "an invalid key name",
        () => h.request("PATCH", url, { token: owner.token, body: { set: { "BAD NAME": "x" } } }),
      ],
      [
        "a key name with a newline",
        () => h.request("PATCH", url, { token: owner.token, body: { set: { "A\nB": "x" } } }),
      ],
      ["an invalid environment", () => h.request("GET", `${base}/Prod!/secrets`, { token: owner.token })],
      [
        "a bad project id",
        () =>
          h.request("GET", "/api/v1/projects/vlt_nothex/environments/development/secrets", {
            token: owner.token,
          }),
      ],
      ["a negative version", () => h.request("GET", `${url}?version=-1`, { token: owner.token })],
      ["a huge version", () => h.request("GET", `${url}?version=99999999999999`, { token: owner.token })],
      [
        "one key both set and unset",
        () => h.request("PATCH", url, { token: owner.token, body: { set: { A: "1" }, unset: ["A"] } }),
      ],
      ["neither set nor unset", () => h.request("PATCH", url, { token: owner.token, body: {} })],
      [
        "deep JSON",
        () =>
          h.request("PUT", url, { token: owner.token, raw: `${"[".repeat(100_000)}${"]".repeat(100_000)}` }),
      ],
      ["an unknown route", () => h.request("GET", "/api/v1/nothing", { token: owner.token })],
      ["an empty login", () => h.request("POST", "/api/v1/auth/login", { body: {} })],
      [
        "an oversized email",
        () => h.request("POST", "/api/v1/auth/login", { body: { email: big(5000), password: "x" } }),
      ],
    ];
    const before = JSON.stringify(await h.request("GET", `${url}?format=json`, { token: owner.token }));
    for (const [name, send] of cases) {
      const res = await send();
      expect({ name, status: res.status >= 400 && res.status < 500 }).toEqual({ name, status: true });
      expect(typeof res.body?.error?.code).toBe("string");
      expect(res.body.error.code).toMatch(/^[A-Z_]+$/);
      expect(JSON.stringify(res.body)).not.toContain("SENTINEL_9f3a");
      expect(JSON.stringify(res.body)).not.toContain("xxxxxxxxxx");
    }
    expect(JSON.stringify(await h.request("GET", `${url}?format=json`, { token: owner.token }))).toBe(before);
    expect((await h.appdb.projects.environment(project.id, "development"))!.head).toBe(1);
    expect(h.logs.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });
});
