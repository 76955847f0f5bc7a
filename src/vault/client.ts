/**
 * The app's side of the keeper socket: the KeeperApi over HTTP, on a unix
 * socket or over mutual TLS 1.3. One call is one request, whatever the batch
 * size. Failures become KeeperError: UNREACHABLE (no connection or TLS
 * refused), UNAUTHORIZED (wrong token), REFUSED (the keeper rejected the
 * request as malformed or too large), or the keeper's own code.
 */
import type { KeeperAddress } from "../config";
import { KeeperError, type KeeperErrorCode } from "./errors";
import type { KeeperTls } from "./service";
import type { KeeperApi, KeeperHealth, KeeperStats } from "./types";
import { type ErrorBody, fromBase64, MAX_BATCH, toBase64 } from "./wire";

export interface KeeperClientOptions {
  address: KeeperAddress;
  token: string;
  /** Required for an https:// keeper: this side's certificate and key, and the CA that signs the keeper's. */
  tls?: KeeperTls;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
}

const REFUSED_CODES = new Set(["BAD_REQUEST", "BAD_REF", "TOO_LARGE", "NOT_FOUND"]);

export function createKeeperClient(options: KeeperClientOptions): KeeperApi {
  const { address, token } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (address.kind === "https" && options.tls === undefined) {
    throw new KeeperError("UNSUPPORTED", "a keeper over https needs mutual TLS (certificate, key and CA)");
  }
  const host = address.kind === "https" && address.host.includes(":") ? `[${address.host}]` : "";
  const base =
    address.kind === "unix" ? "http://localhost" : `https://${host || address.host}:${address.port}`;
  const transport: Record<string, unknown> =
    address.kind === "unix" ? { unix: address.path } : { tls: { ...options.tls, rejectUnauthorized: true } };

  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        ...transport,
      } as RequestInit);
    } catch (error) {
      throw new KeeperError("UNREACHABLE", `cannot reach the keeper at ${describe(address)}`, {
        cause: error,
      });
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch (error) {
      if (response.ok) {
        throw new KeeperError("BAD_RESPONSE", `the keeper answered ${response.status} without JSON`, {
          cause: error,
        });
      }
    }
    if (response.ok) return json as T;
    const remote = (json as Partial<ErrorBody> | undefined)?.error;
    const code = typeof remote?.code === "string" ? remote.code : "INTERNAL";
    const message =
      typeof remote?.message === "string" ? remote.message : `the keeper answered ${response.status}`;
    if (response.status === 401) throw new KeeperError("UNAUTHORIZED", "the keeper refused the keeper token");
    if (REFUSED_CODES.has(code) || response.status === 413) {
      throw new KeeperError("REFUSED", `the keeper refused the request: ${message}`);
    }
    throw new KeeperError(code as KeeperErrorCode, message);
  }

  const checkBatch = (n: number) => {
    if (n > MAX_BATCH) throw new KeeperError("TOO_LARGE", `a batch holds at most ${MAX_BATCH} items`);
  };

  return {
    async put(blobs) {
      checkBatch(blobs.length);
      if (blobs.length === 0) return [];
      const { refs } = await call<{ refs: string[] }>("POST", "/v1/put", { blobs: blobs.map(toBase64) });
      return refs.map(fromBase64);
    },
    async get(refs) {
      checkBatch(refs.length);
      if (refs.length === 0) return [];
      const { blobs } = await call<{ blobs: (string | null)[] }>("POST", "/v1/get", {
        refs: refs.map(toBase64),
      });
      return blobs.map((b) => (b === null ? null : fromBase64(b)));
    },
    async delete(refs) {
      checkBatch(refs.length);
      if (refs.length === 0) return 0;
      return (await call<{ deleted: number }>("POST", "/v1/delete", { refs: refs.map(toBase64) })).deleted;
    },
    async list({ createdBefore, after, limit }) {
      const body = { createdBefore, limit, ...(after === undefined ? {} : { after: toBase64(after) }) };
      return (await call<{ refs: string[] }>("POST", "/v1/list", body)).refs.map(fromBase64);
    },
    stats: () => call<KeeperStats>("GET", "/v1/stats"),
    health: () => call<KeeperHealth>("GET", "/v1/health"),
    rotate: () => call<{ term: number }>("POST", "/v1/rotate"),
    async rotateRoot() {
      await call<object>("POST", "/v1/rotate-root");
    },
  };
}

function describe(address: KeeperAddress): string {
  return address.kind === "unix" ? `unix:${address.path}` : `https://${address.host}:${address.port}`;
}
