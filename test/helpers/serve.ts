/**
 * Running `vault serve` from the compiled binary as a child of the test:
 * start it on a free port, wait for `/readyz`, look at its two children
 * (keeper and app), stop it, and make sure nothing outlives the test file
 * (`afterAll(stopAllServers)`).
 */
import { createServer } from "node:net";
import { cleanEnv } from "./binary";
import { childPids, cmdline, isRunning, killTree, roleOf, waitFor } from "./proc";

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface ServeOptions {
  bin: string;
  /** Working directory (the binary's own temporary directory). */
  cwd: string;
  data: string;
  /** `HOST:PORT` or `unix:PATH`; default 127.0.0.1 on a free port. Null: no --listen flag at all. */
  listen?: string | null;
  /** More flags, e.g. ["--tls-cert", c, "--tls-key", k]. */
  args?: string[];
  env?: Record<string, string>;
}

export interface ServeChildren {
  keeper?: number;
  app?: number;
  /** Every running child, whatever its role. */
  all: number[];
}

export class ServeProcess {
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly listen: string | undefined;
  readonly tls: boolean;
  private stdoutText = "";
  private stderrText = "";
  private readonly drained: Promise<void>;
  /** Every child pid ever seen, so that cleanup can find orphans after the supervisor is gone. */
  readonly seenChildren = new Set<number>();

  constructor(readonly options: ServeOptions & { listen: string | null }) {
    const { bin, cwd, data, listen, args = [], env } = options;
    this.listen = listen ?? undefined;
    this.tls = args.includes("--tls-cert");
    const argv = [bin, "serve", "--data", data, ...(listen === null ? [] : ["--listen", listen]), ...args];
    this.proc = Bun.spawn(argv, {
      cwd,
      env: cleanEnv(cwd, env),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.drained = Promise.all([
      this.drain(this.proc.stdout, (t) => {
        this.stdoutText += t;
      }),
      this.drain(this.proc.stderr, (t) => {
        this.stderrText += t;
      }),
    ]).then(() => undefined);
  }

  private async drain(stream: ReadableStream<Uint8Array>, sink: (text: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
  }

  get pid(): number {
    return this.proc.pid;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Everything the process printed so far, for failure messages. */
  output(): string {
    return `--- stdout\n${this.stdoutText}--- stderr\n${this.stderrText}`;
  }

  /** The base URL of the public listener (TCP only). */
  get url(): string {
    if (!this.listen || this.listen.startsWith("unix:")) throw new Error(`no TCP listener (${this.listen})`);
    return `${this.tls ? "https" : "http"}://${this.listen}`;
  }

  /** GET a path on the public listener; the status, or undefined when nothing answers. */
  async get(path: string, timeoutMs = 2_000): Promise<Response | undefined> {
    const init: RequestInit & { unix?: string; tls?: { rejectUnauthorized: boolean } } = {
      signal: AbortSignal.timeout(timeoutMs),
    };
    let url: string;
    if (this.listen?.startsWith("unix:")) {
      url = `http://localhost${path}`;
      init.unix = this.listen.slice("unix:".length);
    } else {
      url = `${this.url}${path}`;
      // The tests' certificates are self-signed; what TLS accepts is probed with openssl.
      if (this.tls) init.tls = { rejectUnauthorized: false };
    }
    try {
      return await fetch(url, init);
    } catch {
      return undefined;
    }
  }

  async status(path: string): Promise<number | undefined> {
    const res = await this.get(path);
    if (res) await res.arrayBuffer();
    return res?.status;
  }

  /** Waits until `/readyz` answers 200; fails early, with the output, if the process exits. */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    try {
      await waitFor(
        "/readyz to answer 200",
        async () => {
          if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
            throw new Error(
              `vault serve exited (code ${this.proc.exitCode}, signal ${this.proc.signalCode})`,
            );
          }
          return (await this.status("/readyz")) === 200;
        },
        { timeoutMs, intervalMs: 100 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.output()}`);
    }
  }

  /** The supervisor's running children, by the role on their command line. */
  children(): ServeChildren {
    const all = childPids(this.pid);
    for (const pid of all) this.seenChildren.add(pid);
    const out: ServeChildren = { all };
    for (const pid of all) {
      const role = roleOf(pid);
      if (role === "keeper" || role === "app") out[role] = pid;
    }
    return out;
  }

  /** Waits until both children run, with roles, and returns them. */
  async waitChildren(timeoutMs = 15_000): Promise<Required<ServeChildren>> {
    return waitFor(
      "a keeper and an app child",
      () => {
        const c = this.children();
        return c.keeper && c.app ? (c as Required<ServeChildren>) : undefined;
      },
      { timeoutMs },
    );
  }

  /** Waits for the process to exit on its own; its exit code. */
  async exited(timeoutMs = 20_000): Promise<number> {
    const code = await Promise.race([this.proc.exited, Bun.sleep(timeoutMs).then(() => "timeout" as const)]);
    if (code === "timeout") {
      const tree = killTree(this.pid);
      throw new Error(
        `vault serve did not exit within ${timeoutMs} ms (killed ${tree.join(", ")})\n${this.output()}`,
      );
    }
    await this.drained;
    return code;
  }

  /** SIGTERM, then waits for the exit; its exit code. */
  async stop(timeoutMs = 20_000): Promise<number> {
    this.proc.kill("SIGTERM");
    return this.exited(timeoutMs);
  }

  /** kill -9 of the supervisor and every descendant; waits until none runs. */
  async killTree(): Promise<number[]> {
    const pids = killTree(this.pid);
    await this.proc.exited;
    await waitFor("the killed tree to be gone", () => pids.every((p) => !isRunning(p)), {
      timeoutMs: 10_000,
    });
    return pids;
  }
}

const started = new Set<ServeProcess>();

/** Starts `vault serve`; the caller waits for readiness (or for an exit) itself. */
export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  const listen = options.listen === undefined ? `127.0.0.1:${await freePort()}` : options.listen;
  const server = new ServeProcess({ ...options, listen });
  started.add(server);
  return server;
}

/** For afterAll/afterEach: kill -9 whatever a test left running. */
export async function stopAllServers(): Promise<void> {
  for (const server of started) {
    if (server.proc.exitCode === null && server.proc.signalCode === null) await server.killTree();
    // Children seen earlier that outlived their supervisor (checked to still be ours: pids are reused).
    for (const pid of server.seenChildren) {
      if (isRunning(pid) && cmdline(pid)[0] === server.options.bin) killTree(pid);
    }
    started.delete(server);
  }
}
