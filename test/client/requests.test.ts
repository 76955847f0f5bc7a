/**
 * The CLI's approvals in process against the real application over HTTP:
 * `vault envs protect|unprotect`, what a held push, set, unset and rollback
 * print (and that they exit 0 and leave the checkout's base alone),
 * `vault requests list|show|approve|reject|withdraw|rebase`, and the exit
 * codes of a self-approval and of a stale request.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT } from "../../src/exit-codes";
import { type CliHarness, startCliHarness } from "./cli-harness";

let c: CliHarness;
let owner: { token: string; id: string; email: string };
let second: { token: string; id: string; email: string };
let ownerConfig: string;
let secondConfig: string;
let checkout: string;

beforeAll(async () => {
  c = await startCliHarness();
  owner = await c.h.user("owner@example.com", "owner");
  second = await c.h.user("second@example.com");
  ownerConfig = c.signedIn(owner);
  secondConfig = c.signedIn(second);
  checkout = c.dir("app");
  await c.ok(["new", "shop"], { config: ownerConfig, cwd: checkout });
  expect(readFileSync(join(checkout, ".env.vault"), "utf8")).toContain("DOTENV_VAULT=");
  await c.ok(["members", "add", second.email, "production=write"], { config: ownerConfig, cwd: checkout });
  writeFileSync(join(checkout, ".env.production"), "A=1\nB=2\n");
  await c.ok(["push", "production"], { config: ownerConfig, cwd: checkout });
});

const asOwner = (args: string[]) => c.cli(args, { config: ownerConfig, cwd: checkout });
const asSecond = (args: string[]) => c.cli(args, { config: secondConfig, cwd: checkout });

describe("vault envs protect and vault requests", () => {
  it("protects an environment, shows it in vault envs, and holds a push as a change request (exit 0)", async () => {
    const protect = await asOwner(["envs", "protect", "production"]);
    expect(protect.code).toBe(0);
    expect(protect.stdout).toContain("protected production");
    expect((await asOwner(["envs"])).stdout).toContain("protected: approved by members with write");
    writeFileSync(join(checkout, ".env.production"), "A=1\nB=sekrit-b\nC=3\n");
    const pushed = await asOwner(["push", "production"]);
    expect(pushed.code).toBe(EXIT.ok);
    expect(pushed.stderr).toBe(
      "vault: change request #1 opened for production; an approver must approve it: vault requests show 1\n",
    );
    expect(pushed.stdout).toBe("");
    const list = await asSecond(["requests", "list"]);
    expect(list.stdout).toMatch(/1\s+production\s+open\s+owner@example.com\s+1\s+.*\+C ~B/);
    const show = await asSecond(["requests", "show", "1"]);
    expect(show.stdout).toContain("~ B = ••••••");
    expect(show.stdout).not.toContain("sekrit");
    expect(show.stderr).toContain("vault requests approve 1");
    const revealed = await asSecond(["requests", "show", "1", "--reveal"]);
    expect(revealed.stdout).toContain('~ B: "2" -> "sekrit-b"');
    expect(revealed.stdout).toContain('+ C = "3"');
  });

  it("refuses self-approval with exit 3 and applies a second user's approval", async () => {
    const self = await asOwner(["requests", "approve", "1"]);
    expect(self.code).toBe(EXIT.auth);
    expect(self.stderr).toContain("vault: error: you opened change request #1: someone else must approve it");
    const approved = await asSecond(["requests", "approve", "1"]);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toBe("approved change request #1: production is now version 2\n");
    const versions = await asOwner(["versions", "production"]);
    expect(versions.stdout).toMatch(/2\s+\S+\s+owner@example.com\s+push/);
  });

  it("holds set, unset and rollback; a stale request exits 5 with the rebase hint, and rebases", async () => {
    const set = await asSecond(["set", "--env", "production", "A=100"]);
    expect(set.code).toBe(0);
    expect(set.stderr).toContain("change request #2 opened for production");
    const unset = await asSecond(["unset", "--env", "production", "C"]);
    expect(unset.stderr).toContain("change request #3 opened for production");
    const rollback = await asSecond(["rollback", "production@1"]);
    expect(rollback.stderr).toContain("change request #4 opened for production");
    expect((await asOwner(["requests", "approve", "3"])).code).toBe(0);
    const stale = await asOwner(["requests", "approve", "2"]);
    expect(stale.code).toBe(EXIT.conflict);
    expect(stale.stderr).toContain(
      "vault: hint: rebase it on the latest version, then approve: vault requests rebase 2",
    );
    expect((await asOwner(["requests", "show", "2"])).stderr).toContain("vault requests rebase 2");
    const rebased = await asSecond(["requests", "rebase", "2"]);
    expect(rebased.stdout).toContain("rebased change request #2 on version 3 of production");
    expect((await asOwner(["requests", "approve", "2"])).stdout).toContain("production is now version 4");
    expect((await asSecond(["requests", "withdraw", "4"])).stdout).toBe("withdrew change request #4\n");
    const all = await asOwner(["requests", "list", "--all", "--json"]);
    expect(JSON.parse(all.stdout).map((r: { number: number; state: string }) => [r.number, r.state])).toEqual(
      [
        [4, "withdrawn"],
        [3, "applied"],
        [2, "applied"],
        [1, "applied"],
      ],
    );
    expect((await asOwner(["requests", "list"])).stdout).toBe("no open change requests\n");
  });

  it("rejects with a reason, and unprotects", async () => {
    await asSecond(["set", "--env", "production", "Z=1"]);
    expect((await asOwner(["requests", "reject", "5", "--reason", "not now"])).stdout).toBe(
      "rejected change request #5\n",
    );
    expect((await asSecond(["requests", "show", "5"])).stdout).toContain("reason: not now");
    const off = await asOwner(["envs", "unprotect", "production"]);
    expect(off.stdout).toBe("production is no longer protected: changes make versions directly again\n");
    const set = await asSecond(["set", "--env", "production", "Z=1"]);
    expect(set.stdout).toContain("version 5");
    expect((await asOwner(["requests", "show", "x"])).code).toBe(EXIT.usage);
  });
});
