/**
 * Where a webhook may go (no server-side request forgery). A URL is `https://` unless
 * `--webhooks-allow-http`, carries no user name or password, and its host must resolve only to
 * public addresses: loopback, link-local, private, CGNAT, "this network", multicast, reserved
 * and documentation ranges are refused, in IPv4, IPv6 and the IPv6 forms that embed an IPv4
 * address (IPv4-mapped, IPv4-compatible, NAT64), unless `--webhooks-allow-private` names a range
 * that holds the address.
 *
 * The check runs when a webhook is made or changed (a 400 naming the kind of address) and again
 * at every attempt, inside the connection's own DNS lookup (see deliver.ts): the request goes to
 * the address that was checked, so a name that resolves to a public address at the check and to
 * a private one a moment later (DNS rebinding) cannot reach the private one.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type IpRange, inRanges, parseIp, parseIpRange } from "../../../ip-range";

/** Resolves a host name to its addresses (node's dns.lookup with all: true; tests inject one). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

export const defaultResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface AddressPolicy {
  allowHttp: boolean;
  /** Ranges a webhook may reach although they are not public. */
  allowPrivate: readonly IpRange[];
}

const ranges = (kind: string, list: string[]) => list.map((text) => ({ kind, range: parseIpRange(text) }));

/** Every range refused by default, with the kind an error names. IPv4 ranges match mapped forms too. */
const REFUSED: readonly { kind: string; range: IpRange }[] = [
  ...ranges("a loopback address", ["127.0.0.0/8", "::1"]),
  ...ranges("an unspecified or 'this network' address", ["0.0.0.0/8", "::"]),
  ...ranges("a private address", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]),
  ...ranges("a shared (CGNAT) address", ["100.64.0.0/10"]),
  ...ranges("a link-local address", ["169.254.0.0/16", "fe80::/10"]),
  ...ranges("a multicast address", ["224.0.0.0/4", "ff00::/8"]),
  ...ranges("a reserved or documentation address", [
    "192.0.0.0/24",
    "192.0.2.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "2001:db8::/32",
    "fec0::/10",
  ]),
];

/** The IPv4 address an IPv6 address embeds and would reach (IPv4-compatible ::a.b.c.d, NAT64), if any. */
function embeddedV4(bytes: Uint8Array): Uint8Array | undefined {
  const v4 = (from: number) =>
    Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes.slice(from)]);
  const zeros = (a: number, b: number) => bytes.slice(a, b).every((x) => x === 0);
  // ::a.b.c.d (deprecated IPv4-compatible), but not :: and ::1, which are refused on their own.
  if (zeros(0, 12) && !zeros(12, 15)) return v4(12);
  // 64:ff9b::/96, the well-known NAT64 prefix.
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12))
    return v4(12);
  return undefined;
}

/** Why an address is refused (the kind of address), or undefined when a webhook may reach it. */
export function refusedAddress(address: string, allowPrivate: readonly IpRange[]): string | undefined {
  const bytes = parseIp(address.replace(/%.*$/, ""));
  if (!bytes) return "not an IP address";
  if (inRanges(bytes, allowPrivate)) return undefined;
  for (const { kind, range } of REFUSED) if (inRanges(bytes, [range])) return kind;
  const inner = embeddedV4(bytes);
  if (inner && !inRanges(inner, allowPrivate)) {
    for (const { kind, range } of REFUSED) if (inRanges(inner, [range])) return kind;
  }
  return undefined;
}

export class WebhookAddressError extends Error {
  constructor(
    readonly code: "SCHEME" | "URL" | "REFUSED" | "UNRESOLVED",
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "WebhookAddressError";
  }
}

const ALLOW_HINT =
  "webhooks go to public addresses; to reach this one, start the server with --webhooks-allow-private CIDR (e.g. 10.0.0.0/8)";

/** A URL as a webhook may hold it: its normalized text, origin and host (an IP without brackets). */
export interface CheckedUrl {
  url: string;
  origin: string;
  host: string;
  https: boolean;
}

/** Checks what the URL's text alone can tell: scheme, credentials, length, a literal address. */
export function checkUrlText(text: string, policy: AddressPolicy): CheckedUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookAddressError(
      "URL",
      "the webhook URL is not a URL",
      "like: https://hooks.example.com/vault",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new WebhookAddressError(
      "SCHEME",
      "a webhook URL is https://",
      "like: https://hooks.example.com/vault",
    );
  if (url.protocol === "http:" && !policy.allowHttp)
    throw new WebhookAddressError(
      "SCHEME",
      "only https:// webhook URLs are allowed",
      "use https://, or start the server with --webhooks-allow-http (for a receiver on a trusted network)",
    );
  if (url.username !== "" || url.password !== "")
    throw new WebhookAddressError(
      "URL",
      "a webhook URL carries no user name or password",
      "verify deliveries with the signing secret instead (the Vault-Signature header)",
    );
  url.hash = "";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "")
    throw new WebhookAddressError(
      "URL",
      "the webhook URL names no host",
      "like: https://hooks.example.com/vault",
    );
  if (isIP(host)) {
    const why = refusedAddress(host, policy.allowPrivate);
    if (why) throw new WebhookAddressError("REFUSED", `the webhook URL's host is ${why}`, ALLOW_HINT);
  }
  return { url: url.href, origin: url.origin, host, https: url.protocol === "https:" };
}

/**
 * The host's addresses, every one checked: one refused address refuses the host (which of its
 * addresses a connection would use is not ours to choose). Returns the first address.
 */
export async function resolveChecked(
  host: string,
  policy: AddressPolicy,
  resolve: Resolve,
): Promise<{ address: string; family: 4 | 6 }> {
  if (isIP(host)) {
    const why = refusedAddress(host, policy.allowPrivate);
    if (why) throw new WebhookAddressError("REFUSED", `the webhook URL's host is ${why}`, ALLOW_HINT);
    return { address: host, family: isIP(host) === 6 ? 6 : 4 };
  }
  let found: { address: string; family: number }[];
  try {
    found = await resolve(host);
  } catch {
    found = [];
  }
  if (found.length === 0)
    throw new WebhookAddressError(
      "UNRESOLVED",
      `the webhook URL's host ${host.slice(0, 100)} does not resolve`,
      "check the host name (the server resolves it with its own DNS)",
    );
  for (const { address } of found) {
    const why = refusedAddress(address, policy.allowPrivate);
    if (why)
      throw new WebhookAddressError(
        "REFUSED",
        `the webhook URL's host ${host.slice(0, 100)} resolves to ${why}`,
        ALLOW_HINT,
      );
  }
  const first = found[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
