import { describe, expect, it } from "bun:test";
import { startHarness } from "./harness";

describe("OpenAPI document", () => {
  it("lists exactly the routes the server serves under /api/v1, with their methods and request schemas", async () => {
    const h = await startHarness();
    const doc = (await h.request("GET", "/api/v1/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = (h.app.routes as { method: string; path: string }[])
      .filter((r) => r.path.startsWith("/api/v1/") || r.path === "/healthz" || r.path === "/readyz")
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`)
      .sort();
    expect(documented).toEqual(served);
    expect(documented.length).toBeGreaterThan(20);
    const push = doc.paths["/api/v1/projects/{projectId}/environments/{env}/secrets"].put;
    expect(push.requestBody.content["application/json"].schema.properties.dotenv.type).toBe("string");
    expect(push.requestBody.content["application/json"].schema.additionalProperties).toBe(false);
  });
});
