import { describe, expect, it } from "bun:test";
import {
  buildEnvVault,
  decryptVaultValue,
  ENV_VAULT_HEADER,
  encryptVaultValue,
  formatDotenvKey,
  openEnvVault,
  parse,
  parseDotenvKey,
  parseDotenvKeyList,
  readEnvVaultSettings,
} from "../../src/dotenv";

/** Known answer from dotenv 17.4.2's tests/.env.vault (PROTOCOL.md section 1). */
const KNOWN = {
  ciphertext: "s7NYXa809k/bVSPwIAmJhPJmEGTtU0hG58hOZy7I0ix6y5HP8LsHBsZCYC/gw5DDFy5DgOcyd18R",
  key: "ddcaa26504cd70a6fef9801901c3981538563a1767c297cb8416e8a38c62fe00",
  wrongKey: "2c4d267b8c3865f921311612e69273666cc76c008acb577d3e22bc3046fba386",
  plaintext: '# development@v6\nALPHA="zeta"',
};

const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const KEY_A = hex("11".repeat(32));
const PROJECT = `vlt_${"ab".repeat(32)}`;

describe("decryptVaultValue", () => {
  it("opens dotenv's own known answer", () => {
    expect(decryptVaultValue(KNOWN.ciphertext, hex(KNOWN.key))).toBe(KNOWN.plaintext);
  });

  it("fails with DECRYPTION_FAILED under the wrong key", () => {
    expect(() => decryptVaultValue(KNOWN.ciphertext, hex(KNOWN.wrongKey))).toThrow(
      expect.objectContaining({ code: "DECRYPTION_FAILED" }),
    );
  });

  it("fails to open when any byte of the value is flipped", () => {
    const sealed = Buffer.from(encryptVaultValue("A=1", KEY_A), "base64");
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1;
      expect(() => decryptVaultValue(bad.toString("base64"), KEY_A)).toThrow(
        expect.objectContaining({ code: "DECRYPTION_FAILED" }),
      );
    }
  });

  it("fails with DECRYPTION_FAILED on a value too short to hold a nonce and a tag", () => {
    expect(() => decryptVaultValue("abc", KEY_A)).toThrow(
      expect.objectContaining({ code: "DECRYPTION_FAILED" }),
    );
  });
});

describe("encryptVaultValue", () => {
  it("writes nonce | ciphertext | tag as one line of padded standard base64", () => {
    const nonce = new Uint8Array(12).fill(7);
    const b64 = encryptVaultValue("A=1\n", KEY_A, () => nonce);
    expect(b64).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const bytes = Buffer.from(b64, "base64");
    expect(bytes.length).toBe(12 + 4 + 16);
    expect([...bytes.subarray(0, 12)]).toEqual([...nonce]);
    expect(decryptVaultValue(b64, KEY_A)).toBe("A=1\n");
  });

  it("seals one value twice into two different texts", () => {
    expect(encryptVaultValue("A=1", KEY_A)).not.toBe(encryptVaultValue("A=1", KEY_A));
  });
});

describe("DOTENV_KEY", () => {
  it("formats the URI dotenv expects and reads it back", () => {
    const uri = formatDotenvKey({
      key32: hex(KNOWN.key),
      environment: "production",
      host: "vault.example:8443",
    });
    expect(uri).toBe(`dotenv://:key_${KNOWN.key}@vault.example:8443/vault/.env.vault?environment=production`);
    const parsed = parseDotenvKey(uri);
    expect(Buffer.from(parsed.key32).toString("hex")).toBe(KNOWN.key);
    expect(parsed.environment).toBe("production");
  });

  it("takes the last 64 characters of the password, as dotenv does", () => {
    const parsed = parseDotenvKey(`dotenv://:whatever_${KNOWN.key}@h/x?environment=ci`);
    expect(Buffer.from(parsed.key32).toString("hex")).toBe(KNOWN.key);
  });

  it("reports dotenv's INVALID_DOTENV_KEY cases", () => {
    for (const uri of [
      "not a uri",
      "dotenv://host/vault/.env.vault?environment=ci",
      `dotenv://:key_${KNOWN.key}@host/vault/.env.vault`,
      "dotenv://:key_1234@host/vault/.env.vault?environment=ci",
    ]) {
      expect(() => parseDotenvKey(uri)).toThrow(expect.objectContaining({ code: "INVALID_DOTENV_KEY" }));
    }
  });

  it("reads a comma-separated list in order", () => {
    const a = formatDotenvKey({ key32: KEY_A, environment: "ci", host: "h.example" });
    const b = formatDotenvKey({ key32: hex(KNOWN.key), environment: "ci", host: "h.example" });
    expect(parseDotenvKeyList(`${a}, ${b}`).map((k) => Buffer.from(k.key32).toString("hex"))).toEqual([
      "11".repeat(32),
      KNOWN.key,
    ]);
  });
});

describe("buildEnvVault", () => {
  const vault = (version: number, key32: Uint8Array, plaintext = "A=1\n") =>
    buildEnvVault({
      projectId: PROJECT,
      apiUrl: "https://vault.example",
      environments: [
        { name: "development", version, plaintext, key32 },
        { name: "production", version: 3, plaintext: "P='x y'\n", key32: hex(KNOWN.key) },
      ],
      random: () => new Uint8Array(12),
    });

  it("lays the file out as the hosted service does", () => {
    const text = vault(6, KEY_A);
    const lines = text.split("\n");
    expect(text.startsWith(`${ENV_VAULT_HEADER}\n\n# development\nDOTENV_VAULT_DEVELOPMENT="`)).toBe(true);
    expect(lines).toContain("DOTENV_VAULT_DEVELOPMENT_VERSION=6");
    expect(lines).toContain("# production");
    expect(
      text.endsWith(
        `\n\n#/----------------settings/metadata-----------------/\nDOTENV_VAULT="${PROJECT}"\nDOTENV_API_URL="https://vault.example"\nDOTENV_CLI="npx dotenv-vault@1.27.0"\n`,
      ),
    ).toBe(true);
  });

  it("starts each plaintext with the environment and version comment", () => {
    const parsed = parse(vault(6, KEY_A));
    expect(decryptVaultValue(parsed.DOTENV_VAULT_DEVELOPMENT!, KEY_A)).toBe("# development@v6\nA=1\n");
  });

  it("opens with each environment's own key, trying a key list in order", () => {
    const oldKey = formatDotenvKey({ key32: KEY_A, environment: "development", host: "h.example" });
    const newKey = formatDotenvKey({
      key32: hex(KNOWN.wrongKey),
      environment: "development",
      host: "h.example",
    });
    const oldFile = vault(6, KEY_A, "A=old\n");
    const newFile = vault(7, hex(KNOWN.wrongKey), "A=new\n");
    expect(openEnvVault(oldFile, `${oldKey},${newKey}`)).toEqual({ A: "old" });
    expect(openEnvVault(newFile, `${oldKey},${newKey}`)).toEqual({ A: "new" });
    expect(() => openEnvVault(oldFile, newKey)).toThrow(
      expect.objectContaining({ code: "DECRYPTION_FAILED" }),
    );
    const missing = formatDotenvKey({ key32: KEY_A, environment: "staging", host: "h.example" });
    expect(() => openEnvVault(oldFile, missing)).toThrow(
      expect.objectContaining({ code: "NOT_FOUND_DOTENV_ENVIRONMENT" }),
    );
  });

  it("gives the project link settings back", () => {
    expect(readEnvVaultSettings(vault(1, KEY_A))).toEqual({
      DOTENV_VAULT: PROJECT,
      DOTENV_API_URL: "https://vault.example",
      DOTENV_CLI: "npx dotenv-vault@1.27.0",
    });
  });

  it("refuses settings that would not read back", () => {
    expect(() => buildEnvVault({ projectId: PROJECT, apiUrl: 'https://x"', environments: [] })).toThrow(
      expect.objectContaining({ code: "UNREPRESENTABLE" }),
    );
    expect(() => buildEnvVault({ projectId: "vlt_1", apiUrl: "https://x", environments: [] })).toThrow(
      expect.objectContaining({ code: "INVALID_PROJECT" }),
    );
  });
});
