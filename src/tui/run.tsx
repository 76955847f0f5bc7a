/**
 * Starting the TUI on a real terminal: the alternate screen (so no value is
 * left in the scrollback after quitting), Ctrl-C quits, and a failure that
 * ends the app (a refused credential) comes back as an error for the CLI to
 * print as `vault: error:` lines.
 */
import { render } from "ink";
import type { ApiClient } from "../client";
import { App } from "./App";

export interface RunTuiOptions {
  api: ApiClient;
  version: string;
  projectId?: string;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

export async function runTui(options: RunTuiOptions): Promise<void> {
  const instance = render(<App api={options.api} version={options.version} projectId={options.projectId} />, {
    alternateScreen: true,
    exitOnCtrlC: true,
    // Redraws are throttled to one per 1000/maxFps ms: 120 keeps a held arrow key's cursor close behind.
    maxFps: 120,
    patchConsole: true,
    stdin: options.stdin ?? process.stdin,
    stdout: options.stdout ?? process.stdout,
  });
  await instance.waitUntilExit();
}
