import { describe, expect, it } from "bun:test";
import { parseArgs } from "../src/cli-kit";
import { ConfigError, configFlagKind, loadConfig, parseDuration, parseEndpoint } from "../src/config";

const load = (flags: Record<string, string | boolean> = {}, env: Record<string, string> = {}) =>
  loadConfig(flags, env, "/srv");

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("defaults to a loopback listener and ./vault-data resolved against the working directory", () => {
    const config = load();
    expect(config.listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 8750 });
    expect(config.dataDir).toBe("/srv/vault-data");
    expect(config.rootKeyFile).toBe("/srv/vault-data/keeper/root.key");
    expect(config.appKeyFile).toBe("/srv/vault-data/app/app.key");
    expect(config.keeper).toEqual({ kind: "unix", path: "/srv/vault-data/keeper/keeper.sock" });
    expect(config.rotateMinMs).toBe(7 * 86_400_000);
    expect(config.rotateMaxMs).toBe(30 * 86_400_000);
    expect(config.tlsMin).toBe("1.2");
  });

  it("is frozen", () => {
    const config = load();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("takes VAULT_* variables, and flags win over them", () => {
    expect(load({}, { VAULT_DATA_DIR: "/d" }).dataDir).toBe("/d");
    expect(load({ data: "/f" }, { VAULT_DATA_DIR: "/d" }).dataDir).toBe("/f");
    expect(load({}, { VAULT_LISTEN: "127.0.0.2:9000" }).listen).toEqual({
      kind: "tcp",
      host: "127.0.0.2",
      port: 9000,
    });
  });

  it("says exactly what is wrong with a listener that is not HOST:PORT", () => {
    expect(errorOf(() => load({ listen: "abc" })).message).toBe('--listen: "abc" is not HOST:PORT');
    expect(errorOf(() => load({}, { VAULT_LISTEN: "1.2.3.4:99999" })).message).toContain("is not HOST:PORT");
  });

  it("refuses plain HTTP on a non-loopback address unless behind a proxy", () => {
    const error = errorOf(() => load({ listen: "0.0.0.0:8750" }));
    expect(error.message).toContain("not a loopback address");
    expect(error.hint).toContain("--tls-cert");
    expect(load({ listen: "0.0.0.0:8750", "behind-proxy": true }).behindProxy).toBe(true);
    expect(load({ listen: "0.0.0.0:8750", "tls-cert": "c.pem", "tls-key": "k.pem" }).tlsCertFile).toBe(
      "/srv/c.pem",
    );
  });

  it("accepts unix:PATH for the public listener", () => {
    expect(load({ listen: "unix:/run/vault.sock" }).listen).toEqual({
      kind: "unix",
      path: "/run/vault.sock",
    });
  });

  it("never accepts TLS 1.0 or 1.1 as the floor", () => {
    expect(errorOf(() => load({ "tls-min": "1.1" })).message).toContain("never accepted");
    expect(errorOf(() => load({ "tls-min": "1.0" })).message).toContain("never accepted");
    expect(load({ "tls-min": "1.3" }).tlsMin).toBe("1.3");
  });

  it("wants both TLS files or neither", () => {
    expect(errorOf(() => load({ "tls-cert": "c.pem" })).message).toContain("go together");
  });

  it("parses durations with units and refuses a window that ends before it starts", () => {
    expect(parseDuration("x", "500ms")).toBe(500);
    expect(parseDuration("x", "12h")).toBe(12 * 3_600_000);
    expect(errorOf(() => parseDuration("rotate-min", "7 days")).message).toBe(
      '--rotate-min: "7 days" is not a duration',
    );
    expect(errorOf(() => load({ "rotate-min": "30d", "rotate-max": "7d" })).message).toContain("later than");
  });

  it("requires mutual TLS material for a keeper on TCP", () => {
    const error = errorOf(() => load({ role: "keeper", "keeper-listen": "127.0.0.1:9443" }));
    expect(error.message).toContain("mutual TLS");
    const ok = load({
      role: "app",
      keeper: "https://keeper.internal:9443",
      "keeper-tls-cert": "a",
      "keeper-tls-key": "b",
      "keeper-tls-ca": "c",
    });
    expect(ok.keeper).toEqual({ kind: "https", host: "keeper.internal", port: 9443 });
  });

  it("keeps remote database URLs as they are and resolves file paths", () => {
    expect(load({ "app-db": "libsql://db.example.com" }).appDb).toBe("libsql://db.example.com");
    expect(load({ "vault-db": "data/v.db" }).vaultDb).toBe("/srv/data/v.db");
    expect(errorOf(() => load({ "app-db": "postgres://x" })).message).toContain("libsql://");
  });

  it("keeps read versions in memory for 60 s unless told otherwise, and not at all with 0", () => {
    expect(load().cacheTtlMs).toBe(60_000);
    expect(load({ "cache-ttl": "0" }).cacheTtlMs).toBe(0);
    expect(load({ "cache-ttl": "0s" }).cacheTtlMs).toBe(0);
    expect(load({}, { VAULT_CACHE_TTL: "5m" }).cacheTtlMs).toBe(300_000);
    expect(load({ "rate-limit-address": "0" }).rateLimitAddress).toBe(0);
  });

  it("parses IPv6 loopback endpoints", () => {
    expect(parseEndpoint("listen", "[::1]:8750")).toEqual({ kind: "tcp", host: "::1", port: 8750 });
  });

  it("trusts X-Forwarded-For from loopback only, by default, behind a proxy", () => {
    const config = load({ listen: "0.0.0.0:8750", "behind-proxy": true });
    expect(config.trustedProxies.map((r) => r.text)).toEqual(["127.0.0.0/8", "::1"]);
    expect(load().trustedProxies).toEqual([]);
  });

  it("takes --trusted-proxy as IPv4 and IPv6 addresses and CIDR ranges, comma- or space-separated", () => {
    const flags = { listen: "0.0.0.0:8750", "behind-proxy": true };
    const texts = (c: ReturnType<typeof load>) => c.trustedProxies.map((r) => r.text);
    expect(texts(load({ ...flags, "trusted-proxy": "10.0.0.0/8,192.168.1.5, fd00::/8" }))).toEqual([
      "10.0.0.0/8",
      "192.168.1.5",
      "fd00::/8",
    ]);
    expect(texts(load(flags, { VAULT_TRUSTED_PROXY: "172.16.0.0/12 2001:db8::/32" }))).toEqual([
      "172.16.0.0/12",
      "2001:db8::/32",
    ]);
  });

  it("keeps webhooks to https and public addresses unless --webhooks-allow-http and --webhooks-allow-private say otherwise", () => {
    const plain = load();
    expect(plain.webhooksAllowHttp).toBe(false);
    expect(plain.webhooksAllowPrivate).toEqual([]);
    expect(plain.webhooksRetryBaseMs).toBe(10_000);
    expect(plain.webhooksTimeoutMs).toBe(10_000);
    const open = load(
      { "webhooks-allow-http": true, "webhooks-retry-base": "100ms" },
      { VAULT_WEBHOOKS_ALLOW_PRIVATE: "10.1.0.0/16, fd00::/8" },
    );
    expect(open.webhooksAllowHttp).toBe(true);
    expect(open.webhooksAllowPrivate.map((r) => r.text)).toEqual(["10.1.0.0/16", "fd00::/8"]);
    expect(open.webhooksRetryBaseMs).toBe(100);
    const bad = errorOf(() => load({ "webhooks-allow-private": "10.1.2.3/8" }));
    expect(bad.message).toContain("--webhooks-allow-private");
    expect(bad.hint).toContain("network address");
  });

  it("refuses a --trusted-proxy that is not an address or a range, with what is wrong and a hint", () => {
    const flags = { listen: "0.0.0.0:8750", "behind-proxy": true };
    const bad = errorOf(() => load({ ...flags, "trusted-proxy": "10.0.0.0/8,proxy.internal" }));
    expect(bad.message).toBe('--trusted-proxy: "proxy.internal" is not an IP address or a CIDR range');
    expect(bad.hint).toContain("10.0.0.0/8");
    expect(errorOf(() => load({ ...flags, "trusted-proxy": "10.0.0.0/33" })).message).toContain("0 to 32");
    expect(errorOf(() => load({ ...flags, "trusted-proxy": "fd00::/129" })).message).toContain("0 to 128");
    const hostBits = errorOf(() => load({ ...flags, "trusted-proxy": "10.1.2.3/8" }));
    expect(hostBits.message).toContain("bits set after its /8 prefix");
    expect(hostBits.hint).toContain("10.0.0.0/8");
    expect(errorOf(() => load({ ...flags, "trusted-proxy": " , " })).message).toContain("names no address");
  });

  it("refuses --trusted-proxy without --behind-proxy", () => {
    const error = errorOf(() => load({ "trusted-proxy": "10.0.0.0/8" }));
    expect(error.message).toContain("--trusted-proxy is for a server behind a proxy");
    expect(error.hint).toContain("--behind-proxy");
  });

  it("joins a repeated --trusted-proxy instead of keeping only the last one", () => {
    expect(configFlagKind("trusted-proxy")).toEqual({ boolean: false, repeatable: true });
    const parsed = parseArgs(
      ["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy=fd00::/8"],
      { "trusted-proxy": { type: "string", help: "", repeatable: true } },
      "serve",
    );
    expect(parsed.flags["trusted-proxy"]).toBe("10.0.0.0/8,fd00::/8");
  });
});
