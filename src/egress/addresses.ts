import { isIP } from 'node:net';

/**
 * IP addresses and CIDR ranges for the egress policy, in one spelling and as plain numbers. Every
 * check the proxy makes on a connection goes through here, so it is kept cheap: net.BlockList
 * answered in 7-9 µs per check on this machine (it builds a SocketAddress each time), these in well
 * under one.
 */

/** An address as 4 (IPv4) or 16 (IPv6) bytes; `family` is 4 or 6. */
interface Parsed {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** A CIDR range: the first `prefix` bits of `bytes`. */
export interface AddressRange {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

/**
 * One spelling per address: an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, `::ffff:7f00:1`, which
 * the URL parser produces) is the IPv4 address it carries; IPv6 is lower case and compressed
 * (RFC 5952), so `0:0:0:0:0:0:0:1` is `::1`. Brackets go. Not an IP: returned without brackets.
 */
export function canonicalAddress(address: string): string {
  const plain = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(plain) === 4) return plain; // net.isIP takes dotted decimal without leading zeros only: one spelling already
  const parsed = parse(plain);
  if (parsed === null) return plain;
  return format(parsed);
}

/** The range `address/prefix` (prefix default: the whole address), or null when it is not an IP. */
export function rangeOf(address: string, prefix?: number): AddressRange | null {
  const parsed = parse(address);
  if (parsed === null) return null;
  const bits = parsed.family === 4 ? 32 : 128;
  let length = prefix ?? bits;
  // An IPv6 range that lies inside ::ffff:0:0/96 is an IPv4 range in disguise.
  if (parsed.family === 4 && isIP(address) === 6) length = prefix === undefined ? 32 : Math.max(0, length - 96);
  return { family: parsed.family, bytes: parsed.bytes, prefix: Math.min(length, bits) };
}

/** Whether `address` (any spelling) lies in `range`. */
export function inRange(range: AddressRange, address: string): boolean {
  const parsed = parse(address);
  return parsed !== null && contains(range, parsed);
}

/** A set of ranges checked together (a table of special addresses, the host's own addresses). */
export class RangeSet {
  private readonly ranges: AddressRange[];

  constructor(entries: readonly (readonly [string, number?])[]) {
    this.ranges = entries.map(([address, prefix]) => rangeOf(address, prefix)).filter((r): r is AddressRange => r !== null);
  }

  has(address: string): boolean {
    const parsed = parse(address);
    return parsed !== null && this.ranges.some((range) => contains(range, parsed));
  }
}

function contains(range: AddressRange, address: Parsed): boolean {
  if (range.family !== address.family) return false;
  const whole = range.prefix >> 3;
  for (let i = 0; i < whole; i++) if (range.bytes[i] !== address.bytes[i]) return false;
  const rest = range.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((range.bytes[whole] ?? 0) & mask) === ((address.bytes[whole] ?? 0) & mask);
}

/** The last address parsed: one decision asks about the same target several times. */
let last: { text: string; parsed: Parsed | null } = { text: '', parsed: null };

/** Parses an IPv4 or IPv6 literal (no brackets, no zone); IPv4-mapped IPv6 comes back as IPv4. */
function parse(address: string): Parsed | null {
  if (address !== last.text) last = { text: address, parsed: parseOnce(address) };
  return last.parsed;
}

function parseOnce(address: string): Parsed | null {
  const family = isIP(address);
  if (family === 4) return { family: 4, bytes: Uint8Array.from(address.split('.').map(Number)) };
  if (family !== 6) return null;
  const groups = ipv6Groups(address.toLowerCase());
  if (groups === null) return null;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return { family: 4, bytes: Uint8Array.from([high >> 8, high & 0xff, low >> 8, low & 0xff]) };
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return { family: 6, bytes };
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted quad included). */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const split = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = split(head);
  const right = tail === undefined ? [] : split(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  return [...left, ...Array<number>(missing).fill(0), ...right];
}

/** RFC 5952 text: dotted IPv4; IPv6 in lower-case hex with the longest run (≥ 2) of zero groups as `::`. */
function format(address: Parsed): string {
  if (address.family === 4) return Array.from(address.bytes).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((address.bytes[2 * i] ?? 0) << 8) | (address.bytes[2 * i + 1] ?? 0));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
