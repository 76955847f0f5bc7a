/**
 * The `Host` header, checked before any routing, and the request URL made
 * safe for Elysia's router.
 *
 * Why: Bun builds `request.url` from the Host header, and Elysia finds the
 * path by looking for the first `/` from the 12th character on (it assumes
 * `http://` plus a host of at least four characters). A client that sends
 * `Host: x` and asks for `/zzz/metrics` is routed to `/metrics`; a Host that
 * holds `/`, a space or `@` makes Bun hand over a relative URL, which throws
 * where it is parsed (a 500).
 *
 * What is accepted (RFC 9110 §7.2: `uri-host [ ":" port ]`, RFC 3986 §3.2.2):
 * - an IP-literal `[IPv6]` (no zone id, no IPvFuture);
 * - a dotted-quad IPv4 address;
 * - a name of letters, digits, `-`, `.`, `_` and `~` (RFC 3986's unreserved
 *   characters), at most 253 of them. Percent-encoding and sub-delims are
 *   legal in a reg-name but no DNS name uses them, and URL parsers decode
 *   `%2f` into the `/` this check keeps out. A name whose last label is a
 *   number must be a dotted quad: URL parsers read `127.1` or `a.1` as an
 *   IPv4 address, or fail on it;
 * - then an optional `:port` of up to 5 digits, at most 65535 (an empty
 *   port, `host:`, is allowed by RFC 3986 and means the default).
 * No Host at all is accepted only where HTTP allows it (HTTP/1.0); Bun
 * already answers 400 to an HTTP/1.1 request without one.
 *
 * A valid Host shorter than Elysia expects (`Host: a:1`, `Host: [::1]`...)
 * still routes correctly: the URL is rebuilt on `localhost` before routing.
 * Nothing in the app reads the host of `request.url` (absolute URLs come
 * from --public-url), so the rebuilt host changes nothing else. A rebuilt
 * request has lost its socket, so its peer address is kept here for
 * `peerAddress`.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Server, SocketAddress } from "bun";

const MAX_NAME = 253;
const NAME = /^[A-Za-z0-9._~-]+$/;
const NUMERIC_LABEL = /(?:^|\.)(?:\d+|0[xX][0-9A-Fa-f]*)\.?$/;

/** Why a Host header value is refused, or undefined when it is acceptable. */
export function hostProblem(value: string): string | undefined {
  if (value.length === 0) return "the Host header is empty";
  let host = value;
  let port: string | undefined;
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    if (end === -1) return "the Host header opens an IPv6 address with [ but never closes it";
    host = value.slice(1, end);
    const rest = value.slice(end + 1);
    if (rest !== "" && !rest.startsWith(":")) return "the Host header has text after its IPv6 address";
    port = rest === "" ? undefined : rest.slice(1);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !isIPv6(host))
      return "the Host header's [address] is not an IPv6 address";
  } else {
    const colon = value.lastIndexOf(":");
    if (colon !== -1) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (host.length === 0) return "the Host header names no host";
    if (host.length > MAX_NAME) return `the Host header's name is longer than ${MAX_NAME} characters`;
    if (!NAME.test(host))
      return "the Host header holds a character no host name has (only letters, digits, - . _ ~)";
    if (NUMERIC_LABEL.test(host) && !isIPv4(host))
      return "the Host header ends in a number but is not an IPv4 address (a.b.c.d)";
  }
  if (port !== undefined && port !== "") {
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return "the Host header's port is not 0 to 65535";
  }
  return undefined;
}

/** Where Elysia's router starts looking for the path (see the comment at the top). */
const ROUTER_PATH_FROM = 11;

const peers = new WeakMap<Request, SocketAddress | null>();

/**
 * The request to route: the same one when its URL routes correctly, else a
 * copy with the same method, headers, body and signal whose URL is rebuilt
 * on `localhost` (scheme, path and query kept). Call only after
 * `hostProblem` accepted the Host.
 */
export function routableRequest(request: Request, server: Server<unknown> | null, tls: boolean): Request {
  const url = request.url;
  const authority = url.startsWith("http://") ? 7 : url.startsWith("https://") ? 8 : -1;
  let scheme = tls ? "https" : "http";
  let path: string;
  if (authority === -1) {
    // A relative URL: no Host, over HTTP/1.0.
    path = url.startsWith("/") ? url : `/${url}`;
  } else {
    const start = url.indexOf("/", authority);
    if (start >= ROUTER_PATH_FROM) return request;
    scheme = url.slice(0, authority - 3);
    path = start === -1 ? "/" : url.slice(start);
  }
  const rebuilt = new Request(`${scheme}://localhost${path}`, request);
  peers.set(rebuilt, server?.requestIP(request) ?? null);
  return rebuilt;
}

/** The socket peer of a request, also for one `routableRequest` rebuilt. */
export function peerAddress(request: Request, server: Server<unknown> | null): SocketAddress | null {
  if (peers.has(request)) return peers.get(request) ?? null;
  return server?.requestIP(request) ?? null;
}
