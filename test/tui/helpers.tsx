/**
 * The TUI against a real server in process: a harness, a project with
 * values, and the App rendered by ink-testing-library with the typed client
 * talking to `app.handle`. Keys are written one at a time, as a terminal
 * sends them.
 */
import { render } from "ink-testing-library";
import { createApiClient } from "../../src/client";
import { App } from "../../src/tui";
import { type Harness, startHarness } from "../server/harness";

export const KEYS = {
  up: "\u001b[A",
  down: "\u001b[B",
  right: "\u001b[C",
  left: "\u001b[D",
  enter: "\r",
  escape: "\u001b",
  ctrlD: "\u0004",
  backspace: "\u007f",
} as const;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Rendered {
  frame(): string;
  /** Every frame drawn so far, joined: to prove a value never showed. */
  frames(): string;
  press(...keys: string[]): Promise<void>;
  type(text: string): Promise<void>;
  until(what: string | RegExp, timeoutMs?: number): Promise<string>;
  unmount(): void;
}

export async function setup(): Promise<{ h: Harness; owner: { token: string } }> {
  const h = await startHarness();
  const owner = await h.user("owner@example.com", "owner");
  return { h, owner };
}

export async function makeProject(h: Harness, token: string, name: string, dotenv: string): Promise<string> {
  const created = await h.request("POST", "/api/v1/projects", { token, body: { name } });
  if (created.status >= 300) throw new Error(JSON.stringify(created.body));
  const id = created.body.id as string;
  const pushed = await h.request("PUT", `/api/v1/projects/${id}/environments/development/secrets`, {
    token,
    body: { dotenv },
  });
  if (pushed.status >= 300) throw new Error(JSON.stringify(pushed.body));
  return id;
}

export function renderApp(
  h: Harness,
  token: string,
  options: { projectId?: string; fetch?: (req: Request) => Promise<Response> } = {},
): Rendered {
  const api = createApiClient({
    baseUrl: "http://localhost",
    token,
    fetch: options.fetch ?? ((req) => h.app.handle(req)),
  });
  const ui = render(<App api={api} version="test" projectId={options.projectId} retryMs={50} />);
  const frame = () => ui.lastFrame() ?? "";
  const r: Rendered = {
    frame,
    frames: () => ui.frames.join("\n"),
    async press(...keys) {
      for (const k of keys) {
        ui.stdin.write(k);
        await sleep(15);
      }
    },
    async type(text) {
      for (const ch of text) {
        ui.stdin.write(ch);
        await sleep(5);
      }
      await sleep(10);
    },
    async until(what, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const f = frame();
        if (typeof what === "string" ? f.includes(what) : what.test(f)) return f;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${f}`);
        await sleep(10);
      }
    },
    unmount: () => ui.unmount(),
  };
  return r;
}
