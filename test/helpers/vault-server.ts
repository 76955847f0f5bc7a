import { join } from "node:path";
import { addUser as addBinaryUser, type Installed, installBinary } from "./binary";
import { type ServeProcess, startServe } from "./serve";

export interface VaultServer {
  vault: Installed;
  server: ServeProcess;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  data: string;
  addUser(email: string, password: string, role?: "owner" | "admin" | "member"): void;
  /** A session token for the native API (`POST /api/v1/auth/login`). */
  apiLogin(email: string, password: string): Promise<string>;
  /** A call to the native API with a bearer token; the parsed JSON answer (throws on a non-2xx). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers by path and assert on them.
  api(token: string, method: string, path: string, body?: unknown): Promise<any>;
}

export async function startVaultServer(options: { env?: Record<string, string> } = {}): Promise<VaultServer> {
  const vault = installBinary();
  const data = join(vault.dir, "data");
  const server = await startServe({ bin: vault.bin, cwd: vault.dir, data, env: options.env });
  await server.waitReady();
  const url = server.url;

  const addUser = (email: string, password: string, role: "owner" | "admin" | "member" = "member") =>
    addBinaryUser(vault.bin, { cwd: vault.dir, data, email, password, role });

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const apiLogin = async (email: string, password: string) => {
    const res = await fetch(`${url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    if (!res.ok) throw new Error(`POST /api/v1/auth/login answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { token: string }).token;
  };

  return { vault, server, url, data, addUser, api, apiLogin };
}
