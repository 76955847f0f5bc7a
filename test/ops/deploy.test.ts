/**
 * The deployment files say what the README promises: a non-root image with
 * state in /data, an exec-allowed TMPDIR and a health check that needs no
 * curl; a hardened systemd unit. (scripts/docker-smoke runs the image.)
 */
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli";

const root = join(import.meta.dir, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

function directives(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

describe("Dockerfile", () => {
  const file = read("Dockerfile");
  it("runs the binary on Debian bookworm slim as a non-root user, with state in /data", () => {
    expect(file).toMatch(/^FROM debian:bookworm-slim$/m);
    expect(file).toMatch(/^USER vault$/m);
    expect(file).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(file).toMatch(/VAULT_DATA_DIR=\/data/);
    expect(file).toMatch(/^EXPOSE 8750$/m);
  });

  it("sets a writable TMPDIR owned by the user and checks health with vault itself", () => {
    expect(file).toMatch(/TMPDIR=\/var\/lib\/vault\/tmp/);
    expect(file).toMatch(/chown vault:vault \/data \/var\/lib\/vault\/tmp/);
    expect(file).toMatch(/^HEALTHCHECK .*CMD \["vault", "healthcheck"\]$/m);
    expect(COMMANDS.some((c) => c.name === "healthcheck")).toBe(true);
  });

  it("builds from the compiled binary alone", () => {
    expect(
      read(".dockerignore")
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("#")),
    ).toEqual(["*", "!dist/vault"]);
  });

  it("has a compose file with TLS and an exec-allowed tmpfs", () => {
    const compose = read("docker-compose.yml");
    expect(compose).toContain("VAULT_TLS_CERT:");
    expect(compose).toMatch(/\/var\/lib\/vault\/tmp:exec/);
  });

  it("turns core files off in compose and in the documented docker run", () => {
    expect(read("docker-compose.yml")).toMatch(/^ {4}ulimits:\n {6}core: 0$/m);
    expect(file).toContain("--ulimit core=0");
  });
});

describe("deploy/vault.service", () => {
  const unit = directives(read("deploy/vault.service"));
  const one = (key: string) => unit.get(key)?.at(-1);
  it("runs as a dedicated user with the hardening the README lists", () => {
    expect(one("User")).toBe("vault");
    expect(one("NoNewPrivileges")).toBe("true");
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("PrivateTmp")).toBe("true");
    expect(one("CapabilityBoundingSet")).toBe("");
  });

  it("may write its data directory only, and extracts the addon into an exec-allowed TMPDIR", () => {
    const env = unit.get("Environment") ?? [];
    expect(env).toContain("VAULT_DATA_DIR=/var/lib/vault");
    expect(one("ReadWritePaths")).toBe("/var/lib/vault");
    expect(env).toContain("TMPDIR=/tmp");
    expect(unit.has("NoExecPaths")).toBe(false);
    expect(unit.has("MemoryDenyWriteExecute")).toBe(false);
  });

  it("writes no core file (LimitCORE=0)", () => {
    expect(one("LimitCORE")).toBe("0");
  });

  it("reloads the certificate with SIGHUP", () => {
    expect(one("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
  });
});
