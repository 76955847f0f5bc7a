/**
 * Driving a program in tmux: a private tmux server (its own socket, no
 * config), keys sent as a user types them, and every pane captured along the
 * way kept, so that a test can prove something never appeared on screen.
 *
 * Nothing waits for a time to pass between keys: the TUI takes keys in any
 * chunking (one per read or many), and a test waits for what the pane shows
 * with `until`. One exception belongs to every terminal: Escape followed at
 * once by another key reads as Alt+key, so wait for Escape's effect first.
 */
import { spawnSync } from "node:child_process";

export interface Tmux {
  /** Sends keys, one tmux command each (tmux key names: Enter, Escape, Down, C-c, or literal characters). */
  send(...keys: string[]): Promise<void>;
  /** Sends text in one go (`send-keys -l`): a fast typist, key repeat or a paste without brackets. */
  type(text: string): Promise<void>;
  capture(): string;
  /** Polls the pane until it shows `what` (or passes the test); the deadline only bounds a failure. */
  until(what: string | RegExp | ((pane: string) => boolean), timeoutMs?: number): Promise<string>;
  resize(columns: number, rows: number): void;
  /** Every pane captured so far. */
  captures: string[];
  kill(): void;
}

export function startTmux(options: { name: string; command: string; columns: number; rows: number }): Tmux {
  const socket = `${options.name}-${process.pid}`;
  const tmux = (...args: string[]) => {
    const out = spawnSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${out.stderr}`);
    return out.stdout;
  };
  tmux(
    "new-session",
    "-d",
    "-s",
    "main",
    "-x",
    String(options.columns),
    "-y",
    String(options.rows),
    options.command,
  );
  tmux("set-option", "-g", "remain-on-exit", "on");
  const captures: string[] = [];
  const capture = () => {
    const text = tmux("capture-pane", "-p", "-t", "main");
    captures.push(text);
    return text;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const t: Tmux = {
    captures,
    capture,
    async send(...keys) {
      for (const key of keys) {
        tmux("send-keys", "-t", "main", key);
        capture();
      }
    },
    async type(text) {
      tmux("send-keys", "-t", "main", "-l", text);
      capture();
    },
    async until(what, timeoutMs = 30_000) {
      const test =
        typeof what === "string"
          ? (pane: string) => pane.includes(what)
          : what instanceof RegExp
            ? (pane: string) => what.test(pane)
            : what;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pane = capture();
        if (test(pane)) return pane;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; pane:\n${pane}`);
        await sleep(50);
      }
    },
    resize(columns, rows) {
      tmux("resize-window", "-t", "main", "-x", String(columns), "-y", String(rows));
    },
    kill() {
      spawnSync("tmux", ["-L", socket, "kill-server"]);
    },
  };
  return t;
}

/** A shell word, quoted. */
export function sh(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}
