/**
 * An unknown path: a page for a browser, JSON for the API and for every
 * client that does not ask for HTML.
 */
import { describe, expect, it } from "bun:test";
import { startHarness } from "../server/harness";

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

describe("an unknown path", () => {
  it("answers a browser with an HTML 404 page, with the pages' security headers", async () => {
    const h = await startHarness();
    const res = await h.app.handle(
      new Request("http://localhost/no/such/page", { headers: { accept: BROWSER_ACCEPT } }),
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const text = await res.text();
    expect(text).toStartWith("<!doctype html>");
    expect(text).toContain("Page not found");
    expect(text).not.toContain('"error"');
  });

  it("does not echo the path it could not find into the page", async () => {
    const h = await startHarness();
    const res = await h.app.handle(
      new Request("http://localhost/%3Cscript%3Ealert(1)%3C/script%3E", {
        headers: { accept: BROWSER_ACCEPT },
      }),
    );
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text).not.toContain("<script>");
    expect(text).not.toContain("alert(1)");
  });

  it("keeps the JSON error under /api/, even for a browser", async () => {
    const h = await startHarness();
    const res = await h.app.handle(
      new Request("http://localhost/api/v1/nothing-here", { headers: { accept: BROWSER_ACCEPT } }),
    );
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: "NOT_FOUND", message: "no such route", hint: "see /api/v1/openapi.json for the API" },
    });
  });

  it("keeps the JSON error for clients that do not ask for HTML, and for a POST", async () => {
    const h = await startHarness();
    for (const accept of [undefined, "*/*", "application/json"]) {
      const res = await h.request("GET", "/no/such/page", { headers: accept ? { accept } : {} });
      expect({ accept, status: res.status, code: res.body?.error?.code }).toEqual({
        accept,
        status: 404,
        code: "NOT_FOUND",
      });
    }
    const post = await h.request("POST", "/no/such/verb", { headers: { accept: BROWSER_ACCEPT }, body: {} });
    expect(post.status).toBe(404);
    expect(post.body.error.code).toBe("NOT_FOUND");
  });
});
