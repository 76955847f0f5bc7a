/**
 * `vault tui` from the compiled binary, in tmux at 80x24: a server started
 * from the binary, an owner made by `vault admin user add`, signed in with
 * `vault login`; the TUI opens the linked project, edits a value, saves, and
 * `vault pull` shows the new version holding it. No captured pane ever shows
 * a value that was not revealed, and quitting leaves nothing on the screen.
 * Keys go as a user sends them, several in one go too (`send-keys -l jjjj`:
 * key repeat, fast typing over SSH): each one acts.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv } from "../helpers/binary";
import { startServe, stopAllServers } from "../helpers/serve";
import { sh, startTmux, type Tmux } from "../tui/tmux";
import { type Cli, startCli } from "./cli-fixture";

const OLD_VALUE = "e2e-hidden-9c41f";
const NEW_VALUE = "typed-secret-77ab";
const OTHER_VALUE = "postgres://never-shown-5d";

let cli: Cli;
let config: string;
let checkout: string;
let tmux: Tmux | undefined;

beforeAll(async () => {
  cli = await startCli();
  cli.addUser("owner@example.com", "owner");
  config = cli.login("owner@example.com");
  checkout = cli.dir("shop");
  cli.ok(["new", "shop"], { cwd: checkout, config });
  writeFileSync(join(checkout, ".env"), `# the app\nDB_URL=${OTHER_VALUE}\nAPI_KEY=${OLD_VALUE}\n`);
  cli.ok(["push", "development", ".env"], { cwd: checkout, config });
  writeFileSync(join(checkout, ".env.staging"), "K1=a\nK2=b\nK3=c\nK4=d\nK5=e\nK6=f\n");
  cli.ok(["push", "staging", ".env.staging"], { cwd: checkout, config });
}, 60_000);

/** `vault tui` in a fresh 80x24 tmux, in the linked checkout, signed in as the owner. */
function startTui(name: string, extra: Record<string, string> = {}): Tmux {
  const env = cleanEnv(checkout, { VAULT_CONFIG_DIR: config, TERM: "xterm-256color", ...extra });
  const assignments = Object.entries(env)
    .map(([k, v]) => `${k}=${sh(v)}`)
    .join(" ");
  return startTmux({
    name,
    columns: 80,
    rows: 24,
    command: `cd ${sh(checkout)} && env -i ${assignments} ${sh(cli.vault.bin)} tui; echo "EXITED $?"; sleep 60`,
  });
}

afterAll(async () => {
  tmux?.kill();
  await stopAllServers();
  cli?.vault.remove();
});

describe("vault tui (the compiled binary in tmux)", () => {
  it("refuses to start without a terminal, with an error and a hint", () => {
    const r = cli.run(["tui"], { cwd: checkout, config });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("vault: error: vault tui needs a terminal");
    expect(r.stderr).toContain("vault: hint:");
  });

  it("edits a value and saves it as a new version, never showing an unrevealed value", async () => {
    tmux = startTui("vault-tui-e2e");
    // the linked project opens on its environments
    await tmux.until("development *");
    const envs = await tmux.until("projects › shop");
    expect(envs).toMatch(/owner@example\.com │ shop/);
    await tmux.send("Enter");
    const table = await tmux.until("API_KEY");
    expect(table).toMatch(/development v1 · 2 keys/);
    expect(table.split("\n").length).toBeLessThanOrEqual(25);

    await tmux.send("?");
    await tmux.until("keys: secrets");
    await tmux.send("x");
    await tmux.until("CHANGED");

    // API_KEY is the first row (sorted by name)
    await tmux.send("e");
    await tmux.until("new value of API_KEY");
    await tmux.type(NEW_VALUE);
    await tmux.send("Enter");
    await tmux.until("1 pending");
    await tmux.send("w");
    const review = await tmux.until("Review: 1 change to development (based on v1)");
    expect(review).toContain("~ API_KEY: •••••••• → ••••••••");
    await tmux.send("Enter");
    await tmux.until("saved as version 2");

    // a resize redraws
    tmux.resize(120, 30);
    await tmux.until(/vault \d+\.\d+\.\d+\S* *$/m);
    tmux.resize(80, 24);

    await tmux.send("q");
    await tmux.until("ENVIRONMENT");
    await tmux.send("q");
    await tmux.until("Projects");
    await tmux.send("q");
    const after = await tmux.until("EXITED 0");
    // the alternate screen is gone: nothing of the TUI stays on the terminal
    expect(after).not.toContain("API_KEY");
    expect(after).not.toContain("development");

    for (const pane of tmux.captures) {
      expect(pane).not.toContain(OLD_VALUE);
      expect(pane).not.toContain(NEW_VALUE);
      expect(pane).not.toContain(OTHER_VALUE);
    }
    expect(tmux.captures.length).toBeGreaterThan(20);

    const pulled = cli.ok(["pull", "development", "-"], { cwd: checkout, config });
    expect(pulled).toBe(`# the app\nDB_URL=${OTHER_VALUE}\nAPI_KEY=${NEW_VALUE}\n`);
    const versions = cli.ok(["versions", "development", "--json"], { cwd: checkout, config });
    expect(JSON.parse(versions).head ?? JSON.parse(versions).versions?.[0]?.version).toBe(2);
  }, 60_000);

  it("quits with Ctrl-C from inside a text field, restoring the screen", async () => {
    const t = startTui("vault-tui-e2e-ctrlc");
    try {
      await t.until("development *");
      await t.send("Enter");
      await t.until("API_KEY");
      await t.send("e");
      await t.until("new value of API_KEY");
      await t.send("C-c");
      const after = await t.until(/EXITED \d+/);
      expect(after).not.toContain("API_KEY");
    } finally {
      t.kill();
    }
  }, 60_000);

  it("leaves the screen and prints vault: error: when the credential is refused", async () => {
    const t = startTui("vault-tui-e2e-badtoken", { VAULT_TOKEN: "not-a-token" });
    try {
      const after = await t.until(/EXITED \d+/);
      expect(after).toContain("vault: error:");
      expect(after).toContain("vault: hint:");
      expect(after).toMatch(/EXITED 3/);
      expect(after).not.toContain("Projects");
    } finally {
      t.kill();
    }
  }, 60_000);

  it("acts on every key of several sent in one go: jjjj moves four rows, qqq leaves three screens", async () => {
    const t = startTui("vault-tui-e2e-chunks");
    try {
      await t.until("development *");
      await t.until("projects › shop");
      // development, ci, staging, production: jj selects staging
      await t.type("jj");
      await t.until(/› staging +v1/);
      await t.send("Enter");
      await t.until("staging v1 · 6 keys");
      await t.type("jjjj");
      await t.until("›  K5");
      await t.type("kkk");
      await t.until("›  K2");
      // typed ahead: the table, the environments and the projects screens, then the shell
      await t.type("qqq");
      const after = await t.until("EXITED 0");
      expect(after).not.toContain("K2");
    } finally {
      t.kill();
    }
  }, 60_000);

  // Last: it stops the shared server and starts another on the same port and data.
  it("shows a banner while the server is down, and clears it when the server is back", async () => {
    const t = startTui("vault-tui-e2e-down");
    try {
      await t.until("projects › shop");
      await t.send("Enter");
      await t.until("API_KEY");
      expect(await cli.server.stop()).toBe(0);
      await t.send("r");
      const down = await t.until(/the server cannot be reached[\s\S]*press r to retry/);
      // the line under the banner is drawn whole (it lost its first letter when the screen overflowed)
      expect(down).toMatch(/out of date\) *\ndevelopment v\d+ · 2 keys/);
      const again = await startServe({
        bin: cli.vault.bin,
        cwd: cli.vault.dir,
        data: cli.data,
        listen: cli.server.listen!,
      });
      await again.waitReady();
      const pane = await t.until((p) => !p.includes("cannot be reached"));
      expect(pane).toContain("API_KEY");
      for (const p of t.captures) expect(p).not.toContain(OTHER_VALUE);
    } finally {
      t.kill();
    }
  }, 60_000);
});
