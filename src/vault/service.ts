/**
 * The keeper's socket service: the KeeperApi over HTTP (see wire.ts).
 *
 * It listens on a unix socket (0600, in a directory no one else may enter) or,
 * for a keeper on another host, on TCP with mutual TLS 1.3 only. Every call
 * needs the keeper token; it is checked before the body is read, in constant
 * time, and a refused call does nothing.
 */
import { constants, createHash, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import type { BunFile } from "bun";
import { Elysia } from "elysia";
import type { Endpoint } from "../config";
import { KeeperError } from "./errors";
import type { KeeperApi } from "./types";
import {
  bodies,
  type ErrorBody,
  fromBase64,
  MAX_ANSWER_BYTES,
  MAX_BATCH,
  MAX_BLOB_BYTES,
  MAX_BODY_BYTES,
  OCTETS,
  packBlobs,
  packRefs,
  statusOf,
  toBase64,
  unpackBlobs,
  unpackRefs,
} from "./wire";

export type PemSource = string | Uint8Array | BunFile;

export interface KeeperTls {
  cert: PemSource;
  key: PemSource;
  /** The CA that signs the other side's certificate. */
  ca: PemSource;
}

export interface ServeKeeperOptions {
  keeper: KeeperApi;
  /** The keeper token the app presents. */
  token: string;
  listen: Endpoint;
  /** Required on TCP: mutual TLS 1.3. */
  tls?: KeeperTls;
  /** Called once per request after its answer (for access logs and tests); never given a body. */
  onRequest?: (info: { method: string; path: string; status: number }) => void;
  /** Called with an unexpected failure (a KeeperError other than bad input, or anything else); its text is never sent. */
  onError?: (error: unknown) => void;
}

export interface KeeperService {
  /** The TCP port (useful with port 0), or undefined on a unix socket. */
  port: number | undefined;
  stop(): Promise<void>;
}

const TLS13_ONLY = constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1 | constants.SSL_OP_NO_TLSv1_2;
const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

function fail(code: ErrorBody["error"]["code"], message: string): Response {
  return Response.json({ error: { code, message } } satisfies ErrorBody, { status: statusOf(code) });
}

const octets = (bytes: Uint8Array) => new Response(bytes, { headers: { "content-type": OCTETS } });

/** A body of bytes; anything but octet-stream is BAD_REQUEST. */
async function bytesOf(request: Request): Promise<Uint8Array> {
  if (request.headers.get("content-type") !== OCTETS) {
    throw new KeeperError("BAD_REQUEST", `the body must be ${OCTETS}`);
  }
  return new Uint8Array(await request.arrayBuffer());
}

/** The routes, without a listener: `app.handle(request)` serves them in tests. */
export function keeperRoutes(options: Pick<ServeKeeperOptions, "keeper" | "token" | "onError">) {
  const { keeper, onError } = options;
  if (options.token.length < 32) {
    throw new KeeperError("UNSUPPORTED", "the keeper token is too short (32 characters at least)");
  }
  const expected = digest(options.token);
  const authorized = (header: string | null) => {
    const presented = header?.startsWith("Bearer ") ? header.slice(7) : "";
    return timingSafeEqual(digest(presented), expected);
  };

  return new Elysia({ name: "keeper" })
    .onRequest(({ request }) => {
      if (!authorized(request.headers.get("authorization"))) {
        return fail("UNAUTHORIZED", "a valid keeper token is required");
      }
    })
    .onError(({ code, error }) => {
      if (code === "VALIDATION" || code === "PARSE")
        return fail("BAD_REQUEST", "the request body is not valid");
      if (code === "NOT_FOUND") {
        return Response.json({ error: { code: "NOT_FOUND", message: "no such route" } }, { status: 404 });
      }
      if (error instanceof KeeperError) {
        if (statusOf(error.code) >= 500) onError?.(error);
        return fail(error.code, error.message);
      }
      onError?.(error);
      return fail("INTERNAL", "the keeper failed to answer");
    })
    .post(
      "/v1/put",
      async ({ request }) => {
        const blobs = unpackBlobs(await bytesOf(request), {
          maxItems: MAX_BATCH,
          maxBlob: MAX_BLOB_BYTES,
          allowMissing: false,
        }) as Uint8Array[];
        return octets(packRefs(await keeper.put(blobs)));
      },
      { parse: "none" },
    )
    .post(
      "/v1/get",
      async ({ request }) => {
        const blobs = await keeper.get(unpackRefs(await bytesOf(request), MAX_BATCH));
        const bytes = blobs.reduce((sum, b) => sum + (b?.length ?? 0), 0);
        if (bytes > MAX_ANSWER_BYTES) {
          throw new KeeperError(
            "TOO_LARGE",
            `the answer would pass ${MAX_ANSWER_BYTES} bytes: ask for fewer refs`,
          );
        }
        return octets(packBlobs(blobs));
      },
      { parse: "none" },
    )
    .post("/v1/delete", async ({ body }) => ({ deleted: await keeper.delete(body.refs.map(fromBase64)) }), {
      body: bodies.refs,
    })
    .post(
      "/v1/list",
      async ({ body }) => {
        const after = body.after === undefined ? undefined : fromBase64(body.after);
        const refs = await keeper.list({ createdBefore: body.createdBefore, after, limit: body.limit });
        return { refs: refs.map(toBase64) };
      },
      { body: bodies.list },
    )
    .get("/v1/stats", () => keeper.stats())
    .get("/v1/health", () => keeper.health())
    .post("/v1/rotate", () => keeper.rotate())
    .post("/v1/rotate-root", async () => {
      await keeper.rotateRoot();
      return {};
    });
}

export async function serveKeeper(options: ServeKeeperOptions): Promise<KeeperService> {
  const { listen, tls, onRequest } = options;
  const app = keeperRoutes(options);
  const fetch = async (request: Request): Promise<Response> => {
    const response = await app.handle(request);
    onRequest?.({ method: request.method, path: new URL(request.url).pathname, status: response.status });
    return response;
  };
  const common = { fetch, maxRequestBodySize: MAX_BODY_BYTES, development: false };
  let server: ReturnType<typeof Bun.serve>;
  if (listen.kind === "unix") {
    await prepareSocketPath(listen.path);
    const previous = process.umask(0o177);
    try {
      server = Bun.serve({ ...common, unix: listen.path });
    } finally {
      process.umask(previous);
    }
    chmodSync(listen.path, 0o600);
  } else {
    if (tls === undefined) {
      throw new KeeperError("UNSUPPORTED", "a keeper on TCP needs mutual TLS 1.3 (certificate, key and CA)");
    }
    server = Bun.serve({
      ...common,
      hostname: listen.host,
      port: listen.port,
      reusePort: false,
      tls: { ...tls, requestCert: true, rejectUnauthorized: true, secureOptions: TLS13_ONLY },
    });
  }
  return {
    port: listen.kind === "tcp" ? server.port : undefined,
    async stop() {
      await server.stop(true);
      if (listen.kind === "unix" && existsSync(listen.path)) unlinkSync(listen.path);
    },
  };
}

/**
 * Makes the socket's directory private (0700, created if missing; refused if
 * others may enter it) and clears a socket left by a keeper killed with -9,
 * after a connect probe shows that nobody listens on it.
 */
async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeeperError(
      "SOCKET_DIR",
      `the keeper socket's directory ${dir} is mode ${mode.toString(8).padStart(4, "0")}; it must be 0700 (chmod 700 ${dir})`,
    );
  }
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket())
    throw new KeeperError("IN_USE", `${path} exists and is not a socket; remove it`);
  if (await someoneListens(path))
    throw new KeeperError("IN_USE", `another keeper already listens on ${path}`);
  unlinkSync(path);
}

function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const done = (listening: boolean) => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(2_000, () => done(true));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
