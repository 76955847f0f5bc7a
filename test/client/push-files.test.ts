/**
 * What `vault push` reads: the file's bytes, refused when they would not
 * survive the trip (invalid UTF-8 would become U+FFFD, a NUL byte, more than
 * 2 MiB), with an error naming the file and the line, before anything is
 * sent; and the server's own answer to an oversized file is a clear 413.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClientError, createApiClient } from "../../src/client";
import { decodeText, firstInvalidUtf8 } from "../../src/client/files";
import { type CliHarness, startCliHarness } from "./cli-harness";

let c: CliHarness;
let owner: { token: string; id: string; email: string };
let config: string;
let checkout: string;
let projectId: string;

const pushes = () => c.requests.filter((r) => r.startsWith("PUT ")).length;

beforeAll(async () => {
  c = await startCliHarness();
  owner = await c.h.user("owner@example.com", "owner");
  config = c.signedIn(owner);
  checkout = c.dir("app");
  await c.ok(["new", "shop"], { config, cwd: checkout });
  projectId = /DOTENV_VAULT="(vlt_[0-9a-f]{64})"/.exec(
    readFileSync(join(checkout, ".env.vault"), "utf8"),
  )![1]!;
});

describe("firstInvalidUtf8", () => {
  it("finds the first byte of an ill-formed sequence, and nothing in well-formed text", () => {
    const ok = Buffer.from("A=héllo ✓ 日本 😀\n", "utf8");
    expect(firstInvalidUtf8(ok)).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xe9, 0x0a]))).toBe(1); // Latin-1 é
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0); // overlong
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // a surrogate
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xe2, 0x9c]))).toBe(1); // cut short
    expect(firstInvalidUtf8(Buffer.from([0x80]))).toBe(0); // a lone continuation byte
  });

  it("agrees with a fatal TextDecoder on random bytes", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true });
    for (let n = 0; n < 2000; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (n % 12)));
      let valid = true;
      try {
        fatal.decode(bytes);
      } catch {
        valid = false;
      }
      expect(firstInvalidUtf8(bytes) === -1, Buffer.from(bytes).toString("hex")).toBe(valid);
    }
  });

  it("decodeText keeps a byte-order mark", () => {
    expect(decodeText(Buffer.from("\ufeffA=1\n", "utf8"), "f")).toBe("\ufeffA=1\n");
  });
});

describe("vault push of a file", () => {
  it("refuses invalid UTF-8 with the file and the line, and sends nothing (it used to become U+FFFD)", async () => {
    writeFileSync(join(checkout, "latin1.env"), Buffer.from("A=1\n# ok\nNAME=caf\xe9\n", "latin1"));
    const before = pushes();
    const r = await c.cli(["push", "development", "latin1.env"], { config, cwd: checkout });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "vault: error: latin1.env is not valid UTF-8 (line 3, column 9: byte 0xe9)\n" +
        "vault: hint: save it as UTF-8; from Latin-1, for instance: iconv -f latin1 -t utf-8 FILE > FILE.utf8\n",
    );
    expect(pushes()).toBe(before);
  });

  it("refuses a NUL byte with its line", async () => {
    writeFileSync(join(checkout, "nul.env"), "A=1\nB=x\u0000y\n");
    const r = await c.cli(["push", "development", "nul.env"], { config, cwd: checkout });
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("vault: error: nul.env contains a NUL byte (line 2)\n");
  });

  it("refuses a file over 2 MiB before sending it, saying so (it used to be a raw schema error)", async () => {
    writeFileSync(join(checkout, "big.env"), `# ${"x".repeat(2 * 1024 * 1024)}\nA=1\n`);
    const before = pushes();
    const r = await c.cli(["push", "development", "big.env"], { config, cwd: checkout });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "vault: error: big.env is 2.0 MiB; the server takes files of at most 2 MiB\n" +
        "vault: hint: split it across environments, or keep large blobs elsewhere and a reference here\n",
    );
    expect(pushes()).toBe(before);
  });

  it("pushes valid UTF-8 with a byte-order mark and pulls it back byte for byte", async () => {
    const text = "\ufeff# café ✓\nNAME=日本\n";
    writeFileSync(join(checkout, "bom.env"), text);
    await c.ok(["push", "staging", "bom.env"], { config, cwd: checkout });
    expect(await c.ok(["pull", "staging", "-"], { config, cwd: checkout })).toBe(text);
  });
});

describe("the server's answer to an oversized file", () => {
  for (const [what, file] of [
    ["ASCII", `# ${"x".repeat(2 * 1024 * 1024)}\nA=1\n`],
    ["multi-byte", `# ${"é".repeat(1024 * 1024 + 8)}\nA=1\n`],
  ] as const) {
    it(`is 413 LIMIT_EXCEEDED with a hint for a ${what} file over 2 MiB, not a schema message`, async () => {
      const api = createApiClient({ baseUrl: c.url, token: owner.token });
      const error = (await api.secrets
        .push(projectId, "ci", { dotenv: file })
        .catch((e) => e)) as ClientError;
      expect(error).toBeInstanceOf(ClientError);
      expect(error.status).toBe(413);
      expect(error.code).toBe("LIMIT_EXCEEDED");
      expect(error.message).toBe("the file is larger than 2 MiB");
      expect(error.hint).toBe("split it across environments");
    });
  }
});
