/**
 * The application's HTTP surface, assembled from feature modules. Built as a
 * plain Elysia instance so tests can drive it with `app.handle(request)` and
 * the app role can listen with it.
 */
import { Elysia } from "elysia";
import { ApiError, errorBody, errorResponse } from "./errors";
import { type HealthDeps, healthRoutes } from "./modules/health/routes";

export interface ServerDeps extends HealthDeps {
  log?: (level: "error", message: string, fields?: Record<string, unknown>) => void;
}

export function createServer(deps: ServerDeps) {
  return new Elysia()
    .onError(({ code, error, set }) => {
      if (error instanceof ApiError) return errorResponse(error);
      switch (code) {
        case "NOT_FOUND":
          set.status = 404;
          return errorBody("NOT_FOUND", "no such route", "see /api/v1/openapi.json for the API");
        case "PARSE":
          set.status = 400;
          return errorBody("MALFORMED_JSON", "the request body could not be parsed", "send valid JSON");
        case "VALIDATION":
          set.status = 400;
          return errorBody(
            "INVALID_REQUEST",
            "the request does not match the schema",
            "see /api/v1/openapi.json",
          );
        default:
          deps.log?.("error", "unhandled error", { code, name: (error as Error)?.name });
          set.status = 500;
          return errorBody("INTERNAL", "internal error", "the server logged the details");
      }
    })
    .use(healthRoutes(deps));
}

export type VaultServer = ReturnType<typeof createServer>;
