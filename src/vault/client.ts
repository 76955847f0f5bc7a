/**
 * The app's side of the keeper socket: the KeeperApi over HTTP, on a unix
 * socket or over mutual TLS 1.3. One call is one request, whatever the batch
 * size. Failures become KeeperError: UNREACHABLE (no connection or TLS
 * refused), UNAUTHORIZED (wrong token), REFUSED (the keeper rejected the
 * request as malformed or too large), or the keeper's own code.
 */
import type { KeeperAddress } from "../config";
import { createGroupCommit } from "../db";
import { KeeperError, type KeeperErrorCode, keeperErrorCode } from "./errors";
import type { KeeperTls } from "./service";
import type { KeeperApi, KeeperHealth, KeeperStats, Ref } from "./types";
import {
  type ErrorBody,
  fromBase64,
  MAX_BATCH,
  MAX_BODY_BYTES,
  OCTETS,
  packBlobs,
  packRefs,
  toBase64,
  unpackBlobs,
  unpackRefs,
} from "./wire";

export interface KeeperClientOptions {
  address: KeeperAddress;
  token: string;
  /** Required for an https:// keeper: this side's certificate and key, and the CA that signs the keeper's. */
  tls?: KeeperTls;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
}

const REFUSED_CODES = new Set<KeeperErrorCode>(["BAD_REQUEST", "BAD_REF", "TOO_LARGE", "NOT_FOUND"]);

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

  async function send(method: "GET" | "POST", path: string, body?: unknown): Promise<Response> {
    const bytes = body instanceof Uint8Array;
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": bytes ? OCTETS : "application/json" }),
        },
        body: body === undefined ? undefined : bytes ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        ...transport,
      } as RequestInit);
    } catch (error) {
      throw new KeeperError("UNREACHABLE", `cannot reach the keeper at ${describe(address)}`, {
        cause: error,
      });
    }
    if (response.ok) return response;
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      // The status says enough.
    }
    const remote = (json as Partial<ErrorBody> | undefined)?.error;
    const code = remote?.code === undefined ? "INTERNAL" : keeperErrorCode(remote.code);
    const message =
      typeof remote?.message === "string" ? remote.message : `the keeper answered ${response.status}`;
    if (response.status === 401) throw new KeeperError("UNAUTHORIZED", "the keeper refused the keeper token");
    if (REFUSED_CODES.has(code) || response.status === 413) {
      throw new KeeperError("REFUSED", `the keeper refused the request: ${message}`);
    }
    throw new KeeperError(code, message);
  }

  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await send(method, path, body);
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new KeeperError("BAD_RESPONSE", `the keeper answered ${response.status} without JSON`, {
        cause: error,
      });
    }
  }

  /** A call whose answer is bytes (put and get). */
  async function callBytes(path: string, body: Uint8Array): Promise<Uint8Array> {
    const response = await send("POST", path, body);
    if (response.headers.get("content-type") !== OCTETS) {
      throw new KeeperError("BAD_RESPONSE", `the keeper answered ${path} with something other than bytes`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * Undoes the framing of an answer, which must hold one item per item asked
   * for; a malformed answer is the keeper's fault, not the caller's.
   */
  const answer = <T>(read: () => T[], asked: number): T[] => {
    let items: T[];
    try {
      items = read();
    } catch (error) {
      throw new KeeperError("BAD_RESPONSE", "the keeper's answer does not add up", { cause: error });
    }
    if (items.length !== asked)
      throw new KeeperError("BAD_RESPONSE", `the keeper answered ${items.length} items for ${asked}`);
    return items;
  };

  const checkBatch = (n: number) => {
    if (n > MAX_BATCH) throw new KeeperError("TOO_LARGE", `a batch holds at most ${MAX_BATCH} items`);
  };

  const putOnce = async (blobs: readonly Uint8Array[]) => {
    const bytes = await callBytes("/v1/put", packBlobs(blobs));
    return answer(() => unpackRefs(bytes, MAX_BATCH), blobs.length);
  };
  /**
   * Puts made together (concurrent pushes) go to the keeper as one call, which it stores in one
   * transaction (group commit, src/db/group-commit.ts): one round trip and one sync of vault.db
   * for all of them, each put answered with its own refs. A call that fails is made again put by
   * put, so each put gets its own answer; values a failed combined call had stored anyway are
   * orphans, which the collector removes after its grace period.
   */
  const puts = createGroupCommit<readonly Uint8Array[], Ref[]>(async (calls) => {
    const answers: Ref[][] = [];
    let chunk: (readonly Uint8Array[])[] = [];
    let items = 0;
    let size = 0;
    const send = async () => {
      if (chunk.length === 0) return;
      const refs = await putOnce(chunk.flat());
      let at = 0;
      for (const blobs of chunk) {
        answers.push(refs.slice(at, at + blobs.length));
        at += blobs.length;
      }
      chunk = [];
      items = 0;
      size = 0;
    };
    for (const blobs of calls) {
      const bytes = blobs.reduce((sum, b) => sum + b.length, 0);
      if (items + blobs.length > MAX_BATCH || size + bytes > MAX_BODY_BYTES / 2) await send();
      chunk.push(blobs);
      items += blobs.length;
      size += bytes;
    }
    await send();
    return answers;
  });

  return {
    async put(blobs) {
      checkBatch(blobs.length);
      if (blobs.length === 0) return [];
      return puts.submit(blobs);
    },
    async get(refs) {
      checkBatch(refs.length);
      if (refs.length === 0) return [];
      const bytes = await callBytes("/v1/get", packRefs(refs));
      return answer(
        () =>
          unpackBlobs(bytes, { maxItems: MAX_BATCH, maxBlob: Number.MAX_SAFE_INTEGER, allowMissing: true }),
        refs.length,
      );
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
