/**
 * What every screen shares: the API client, the navigation stack, and the
 * connection state (a failure that says the server is unreachable raises the
 * banner; the app polls /readyz until it answers and then reloads screens).
 */
import { createContext, useContext } from "react";
import type { ApiClient, Permission } from "../client";

export interface ProjectRef {
  id: string;
  name: string;
}

export interface EnvRef {
  name: string;
  permission: Permission;
  version: number;
}

export type Route =
  | { kind: "projects" }
  | { kind: "environments"; project: ProjectRef }
  | { kind: "secrets"; project: ProjectRef; env: EnvRef }
  | { kind: "history"; project: ProjectRef; env: EnvRef }
  | { kind: "compare"; project: ProjectRef; env: EnvRef }
  | { kind: "keys"; project: ProjectRef; env: EnvRef; canManage: boolean }
  | { kind: "audit"; project: ProjectRef }
  | { kind: "requests"; project: ProjectRef };

export interface Binding {
  keys: string;
  does: string;
}

export interface Tui {
  api: ApiClient;
  push(route: Route): void;
  back(): void;
  /** Opens the help overlay of the current screen. */
  help(): void;
  /** Reports a failure: an unreachable server raises the banner. */
  report(error: unknown): void;
  /** Increments when the server comes back: screens reload. */
  reloadToken: number;
  /** Names a project known so far only by its id (opened from a link or a token). */
  retitle(projectId: string, name: string): void;
  /** The version the current screen shows, for the status bar. */
  setVersion(version: number | undefined): void;
  /** Writes to the terminal outside the frame (OSC 52 copy). */
  writeRaw(text: string): void;
}

export const TuiContext = createContext<Tui | null>(null);

export function useTui(): Tui {
  const tui = useContext(TuiContext);
  if (!tui) throw new Error("useTui outside <App>");
  return tui;
}
