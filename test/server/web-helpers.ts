/**
 * A browser for the web app's route tests: a cookie jar over `app.handle`,
 * forms posted as a browser posts them (urlencoded, with the page's CSRF
 * token), and requests made as vault.js makes them (the x-csrf-token
 * header, Accept: application/json).
 */
import { expect } from "bun:test";
import { projectWith } from "./fixtures";
import { type Harness, PASSWORD } from "./harness";

export class WebBrowser {
  jar = new Map<string, string>();
  /** The CSRF token of the last page that had one. */
  token = "";
  constructor(private h: Harness) {}

  async go(
    method: string,
    path: string,
    form?: Record<string, string>,
    options: { headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = {
      cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join("; "),
      accept: "text/html,application/xhtml+xml",
      ...options.headers,
    };
    let body: string | undefined;
    if (form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(form).toString();
    }
    const res = await this.h.app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair!.indexOf("=");
      const [k, v] = [pair!.slice(0, eq), pair!.slice(eq + 1)];
      if (v) this.jar.set(k, v);
      else this.jar.delete(k);
    }
    const text = await res.text();
    const token = WebBrowser.csrf(text);
    if (token) this.token = token;
    return { status: res.status, text, headers: res.headers };
  }

  get(path: string) {
    return this.go("GET", path);
  }

  /** A form post with this browser's CSRF token (unless the fields name one). */
  post(path: string, fields: Record<string, string> = {}) {
    return this.go("POST", path, { csrf: this.token, ...fields });
  }

  /** A request as vault.js makes it: the token in x-csrf-token, JSON asked for. */
  async script(path: string, fields: Record<string, string> = {}, token = this.token) {
    const res = await this.go("POST", path, fields, {
      headers: { "x-csrf-token": token, accept: "application/json" },
    });
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch {
      json = undefined;
    }
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers by path.
    return { ...res, json: json as any };
  }

  static csrf(text: string): string {
    return /name="csrf" (?:value|content)="([^"]+)"/.exec(text)?.[1] ?? "";
  }

  /** Uses a session token the API issued as this browser's session cookie (no sign-in form, no rate limit). */
  async withSession(token: string) {
    this.jar.set("vault_session", token);
    await this.get("/");
    return this;
  }

  async signIn(email: string, password = PASSWORD) {
    const form = await this.go("GET", "/signin");
    const res = await this.go("POST", "/signin", {
      csrf: WebBrowser.csrf(form.text),
      email,
      password,
      next: "/",
    });
    expect(res.status).toBe(303);
    await this.get("/");
    return res;
  }
}

/** The location of a 303, checked. */
export function location(res: { status: number; headers: Headers }): string {
  expect(res.status).toBe(303);
  return res.headers.get("location") ?? "";
}

/**
 * A project with the roles the route tests try: its owner, a member with write on development,
 * one with read, one with no grant on development (but read on ci), an instance admin, and a
 * member of another project only. Each one signed in, as a browser.
 */
export async function team(h: Harness) {
  const { owner, project, base } = await projectWith(h);
  const writer = await h.user("writer@example.com");
  const reader = await h.user("reader@example.com");
  const none = await h.user("none@example.com");
  const admin = await h.user("admin@example.com", "admin");
  const stranger = await h.user("stranger@example.com");
  const add = (email: string, permissions: Record<string, string>) =>
    h.request("POST", `/api/v1/projects/${project.id}/members`, {
      token: owner.token,
      body: { email, permissions },
    });
  expect((await add("writer@example.com", { development: "write", staging: "write" })).status).toBe(201);
  expect((await add("reader@example.com", { development: "read", staging: "read" })).status).toBe(201);
  expect((await add("none@example.com", { ci: "read" })).status).toBe(201);
  const other = (
    await h.request("POST", "/api/v1/projects", { token: stranger.token, body: { name: "other" } })
  ).body;
  const browsers = {} as Record<"owner" | "writer" | "reader" | "none" | "admin" | "stranger", WebBrowser>;
  const tokens = { owner, writer, reader, none, admin, stranger };
  for (const [role, user] of Object.entries(tokens)) {
    browsers[role as keyof typeof tokens] = await new WebBrowser(h).withSession(user.token);
  }
  return { project, base, other, tokens, browsers };
}

/** Names and values that try to break out of their place in a page. */
export const HOSTILE = {
  name: 'X_"onmouseover=alert(1)',
  names: ["SCRIPT_x", "A.b-c", "_u"],
  values: [
    "<script>alert('v')</script>",
    '"onmouseover="alert(1)',
    "</textarea><img src=x onerror=alert(1)>",
    "\u202Eevil\u202C rtl",
    "ünïcødé ✓ 日本",
  ],
};
