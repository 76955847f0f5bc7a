/**
 * The OpenAPI document, generated from the routes themselves: Elysia's
 * schemas are TypeBox, which is JSON Schema, so the document cannot drift
 * from what the server validates.
 */
import type { AnyElysia } from "elysia";
import { version } from "../version";
import { ERROR_STATUS } from "./errors";

interface RouteLike {
  method: string;
  path: string;
  hooks: { body?: unknown; query?: unknown; params?: unknown; detail?: { summary?: string } };
}

function strip(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema ?? {}));
}

function parameters(schema: unknown, where: "query" | "path") {
  const props = (strip(schema) as { properties?: Record<string, unknown>; required?: string[] }) ?? {};
  return Object.entries(props.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || (props.required ?? []).includes(name),
    schema: s,
  }));
}

export function openApiDocument(routes: readonly RouteLike[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (!route.path.startsWith("/api/v1/") && route.path !== "/healthz" && route.path !== "/readyz") continue;
    const path = route.path.replace(/:([A-Za-z]+)/g, "{$1}");
    const op: Record<string, unknown> = {
      summary: route.hooks.detail?.summary ?? "",
      parameters: [...parameters(route.hooks.params, "path"), ...parameters(route.hooks.query, "query")],
      responses: {
        "200": { description: "success" },
        default: {
          description: "error",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    };
    if (route.hooks.body) {
      op.requestBody = {
        required: true,
        content: { "application/json": { schema: strip(route.hooks.body) } },
      };
    }
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: { title: "vault", version, description: "The native API of a self-hosted vault for .env files." },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string", enum: Object.keys(ERROR_STATUS) },
                message: { type: "string" },
                hint: { type: "string" },
              },
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

export function routesOf(app: AnyElysia): RouteLike[] {
  return app.routes as unknown as RouteLike[];
}
