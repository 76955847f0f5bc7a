/**
 * The public listener's lifecycle: listen, reload the TLS certificate without
 * dropping the listener, and stop gracefully within a deadline.
 *
 * Bun's `server.reload()` does not change TLS settings (checked on Bun
 * 1.4.5: new connections kept the old certificate). So a reload starts a
 * second server on the same address with the new certificate (both with
 * SO_REUSEPORT), then stops the old one gracefully: it accepts nothing new,
 * finishes its in-flight requests, and closes. The port is never unbound.
 * Because SO_REUSEPORT would also let an unrelated process share the port
 * silently, start-up first probes the address and refuses one in use.
 *
 * Every request passes one gate before it reaches the app: a bad Host
 * header is answered 400 here, before any routing, and a good one is made
 * routable (see host.ts). Under TLS every answer, the gate's included,
 * carries Strict-Transport-Security.
 */
import { connect } from "node:net";
import type { Server } from "bun";
import type { Config } from "../config";
import { ApiError, errorResponse } from "./errors";
import { hostProblem, routableRequest } from "./host";
import { HSTS, ListenError, listenOptions, tlsOptions } from "./listen";

export type ListenerConfig = Pick<Config, "listen" | "tlsCertFile" | "tlsKeyFile" | "tlsMin">;

export interface PublicListener {
  /** The bound TCP port (useful with port 0), or undefined on a unix socket. */
  readonly port: number | undefined;
  readonly server: Server<unknown>;
  /** Re-reads the certificate and key files; new connections see them, in-flight requests finish. */
  reloadTls(): Promise<void>;
  /** Stops accepting, waits up to `deadlineMs` for in-flight requests, then closes what is left. */
  stop(deadlineMs: number): Promise<{ forced: boolean }>;
}

export interface ListenerOptions {
  config: ListenerConfig;
  fetch: (request: Request, server: Server<unknown>) => Response | Promise<Response>;
  /** Told about each request the gate refused, with the answer it will send (to log and count it). */
  refused?: (request: Request, response: Response) => Response | Promise<Response>;
  maxRequestBodySize: number;
  /** Told about each new server (the app reads the client's address through it). */
  onServer?: (server: Server<unknown>) => void;
}

/** The gate's answer to a Host header that is not `host[:port]`. */
function badHost(problem: string): Response {
  return errorResponse(
    new ApiError("INVALID_HOST", problem, "send Host: with the server's name or address, and :port", {
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      connection: "close",
    }),
  );
}

function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    // An immutable response (a static one): answer a copy that carries the header.
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

/** Host check, routable URL, HSTS under TLS: what every request goes through before the app. */
export function gate(
  options: Pick<ListenerOptions, "fetch" | "refused">,
  tls: boolean,
): (request: Request, server: Server<unknown>) => Promise<Response> {
  return async (request, server) => {
    const host = request.headers.get("host");
    const problem = host === null ? undefined : hostProblem(host);
    let response: Response;
    if (problem !== undefined) {
      const refusal = badHost(problem);
      response = options.refused ? await options.refused(request, refusal) : refusal;
    } else {
      response = await options.fetch(routableRequest(request, server, tls), server);
    }
    return tls ? withHeader(response, "strict-transport-security", HSTS) : response;
  };
}

/** True when something accepts connections on host:port (probed on loopback for a wildcard host). */
export function addressInUse(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  const target = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return new Promise((resolve) => {
    const socket = connect({ host: target, port });
    const done = (used: boolean) => {
      socket.destroy();
      resolve(used);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function startListener(options: ListenerOptions): Promise<PublicListener> {
  const { config } = options;
  const reloadable = config.listen.kind === "tcp" && config.tlsCertFile !== undefined;
  if (reloadable && config.listen.kind === "tcp" && config.listen.port !== 0) {
    if (await addressInUse(config.listen.host, config.listen.port)) {
      throw new ListenError(
        `cannot listen on ${config.listen.host}:${config.listen.port}: the address is in use`,
        "stop whatever holds it, or choose another address with --listen",
      );
    }
  }
  const base = {
    ...listenOptions(config),
    development: false,
    idleTimeout: 30,
    maxRequestBodySize: options.maxRequestBodySize,
    fetch: gate(options, config.tlsCertFile !== undefined),
  };
  const open = (overrides: Record<string, unknown>): Server<unknown> => {
    const server = Bun.serve({ ...base, ...overrides } as Parameters<typeof Bun.serve>[0]) as Server<unknown>;
    options.onServer?.(server);
    return server;
  };
  let server = open(reloadable ? { reusePort: true } : {});
  const port = config.listen.kind === "tcp" ? server.port : undefined;
  let reloading: Promise<void> = Promise.resolve();
  const draining = new Set<Promise<void>>();
  const previous: Server<unknown>[] = [];

  return {
    port,
    get server() {
      return server;
    },
    reloadTls() {
      reloading = reloading.then(async () => {
        if (!reloadable) {
          throw new ListenError("there is no TLS certificate to reload", "the listener serves plain HTTP");
        }
        // Read and check the files before touching the running server: a bad pair keeps the old one.
        const tls = tlsOptions(config);
        const next = open({ reusePort: true, port, tls });
        const old = server;
        server = next;
        previous.push(old);
        const drain = old.stop(false).then(() => undefined);
        draining.add(drain);
        void drain.finally(() => {
          draining.delete(drain);
          previous.splice(previous.indexOf(old), 1);
        });
      });
      return reloading;
    },
    async stop(deadlineMs) {
      await reloading.catch(() => {});
      const graceful = Promise.all([server.stop(false), ...draining]).then(() => false);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), deadlineMs);
      });
      const forced = await Promise.race([graceful, deadline]);
      clearTimeout(timer);
      if (forced) await Promise.all([server, ...previous].map((s) => s.stop(true)));
      return { forced };
    },
  };
}
