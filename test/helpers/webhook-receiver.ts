/**
 * A webhook receiver for tests: a real HTTP server on loopback that records every request (its
 * headers and raw body) and answers with the status a script chooses. Tests wait for a number of
 * requests (event-driven; the deadline only turns a hang into a failure), never sleep.
 */

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Resolves once `n` requests arrived in all. */
  waitFor(n: number, deadlineMs?: number): Promise<void>;
  /** Stops listening (the port refuses connections until `restart`). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): void;
}

/** `respond(n, request)` gives the status of the n-th request (1-based); 200 by default. */
export function startReceiver(
  respond: (n: number, request: Received) => number | Response = () => 200,
  port = 0,
): Receiver {
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const listen = (at: number) =>
    Bun.serve({
      hostname: "127.0.0.1",
      port: at,
      reusePort: false,
      async fetch(request) {
        const entry: Received = {
          method: request.method,
          path: new URL(request.url).pathname,
          headers: Object.fromEntries(request.headers.entries()),
          body: await request.text(),
        };
        received.push(entry);
        for (const w of waiters.filter((w) => received.length >= w.n)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
        const answer = respond(received.length, entry);
        return answer instanceof Response ? answer : new Response(`answer ${answer}`, { status: answer });
      },
    });
  let server = listen(port);
  const bound = server.port!;
  return {
    url: `http://127.0.0.1:${bound}/hook`,
    port: bound,
    received,
    waitFor(n, deadlineMs = 30_000) {
      if (received.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the receiver got ${received.length} requests, not ${n}`)),
          deadlineMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async stop() {
      await server.stop(true);
    },
    restart() {
      server = listen(bound);
    },
  };
}
