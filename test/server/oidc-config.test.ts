/**
 * The single sign-on settings: `--oidc-*` and `--password-login`, validated once at start with
 * an error that says what to change; the client secret only from a file.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config";

const dir = mkdtempSync(join(tmpdir(), "vault-oidc-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = join(dir, "secret");
writeFileSync(secret, "s3cret\n");

const BASE = {
  "oidc-issuer": "https://idp.example.com/realms/acme",
  "oidc-client-id": "vault",
  "oidc-client-secret-file": secret,
};
const load = (flags: Record<string, string | boolean> = {}, env: Record<string, string> = {}) =>
  loadConfig(flags, env, dir);

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("single sign-on configuration", () => {
  it("is off unless an issuer is given; password sign-in is on by default", () => {
    const config = load();
    expect(config.oidc).toBeUndefined();
    expect(config.passwordLogin).toBe(true);
  });

  it("takes flags or VAULT_OIDC_* variables, with defaults, and derives the redirect URL from --public-url", () => {
    const config = load({ ...BASE, "public-url": "https://vault.example.com/" });
    expect(config.oidc).toEqual({
      issuer: "https://idp.example.com/realms/acme",
      clientId: "vault",
      clientSecretFile: secret,
      scopes: ["openid", "email", "profile"],
      name: "SSO",
      allowedDomains: [],
      roleClaim: undefined,
      adminValues: [],
      jit: false,
      redirectUrl: "https://vault.example.com/signin/oidc/callback",
    });
    const fromEnv = load(
      {},
      {
        VAULT_OIDC_ISSUER: "https://accounts.google.com",
        VAULT_OIDC_CLIENT_ID: "id.apps.googleusercontent.com",
        VAULT_OIDC_CLIENT_SECRET_FILE: secret,
        VAULT_OIDC_SCOPES: "openid,email",
        VAULT_OIDC_NAME: "Google",
        VAULT_OIDC_ALLOWED_DOMAINS: "Example.com, example.org",
        VAULT_OIDC_ROLE_CLAIM: "groups",
        VAULT_OIDC_ADMIN_VALUES: "vault-admins, ops",
        VAULT_OIDC_JIT: "on",
        VAULT_PASSWORD_LOGIN: "off",
      },
    );
    expect(fromEnv.oidc).toMatchObject({
      scopes: ["openid", "email"],
      name: "Google",
      allowedDomains: ["example.com", "example.org"],
      roleClaim: "groups",
      adminValues: ["vault-admins", "ops"],
      jit: true,
      redirectUrl: "http://127.0.0.1:8750/signin/oidc/callback",
    });
    expect(fromEnv.passwordLogin).toBe(false);
    expect(Object.isFrozen(fromEnv.oidc)).toBe(true);
  });

  it("never holds the client secret itself", () => {
    expect(JSON.stringify(load(BASE))).not.toContain("s3cret");
  });

  it("refuses what would not work, saying what to change", () => {
    const cases: [Record<string, string>, string][] = [
      [{ "oidc-client-id": "vault" }, "--oidc-client-id needs --oidc-issuer"],
      [{ ...BASE, "oidc-issuer": "http://idp.example.com" }, "is not an https:// URL"],
      [{ ...BASE, "oidc-issuer": "idp.example.com" }, "is not a URL"],
      [{ ...BASE, "oidc-issuer": "https://idp.example.com/?x=1" }, "has a query, fragment or credentials"],
      [{ "oidc-issuer": BASE["oidc-issuer"], "oidc-client-secret-file": secret }, "needs --oidc-client-id"],
      [{ "oidc-issuer": BASE["oidc-issuer"], "oidc-client-id": "v" }, "needs --oidc-client-secret-file"],
      [{ ...BASE, "oidc-client-secret-file": join(dir, "missing") }, "cannot read"],
      [{ ...BASE, "oidc-scopes": "email profile" }, "must include openid"],
      [{ ...BASE, "oidc-jit": "on" }, "--oidc-jit on needs --oidc-allowed-domains"],
      [{ ...BASE, "oidc-jit": "maybe" }, "is not true or false"],
      [{ ...BASE, "oidc-allowed-domains": "exa mple..com" }, "is not a domain"],
      [{ ...BASE, "oidc-allowed-domains": " , " }, "names no domain"],
      [{ ...BASE, "oidc-role-claim": "groups" }, "--oidc-role-claim and --oidc-admin-values go together"],
      [{ ...BASE, "oidc-admin-values": "admins" }, "go together"],
      [{ ...BASE, "oidc-name": "" }, "give 1 to 60 printable characters"],
      [{ "password-login": "off" }, "--password-login off needs single sign-on"],
    ];
    for (const [flags, words] of cases) {
      const error = errorOf(() => load(flags));
      expect({ flags, message: error.message.includes(words) }).toEqual({ flags, message: true });
    }
  });

  it("allows plain http only for an issuer on loopback (tests, a provider on the same host)", () => {
    expect(load({ ...BASE, "oidc-issuer": "http://127.0.0.1:9000" }).oidc?.issuer).toBe(
      "http://127.0.0.1:9000",
    );
    expect(load({ ...BASE, "oidc-issuer": "http://localhost:9000" }).oidc?.issuer).toBe(
      "http://localhost:9000",
    );
  });

  it("refuses an empty secret file or one of several lines, and accepts * for any domain with JIT", () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n");
    expect(errorOf(() => load({ ...BASE, "oidc-client-secret-file": empty })).message).toContain("is empty");
    const two = join(dir, "two");
    writeFileSync(two, "a\nb\n");
    expect(errorOf(() => load({ ...BASE, "oidc-client-secret-file": two })).message).toContain(
      "more than one line",
    );
    expect(load({ ...BASE, "oidc-jit": "on", "oidc-allowed-domains": "*" }).oidc).toMatchObject({
      jit: true,
      allowedDomains: [],
    });
  });
});
