/**
 * IP addresses and CIDR ranges, IPv4 and IPv6, for deciding which direct
 * peers are trusted proxies. Every address is held as 16 bytes: an IPv4
 * address as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so that a
 * dual-stack socket's `::ffff:10.0.0.1` falls in `10.0.0.0/8`.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface IpRange {
  /** As written in the configuration, e.g. "10.0.0.0/8". */
  readonly text: string;
  readonly bytes: Uint8Array;
  /** Prefix length over the 16-byte form (an IPv4 /8 is 104). */
  readonly prefix: number;
}

function parseIPv4(text: string): number[] | undefined {
  if (!isIPv4(text)) return undefined;
  return text.split(".").map(Number);
}

/** The 16-byte form of an IPv4 or IPv6 address (no zone id, no brackets), or undefined. */
export function parseIp(text: string): Uint8Array | undefined {
  const v4 = parseIPv4(text);
  if (v4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !isIPv6(text)) return undefined;
  let body = text;
  const lastColon = body.lastIndexOf(":");
  if (body.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) is two more groups.
    const v4tail = parseIPv4(body.slice(lastColon + 1));
    if (!v4tail) return undefined;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    body = `${body.slice(0, lastColon + 1)}${hex(v4tail[0]!, v4tail[1]!)}:${hex(v4tail[2]!, v4tail[3]!)}`;
  }
  const halves = body.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 1 ? 0 : missing).fill("0"), ...right];
  const out = new Uint8Array(16);
  all.forEach((group, i) => {
    const n = Number.parseInt(group, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

function isMappedV4(bytes: Uint8Array): boolean {
  return bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

export class IpRangeError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "IpRangeError";
  }
}

/** `ADDRESS` (one host) or `ADDRESS/PREFIX`; a range with host bits set is refused rather than guessed at. */
export function parseIpRange(text: string): IpRange {
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const bytes = parseIp(address);
  if (!bytes) throw new IpRangeError(`"${text}" is not an IP address or a CIDR range`);
  const v4 = isIPv4(address);
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max)
      throw new IpRangeError(`"${text}": the prefix length must be 0 to ${max}`);
    prefix = Number(p);
  }
  const range: IpRange = { text, bytes, prefix: v4 ? prefix + 96 : prefix };
  if (bytes.some((b, i) => (b & ~maskOf(i, range.prefix) & 0xff) !== 0))
    throw new IpRangeError(
      `"${text}" has bits set after its /${prefix} prefix`,
      "write the network address of the range (10.0.0.0/8, not 10.1.2.3/8), or the address alone",
    );
  return range;
}

/** The bits of byte `i` that a prefix of `prefix` bits covers. */
function maskOf(i: number, prefix: number): number {
  const bits = Math.max(0, Math.min(8, prefix - i * 8));
  return (0xff << (8 - bits)) & 0xff;
}

function sameRange(ip: Uint8Array, range: IpRange): boolean {
  for (let i = 0; i < 16; i++) {
    const mask = maskOf(i, range.prefix);
    if ((ip[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

export function inRanges(ip: Uint8Array, ranges: readonly IpRange[]): boolean {
  return ranges.some((range) => sameRange(ip, range));
}

/** Loopback: the default trusted proxy (one on the same host). */
export const LOOPBACK_RANGES: readonly IpRange[] = Object.freeze([
  parseIpRange("127.0.0.0/8"),
  parseIpRange("::1"),
]);

/**
 * One hop of an `X-Forwarded-For` list: an address, with the port some
 * proxies append (`1.2.3.4:5678`, `[2001:db8::1]:5678`). Its 16-byte form
 * and its plain text (no port, no brackets, IPv4-mapped shown as IPv4), or
 * undefined for anything else (`unknown`, an obfuscated id, garbage).
 */
export function parseForwardedHop(text: string): { bytes: Uint8Array; address: string } | undefined {
  let address = text;
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    if (end === -1 || !/^(:\d{1,5})?$/.test(address.slice(end + 1))) return undefined;
    address = address.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(address)) {
    address = address.slice(0, address.indexOf(":"));
  }
  const bytes = parseIp(address);
  if (!bytes) return undefined;
  return { bytes, address: isMappedV4(bytes) ? bytes.slice(12).join(".") : address.toLowerCase() };
}
