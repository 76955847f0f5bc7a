/**
 * The application's HTTP surface, assembled from feature modules. Built as a
 * plain Elysia instance so tests can drive it with `app.handle(request)` and
 * the app role can listen with it.
 */
import { Elysia } from "elysia";
import type { AppContext } from "./context";
import { ApiError, errorBody, errorResponse, fromKeeperError } from "./errors";
import { clientIp, limitAddress } from "./http";
import { createServerMetrics, metricsRoutes, type ServerMetrics } from "./metrics";
import { auditRoutes } from "./modules/audit/routes";
import { authRoutes } from "./modules/auth/routes";
import { compatRoutes } from "./modules/compat/routes";
import { envVaultRoutes } from "./modules/envvault/routes";
import { healthRoutes } from "./modules/health/routes";
import { memberRoutes } from "./modules/members/routes";
import { oidcRoutes } from "./modules/oidc/routes";
import { projectRoutes } from "./modules/projects/routes";
import { requestRoutes } from "./modules/requests/routes";
import { secretRoutes } from "./modules/secrets/routes";
import { tokenRoutes } from "./modules/tokens/routes";
import { userRoutes } from "./modules/users/routes";
import { html } from "./modules/web/html";
import { page } from "./modules/web/layout";
import { webRoutes } from "./modules/web/routes";
import { webhookRoutes } from "./modules/webhooks/routes";
import { openApiDocument, routesOf } from "./openapi";
import { ruleOf } from "./rate-limit";

/** Probes are never rate limited. */
const UNLIMITED = new Set(["/healthz", "/readyz", "/metrics"]);

/** Request bodies larger than this are refused before parsing (a 2 MiB file, JSON-escaped, fits). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const MAX_JSON_DEPTH = 32;

/** The deepest nesting of arrays and objects in a JSON text, outside strings; stops early past the limit. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) max = depth;
      if (max > MAX_JSON_DEPTH) return max;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Where a request broke its schema and which rule, without echoing the value. */
function describeValidation(error: unknown): string {
  const e = error as { type?: string; valueError?: { path?: string; message?: string } };
  const where = e.type ?? "body";
  const detail = e.valueError;
  if (!detail?.message) return `the request ${where} does not match the schema`;
  const path = detail.path ? detail.path : "";
  return `the request ${where} does not match the schema${path ? ` at ${path}` : ""}: ${detail.message}`;
}

/**
 * A browser finding nothing gets a page: it asks for HTML (navigation sends
 * `Accept: text/html,...`) outside the API. The API, the dotenv-vault verbs
 * and clients that do not name HTML (curl, fetch, the CLIs) keep the JSON.
 */
function wantsPage(request: Request): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  if (/^https?:\/\/[^/]+\/api\//.test(request.url)) return false;
  return /\btext\/html\b/i.test(request.headers.get("accept") ?? "");
}

function notFoundPage(): Response {
  return page(
    "Page not found",
    html`<p>There is no page at this address.</p>
<p><a href="/">Your projects</a> · <a href="/signin">Sign in</a></p>`,
    { status: 404 },
  );
}

export function createServer(ctx: AppContext, metrics: ServerMetrics = createServerMetrics()) {
  const app = new Elysia({ normalize: false })
    // First: its hook records each request's route template for every route below.
    .use(metricsRoutes(metrics))
    .onRequest(({ request, server, set }) => {
      set.headers["cache-control"] = "no-store";
      set.headers["x-content-type-options"] = "nosniff";
      if (!UNLIMITED.has(new URL(request.url).pathname)) {
        limitAddress(ctx, clientIp(ctx, request, server), ruleOf(ctx.config.rateLimitAddress));
      }
    })
    .onParse(async ({ request }, contentType) => {
      if (contentType !== "application/json") return;
      const declared = Number(request.headers.get("content-length") ?? "0");
      if (declared > MAX_BODY_BYTES) throw new ApiError("PAYLOAD_TOO_LARGE", "the request body is too large");
      let bytes: ArrayBuffer;
      try {
        bytes = await request.arrayBuffer();
      } catch {
        // A body that breaks off (a bad chunk, a dropped connection) is the client's.
        throw new ApiError("INVALID_REQUEST", "the request body could not be read", "send the whole body");
      }
      if (bytes.byteLength > MAX_BODY_BYTES)
        throw new ApiError("PAYLOAD_TOO_LARGE", "the request body is too large");
      let text: string;
      try {
        text = strictUtf8.decode(bytes);
      } catch {
        throw new ApiError("INVALID_REQUEST", "the request body is not valid UTF-8");
      }
      if (nestingDepth(text) > MAX_JSON_DEPTH) {
        throw new ApiError("INVALID_REQUEST", `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
      }
      try {
        return JSON.parse(text);
      } catch {
        throw new ApiError("MALFORMED_JSON", "the request body is not valid JSON", "send a JSON object");
      }
    })
    .onError(({ code, error, set, request }) => {
      if (error instanceof ApiError) return errorResponse(error);
      switch (code) {
        case "NOT_FOUND":
          if (wantsPage(request)) return notFoundPage();
          set.status = 404;
          return errorBody("NOT_FOUND", "no such route", "see /api/v1/openapi.json for the API");
        case "PARSE":
          set.status = 400;
          return errorBody("MALFORMED_JSON", "the request body could not be parsed", "send valid JSON");
        case "VALIDATION":
          set.status = 400;
          return errorBody("INVALID_REQUEST", describeValidation(error), "see /api/v1/openapi.json");
        default: {
          // Elysia words a type mismatch with `${value}`, which throws on a value that cannot become a
          // string (an object whose own toString is not a function): still the client's mistake.
          if (error instanceof TypeError && /\bValidationError\b/.test(error.stack ?? "")) {
            set.status = 400;
            return errorBody(
              "INVALID_REQUEST",
              "the request body does not match the schema",
              "see /api/v1/openapi.json",
            );
          }
          const answer = fromKeeperError(error);
          if (answer) return errorResponse(answer);
          const e = error as { name?: string; code?: string };
          ctx.log.error("unhandled error", { code: String(code), name: e?.name, errorCode: e?.code });
          set.status = 500;
          return errorBody("INTERNAL", "internal error", "the server logged the details");
        }
      }
    })
    .use(healthRoutes(ctx))
    .use(authRoutes(ctx))
    .use(projectRoutes(ctx))
    .use(memberRoutes(ctx))
    .use(tokenRoutes(ctx))
    .use(webhookRoutes(ctx))
    .use(secretRoutes(ctx))
    .use(requestRoutes(ctx))
    .use(envVaultRoutes(ctx))
    .use(auditRoutes(ctx))
    .use(userRoutes(ctx))
    .use(compatRoutes(ctx))
    .use(oidcRoutes(ctx))
    .use(webRoutes(ctx));
  let doc: ReturnType<typeof openApiDocument> | undefined;
  return app.get("/api/v1/openapi.json", () => {
    doc ??= openApiDocument(routesOf(app));
    return doc;
  });
}

export type VaultServer = ReturnType<typeof createServer>;
