/**
 * Asking the person at the terminal: a line (echoed) or a secret (not
 * echoed, raw mode, restored on every exit path). Prompts go to stderr so
 * that stdout stays clean for what a command prints. Only used when both
 * stdin and stderr are terminals; scripts pass --password-stdin instead.
 */
import { readSync } from "node:fs";
import type { Io } from "../cli-kit";
import { CliError } from "../cli-kit";
import { EXIT } from "../exit-codes";

export function isInteractive(io: Io): boolean {
  return process.stdin.isTTY === true && io.stderr.isTTY === true;
}

/** Everything on standard input (for --password-stdin). */
export async function readAllStdin(): Promise<string> {
  return Bun.stdin.text();
}

/** Everything on standard input as bytes (for `vault set KEY -`, which refuses invalid UTF-8). */
export async function readAllStdinBytes(): Promise<Uint8Array> {
  return Bun.stdin.bytes();
}

function readLine(io: Io, question: string, secret: boolean): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let line = "";
    const wasRaw = stdin.isRaw;
    const finish = (error?: Error) => {
      stdin.off("data", onData);
      if (secret) stdin.setRawMode(wasRaw);
      stdin.pause();
      if (secret) io.stderr.write("\n");
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
      for (const ch of text) {
        if (ch === "\r" || ch === "\n") return finish();
        if (secret && ch === "\u0003") return finish(new CliError("cancelled", EXIT.failure));
        if (secret && ch === "\u0004" && line === "") return finish(new CliError("cancelled", EXIT.failure));
        if (secret && (ch === "\u007f" || ch === "\b")) {
          line = [...line].slice(0, -1).join("");
          continue;
        }
        if (secret && ch === "\u0015") {
          line = "";
          continue;
        }
        line += ch;
      }
    };
    // Echo off before the question shows, so that nothing typed at once is echoed.
    if (secret) stdin.setRawMode(true);
    io.stderr.write(question);
    stdin.on("data", onData);
    stdin.resume();
  });
}

export const promptLine = (io: Io, question: string) => readLine(io, question, false);
export const promptSecret = (io: Io, question: string) => readLine(io, question, true);

/**
 * Asks a yes/no question and waits for the answer, synchronously (echoed,
 * line mode): for a decision that must be made where the caller cannot wait
 * on a promise (before a request is built). Only "y" or "yes" is a yes; end
 * of input is a no. The caller checks `isInteractive` first.
 */
export function confirmSync(io: Io, question: string): boolean {
  io.stderr.write(question);
  const buffer = Buffer.alloc(256);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let line = "";
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      // A terminal left non-blocking by someone else: wait a moment and read again.
      if ((error as { code?: string }).code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 20);
        continue;
      }
      throw error;
    }
    if (n === 0) break;
    line += buffer.subarray(0, n).toString("utf8");
    if (line.includes("\n") || line.length > 1024) break;
  }
  return /^\s*y(es)?\s*$/i.test(line.split("\n")[0] ?? "");
}
