/**
 * The TUI against a real server in process: a harness, a project with
 * values, and the App rendered by ink-testing-library with the typed client
 * talking to `app.handle`. Nothing here waits for a time: a key press
 * returns once the TUI says it has handled every key and drawn the result
 * (its onIdle), and `until` looks at each frame as it is drawn. A deadline
 * only turns a hang into a failure with the last frame in it.
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
  ctrlU: "\u0015",
  backspace: "\u007f",
} as const;

/** How long a wait may take before it fails: generous, since it bounds a hang, not a speed (2 shared cores). */
const DEADLINE_MS = 30_000;

export interface Rendered {
  frame(): string;
  /** Every frame drawn so far, joined: to prove a value never showed. */
  frames(): string;
  /** Writes each key on its own and waits until the TUI has handled it and drawn the result. */
  press(...keys: string[]): Promise<void>;
  /** Writes `text` in one write (as a fast typist, key repeat or a paste without brackets arrives). */
  type(text: string): Promise<void>;
  /** Writes without waiting (for keys that must wait for data the test holds back). */
  write(data: string): void;
  /** Waits for a frame that shows `what` (or passes the test); the deadline only bounds a failure. */
  until(what: string | RegExp | ((frame: string) => boolean), timeoutMs?: number): Promise<string>;
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
  // Synchronization is on what the TUI reports and draws, never on time: `idle` counts the moments
  // when every key written so far has been handled and its frame drawn; waiters look at each new frame.
  let idle = 0;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  const ui = render(
    <App
      api={api}
      version="test"
      projectId={options.projectId}
      retryMs={50}
      onIdle={() => {
        idle++;
        notify();
      }}
    />,
  );
  const write = ui.stdout.write;
  ui.stdout.write = (frame: string) => {
    write(frame);
    notify();
  };
  const frame = () => ui.lastFrame() ?? "";
  const wait = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const check = () => {
        if (!done()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; last frame:\n${frame()}`));
      }, timeoutMs);
      waiters.add(check);
    });
  const send = async (data: string) => {
    const before = idle;
    ui.stdin.write(data);
    await wait(() => idle > before, `the TUI to handle ${JSON.stringify(data)}`, DEADLINE_MS);
  };
  const r: Rendered = {
    frame,
    frames: () => ui.frames.join("\n"),
    async press(...keys) {
      for (const k of keys) await send(k);
    },
    type: send,
    write: (data) => {
      ui.stdin.write(data);
    },
    async until(what, timeoutMs = DEADLINE_MS) {
      const test =
        typeof what === "string"
          ? (f: string) => f.includes(what)
          : what instanceof RegExp
            ? (f: string) => what.test(f)
            : what;
      await wait(() => test(frame()), String(what), timeoutMs);
      return frame();
    },
    unmount: () => ui.unmount(),
  };
  return r;
}
