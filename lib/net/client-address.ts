/**
 * Client addresses as the limits see them.
 *
 * Every per-address limit (connection caps, connection rate, login throttles)
 * keys on an *address group*: the IPv4 address itself, or the /64 prefix of an
 * IPv6 address — one IPv6 customer usually holds a whole /64 (RFC 6177), so
 * keying on the full address would let one client walk around every limit.
 * IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, RFC 4291 §2.5.5.2) are the
 * IPv4 address they carry.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ClientAddress {
  /** The address, normalised (IPv4-mapped IPv6 unwrapped). */
  readonly ip: string;
  /** The key every per-address table uses: the IPv4 address, or `xxxx:xxxx:xxxx:xxxx::/64`. */
  readonly group: string;
}

export function clientAddress(rawIp: string | undefined): ClientAddress {
  const ip = normaliseIp(rawIp ?? '');
  return { ip, group: addressGroup(ip) };
}

export function normaliseIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  return ip.toLowerCase();
}

export function addressGroup(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const groups = expandIPv6(ip);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as 4-digit hex (RFC 4291 §2.2). */
export function expandIPv6(ip: string): string[] {
  const zoneless = ip.split('%')[0]!;
  let text = zoneless;
  // An embedded IPv4 tail (RFC 4291 §2.2 form 3) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [headText, tailText] = text.includes('::') ? text.split('::') : [text, undefined];
  const head = headText ? headText.split(':') : [];
  const tail = tailText ? tailText.split(':') : [];
  const missing = 8 - head.length - tail.length;
  const all = [...head, ...(tailText !== undefined ? Array(missing).fill('0') : []), ...tail];
  return all.map((g) => g.padStart(4, '0'));
}

/** Loopback: 127.0.0.0/8 and ::1 (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3). */
export function isLoopback(ip: string): boolean {
  const n = normaliseIp(ip);
  return n === '::1' || /^127\./.test(n);
}

/**
 * A set of addresses and CIDR prefixes (for `trust_proxy`), matched against a
 * client address. Entries are validated by the config parser.
 */
export class AddressMatcher {
  private readonly v4: { net: number; bits: number }[] = [];
  private readonly v6: { net: bigint; bits: number }[] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr, bitsText] = entry.split('/');
      const ip = normaliseIp(addr!);
      if (isIPv4(ip)) {
        const bits = bitsText === undefined ? 32 : Number(bitsText);
        this.v4.push({ net: ipv4ToInt(ip) & maskV4(bits), bits });
      } else if (isIPv6(ip)) {
        const bits = bitsText === undefined ? 128 : Number(bitsText);
        this.v6.push({ net: ipv6ToBigInt(ip) & maskV6(bits), bits });
      }
    }
  }

  get empty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  matches(rawIp: string): boolean {
    const ip = normaliseIp(rawIp);
    if (isIPv4(ip)) {
      const n = ipv4ToInt(ip);
      return this.v4.some((e) => (n & maskV4(e.bits)) === e.net);
    }
    if (isIPv6(ip)) {
      const n = ipv6ToBigInt(ip);
      return this.v6.some((e) => (n & maskV6(e.bits)) === e.net);
    }
    return false;
  }
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}
function maskV4(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}
function ipv6ToBigInt(ip: string): bigint {
  return expandIPv6(ip).reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
function maskV6(bits: number): bigint {
  return bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
}

/**
 * The client address of a request that came through trusted proxies
 * (`trust_proxy`). Proxies append the address they received from to
 * `X-Forwarded-For`; walking it from the right, the first address that is not
 * itself a trusted proxy is the client. A peer that is not a trusted proxy
 * cannot set the address at all: its header is ignored.
 */
export function forwardedClient(peerIp: string, forwardedFor: readonly string[], trusted: AddressMatcher): string {
  if (trusted.empty || !trusted.matches(peerIp)) return normaliseIp(peerIp);
  const hops = forwardedFor.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseIp(hops[i]!);
    if (!isIPv4(hop) && !isIPv6(hop)) return normaliseIp(peerIp); // garbage: trust nothing further
    if (!trusted.matches(hop)) return hop;
  }
  return hops.length > 0 ? normaliseIp(hops[0]!) : normaliseIp(peerIp);
}
