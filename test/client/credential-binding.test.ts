/**
 * A committed `.env.vault` cannot send the CLI's credential to its own
 * server: a second (attacker) server on loopback, named only by
 * DOTENV_API_URL, receives no VAULT_TOKEN, DOTENV_ME or `.env.me` credential
 * unless the config directory binds that credential to it. A server the
 * user chose (--server, VAULT_SERVER) gets it as before: the CI recipe.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApiClient } from "../../src/client";
import { type CliHarness, startCliHarness } from "./cli-harness";

interface Seen {
  method: string;
  path: string;
  authorization: string | null;
  body: string;
}

let c: CliHarness;
let owner: { token: string; id: string; email: string };
let ownerConfig: string;
let projectId: string;
let serviceToken: string;
let meToken: string;
const seen: Seen[] = [];
let attacker: ReturnType<typeof Bun.serve>;
let attackerUrl: string;

/** A checkout whose committed .env.vault points at `url`. */
function checkout(url: string, me?: string): string {
  const dir = c.dir("checkout");
  writeFileSync(
    join(dir, ".env.vault"),
    `DOTENV_VAULT="${projectId}"\nDOTENV_API_URL="${url}"\nDOTENV_CLI="npx dotenv-vault@1.27.0"\n`,
  );
  if (me) writeFileSync(join(dir, ".env.me"), `DOTENV_ME="${me}"\n`);
  return dir;
}

/** What the attacker was sent that holds any of the credentials. */
const leaked = () =>
  seen.filter((s) =>
    [serviceToken, meToken, owner.token].some((t) =>
      `${s.authorization ?? ""} ${s.path} ${s.body}`.includes(t),
    ),
  );

beforeAll(async () => {
  c = await startCliHarness();
  owner = await c.h.user("owner@example.com", "owner");
  ownerConfig = c.signedIn(owner);
  const api = createApiClient({ baseUrl: c.url, token: owner.token });
  projectId = (await api.projects.create("shop")).id;
  await api.secrets.push(projectId, "ci", { dotenv: "CI_VALUE=1\n" });
  await api.secrets.push(projectId, "development", { dotenv: "DEV_VALUE=1\n" });
  // Made through the API, not the CLI: no config directory knows where they belong.
  serviceToken = (await api.tokens.create(projectId, { name: "ci", environments: ["ci", "development"] }))
    .token;
  meToken = (await api.tokens.createMe(projectId)).token;
  attacker = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname + new URL(request.url).search,
        authorization: request.headers.get("authorization"),
        body: await request.text(),
      });
      return Response.json({ error: { code: "UNAUTHENTICATED", message: "who are you?" } }, { status: 401 });
    },
  });
  attackerUrl = `http://127.0.0.1:${attacker.port}`;
});

afterAll(() => attacker?.stop(true));

describe("a credential and a server named only by .env.vault", () => {
  const sources = () =>
    [
      ["VAULT_TOKEN", { env: { VAULT_TOKEN: serviceToken } }, "the service token in VAULT_TOKEN"],
      ["DOTENV_ME", { env: { DOTENV_ME: meToken } }, "the me_ credential in DOTENV_ME"],
      [".env.me", { me: meToken }, "the me_ credential in .env.me"],
    ] as const;

  it("an attacker's server on loopback receives no VAULT_TOKEN, DOTENV_ME or .env.me credential, and the CLI says how to trust a server", async () => {
    for (const [name, how, label] of sources()) {
      const cwd = checkout(attackerUrl, "me" in how ? how.me : undefined);
      const config = join(c.dir("fresh"), "vault");
      const env = "env" in how ? how.env : {};
      for (const args of [
        ["pull"],
        ["pull", "ci", "-"],
        ["run", "--env", "ci", "--", "true"],
        ["whoami"],
        ["projects"],
        ["versions"],
        ["export"],
        ["build"],
        ["tokens", "list"],
        ["audit"],
      ]) {
        const r = await c.cli(args, { cwd, config, env });
        expect(r.code, `${name}: vault ${args.join(" ")}\n${r.stderr}`).toBe(3);
        expect(r.stderr).toStartWith(
          `vault: error: refusing to send ${label} to ${attackerUrl}: only DOTENV_API_URL in ${cwd}/.env.vault names that server`,
        );
        expect(r.stderr).toContain(
          `vault: hint: if ${attackerUrl} is the server it is for: vault trust ${attackerUrl}`,
        );
        expect(r.stderr).toContain("VAULT_SERVER=URL");
      }
      writeFileSync(join(cwd, ".env"), "A=1\n");
      expect((await c.cli(["push", "--force"], { cwd, config, env })).code).toBe(3);
    }
    expect(seen).toEqual([]);
  });

  it("VAULT_SERVER or --server (the CI recipe) sends VAULT_TOKEN to the server named, whatever .env.vault says", async () => {
    const cwd = checkout(attackerUrl);
    const config = join(c.dir("ci-home"), "vault");
    const ci = { VAULT_TOKEN: serviceToken, VAULT_SERVER: c.url };
    expect(await c.ok(["pull", "ci", "-"], { cwd, config, env: ci })).toBe("CI_VALUE=1\n");
    expect(await c.ok(["run", "--env", "ci", "--", "true"], { cwd, config, env: ci })).toBe("");
    expect(
      await c.ok(["pull", "ci", "-", "--server", c.url], { cwd, config, env: { VAULT_TOKEN: serviceToken } }),
    ).toBe("CI_VALUE=1\n");
    // DOTENV_ME and .env.me too.
    expect(
      await c.ok(["pull", "-"], {
        cwd: checkout(attackerUrl, meToken),
        config,
        env: { VAULT_SERVER: c.url },
      }),
    ).toBe("DEV_VALUE=1\n");
    // Nothing was written that names the credential.
    expect(existsSync(join(config, "trust.json"))).toBe(false);
    expect(seen).toEqual([]);
  });

  it("vault trust binds the credential to the linked server, once; trust.json holds no credential", async () => {
    const config = join(c.dir("dev-home"), "vault");
    const cwd = checkout(c.url, meToken);
    expect((await c.cli(["pull", "-"], { cwd, config })).code).toBe(3);
    expect(await c.ok(["trust"], { cwd, config })).toBe(
      `the me_ credential in .env.me may now be sent to ${c.url}\n`,
    );
    expect(await c.ok(["pull", "-"], { cwd, config })).toBe("DEV_VALUE=1\n");
    expect(await c.ok(["whoami"], { cwd, config })).toContain("(from .env.me)");
    const file = readFileSync(join(config, "trust.json"), "utf8");
    expect(file).not.toContain(meToken);
    expect(file).not.toContain(meToken.slice(3));
    // Bound to that server, not to every server: a checkout pointing elsewhere is still refused.
    const elsewhere = checkout(attackerUrl, meToken);
    expect((await c.cli(["pull"], { cwd: elsewhere, config })).code).toBe(3);
    // --forget undoes it.
    expect(await c.ok(["trust", "--forget"], { cwd, config })).toBe(
      `the me_ credential in .env.me is no longer bound to ${c.url}\n`,
    );
    expect((await c.cli(["pull", "-"], { cwd, config })).code).toBe(3);
    expect(leaked()).toEqual([]);
  });

  it("the attacker's server does receive the credential once the user trusts it (the detector works)", async () => {
    const cwd = checkout(attackerUrl);
    const config = join(c.dir("gullible"), "vault");
    const env = { VAULT_TOKEN: serviceToken };
    await c.ok(["trust", attackerUrl], { cwd, config, env });
    expect((await c.cli(["whoami"], { cwd, config, env })).code).toBe(3);
    expect(leaked().length).toBeGreaterThan(0);
    seen.length = 0;
  });

  it("vault tokens create binds the token it prints to the server that made it", async () => {
    const cwd = checkout(c.url);
    const token = (
      await c.ok(["tokens", "create", "deploy", "--env", "ci"], { cwd, config: ownerConfig })
    ).trim();
    expect(token).toMatch(/^vst_[0-9a-f]{64}$/);
    expect(await c.ok(["pull", "ci", "-"], { cwd, config: ownerConfig, env: { VAULT_TOKEN: token } })).toBe(
      "CI_VALUE=1\n",
    );
    // Another machine (another config directory) has no such binding.
    const other = join(c.dir("other-machine"), "vault");
    expect((await c.cli(["pull", "ci", "-"], { cwd, config: other, env: { VAULT_TOKEN: token } })).code).toBe(
      3,
    );
  });

  it("a session is sent only to the server that issued it, whatever .env.vault says", async () => {
    const r = await c.cli(["pull"], { cwd: checkout(attackerUrl), config: ownerConfig });
    expect(r.code).toBe(3);
    expect(r.stderr).toStartWith(`vault: error: not signed in to ${attackerUrl}\n`);
    expect(seen).toEqual([]);
  });

  it("refuses a VAULT_TOKEN, DOTENV_ME or .env.me that is not a credential before anything is sent", async () => {
    const config = join(c.dir("typo"), "vault");
    const truncated = serviceToken.slice(0, -1);
    const r = await c.cli(["pull"], {
      cwd: checkout(attackerUrl),
      config,
      env: { VAULT_TOKEN: truncated, VAULT_SERVER: attackerUrl },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      "vault: error: VAULT_TOKEN does not hold a vault credential\nvault: hint: a service token is vst_ and 64 hex characters, as vault tokens create prints it\n",
    );
    const me = await c.cli(["whoami"], { cwd: checkout(c.url, "me_nope"), config });
    expect(me.code).toBe(3);
    expect(me.stderr).toStartWith("vault: error: .env.me does not hold a vault credential\n");
    expect(seen).toEqual([]);
  });
});
