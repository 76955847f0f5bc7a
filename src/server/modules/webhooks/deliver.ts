/**
 * One attempt at a delivery: a signed `POST` of the JSON body.
 *
 * Signature (Stripe's scheme): `Vault-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256 of
 * "<t>.<body>" under the webhook's secret>`. The timestamp is signed with the body, so a
 * receiver that refuses old timestamps (five minutes is the documented tolerance) refuses a
 * replayed request, and dedupes by `Vault-Webhook-Id` for the retries inside that window.
 *
 * The connection goes through node:http(s) with our own DNS lookup: the host is resolved, every
 * address checked (address.ts) and the socket connects to the address that was checked. No
 * redirect is followed (a 3xx is a failed attempt), an attempt is cut at `timeoutMs`, and at most
 * EXCERPT_BYTES of the answer are read, kept only as a short excerpt without control characters.
 */
import { createHmac } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { version } from "../../../version";
import { type AddressPolicy, type Resolve, resolveChecked, WebhookAddressError } from "./address";

export const EXCERPT_BYTES = 512;
const EXCERPT_CHARS = 200;

/** `t=<timestamp>,v1=<mac>` with one `v1` per secret (two while a rotated-out secret still signs). */
export function signature(secrets: string | readonly string[], timestamp: number, body: string): string {
  const macs = (typeof secrets === "string" ? [secrets] : secrets).map(
    (secret) => `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`,
  );
  return `t=${timestamp},${macs.join(",")}`;
}

/** What went wrong with an attempt, as a class (never the text of a foreign error). */
export type AttemptError =
  | "REFUSED_SCHEME"
  | "REFUSED_ADDRESS"
  | "UNRESOLVED"
  | "CONNECT"
  | "TLS"
  | "TIMEOUT"
  | "REDIRECT"
  | "HTTP_STATUS"
  | "NETWORK";

export interface AttemptResult {
  status: number | null;
  latencyMs: number;
  error: AttemptError | null;
  excerpt: string | null;
  /** The app is stopping: the attempt was cut short and is not recorded. */
  aborted?: boolean;
}

export interface SendOptions {
  url: string;
  body: string;
  deliveryId: string;
  /** The webhook's secret, and the previous one while it still signs. */
  secret: string | readonly string[];
  /** Unix seconds for the signature. */
  timestamp: number;
  policy: AddressPolicy;
  resolve: Resolve;
  timeoutMs: number;
  /** Monotonic milliseconds, for the latency. */
  clock?: () => number;
  signal?: AbortSignal;
  /** Certificate authorities trusted for https receivers (PEM), instead of the system's (tests). */
  ca?: string;
}

/** Control characters (C0, DEL, C1, bidi controls) out, whitespace runs to one space, bounded. */
export function excerptOf(bytes: Buffer): string | null {
  const text = bytes
    .toString("utf8")
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffd]+/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, EXCERPT_CHARS);
  return text === "" ? null : text;
}

function errorClass(error: unknown): AttemptError {
  const code = (error as { code?: string }).code ?? "";
  if (/TIMEDOUT|TIMEOUT/i.test(code)) return "TIMEOUT";
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME/i.test(code)) return "TLS";
  if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE/.test(code)) return "CONNECT";
  return "NETWORK";
}

export async function sendOnce(options: SendOptions): Promise<AttemptResult> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const url = new URL(options.url);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const elapsed = () => Math.max(0, Math.round(clock() - started));
  // A server restarted without --webhooks-allow-http no longer sends to http:// webhooks it has.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && options.policy.allowHttp))
    return { status: null, latencyMs: elapsed(), error: "REFUSED_SCHEME", excerpt: null };
  // Resolved and checked before the request, so a refusal is its own class; the lookup below
  // hands the connection this same address instead of resolving again.
  let checked: { address: string; family: 4 | 6 };
  try {
    checked = await resolveChecked(host, options.policy, options.resolve);
  } catch (error) {
    const unresolved = error instanceof WebhookAddressError && error.code === "UNRESOLVED";
    return {
      status: null,
      latencyMs: elapsed(),
      error: unresolved ? "UNRESOLVED" : "REFUSED_ADDRESS",
      excerpt: null,
    };
  }
  const lookup: LookupFunction = (_hostname, opts, callback) => {
    if ((opts as { all?: boolean }).all)
      callback(null, [{ address: checked.address, family: checked.family }]);
    else callback(null, checked.address, checked.family);
  };
  const body = Buffer.from(options.body, "utf8");
  const headers = {
    "content-type": "application/json",
    "content-length": String(body.length),
    "user-agent": `vault-webhooks/${version}`,
    "vault-webhook-id": options.deliveryId,
    "vault-signature": signature(options.secret, options.timestamp, options.body),
  };
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const done = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = transport.request(
      {
        protocol: url.protocol,
        host,
        // The name the certificate is checked against and the Host header keep the URL's host.
        servername: url.protocol === "https:" && !/^[\d.]+$|:/.test(host) ? host : undefined,
        port: url.port === "" ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers,
        lookup,
        agent: false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const excerpt = excerptOf(Buffer.concat(chunks).subarray(0, EXCERPT_BYTES));
          response.destroy();
          request.destroy();
          const ok = status >= 200 && status < 300;
          done({
            status,
            latencyMs: elapsed(),
            error: ok ? null : status >= 300 && status < 400 ? "REDIRECT" : "HTTP_STATUS",
            excerpt,
          });
        };
        response.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= EXCERPT_BYTES) finish();
        });
        response.on("end", finish);
        response.on("error", finish);
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      done({ status: null, latencyMs: elapsed(), error: "TIMEOUT", excerpt: null });
    }, options.timeoutMs);
    request.on("error", (error) =>
      done({ status: null, latencyMs: elapsed(), error: errorClass(error), excerpt: null }),
    );
    const onAbort = () => {
      done({ status: null, latencyMs: elapsed(), error: "NETWORK", excerpt: null, aborted: true });
      request.destroy();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    request.end(body);
  });
}
