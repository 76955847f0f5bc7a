/**
 * Driving a program in tmux: a private tmux server (its own socket, no
 * config), keys sent one at a time, and every pane captured along the way
 * kept, so that a test can prove something never appeared on screen.
 */
import { spawnSync } from "node:child_process";

export interface Tmux {
  /** Sends keys one at a time (tmux key names: Enter, Escape, Down, C-c, or literal characters). */
  send(...keys: string[]): Promise<void>;
  /** Types text one character at a time. */
  type(text: string): Promise<void>;
  capture(): string;
  until(what: string | RegExp, timeoutMs?: number): Promise<string>;
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
        await sleep(60);
        capture();
      }
    },
    async type(text) {
      for (const ch of text) {
        tmux("send-keys", "-t", "main", "-l", ch);
        await sleep(40);
        capture();
      }
    },
    async until(what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pane = capture();
        if (typeof what === "string" ? pane.includes(what) : what.test(pane)) return pane;
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
