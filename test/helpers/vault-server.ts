/**
 * A running `vault serve` from the compiled binary with users in it, for the
 * tests that drive it from outside (a browser, the dotenv-vault CLI): the
 * binary copied alone into a temporary directory, the server on a free
 * loopback port (its public URL, written into every .env.vault, is then
 * `http://127.0.0.1:PORT`), and users created the way an operator does, with
 * `vault admin user add EMAIL --role ROLE --password-stdin`.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { cleanEnv, type Installed, installBinary } from "./binary";
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

  const addUser = (email: string, password: string, role: "owner" | "admin" | "member" = "member") => {
    const out = spawnSync(
      vault.bin,
      ["admin", "user", "add", email, "--role", role, "--password-stdin", "--data", data],
      { cwd: vault.dir, env: cleanEnv(vault.dir), input: `${password}\n`, encoding: "utf8", timeout: 30_000 },
    );
    if (out.status !== 0) {
      throw new Error(`vault admin user add ${email} exited ${out.status}:\n${out.stdout}${out.stderr}`);
    }
  };

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
