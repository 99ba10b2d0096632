import { isIPv4, isIPv6 } from 'node:net';
import { quote } from './format-problem.js';

const EXAMPLES = 'such as 10.0.0.0/8 or 2001:db8::/32';

/** An address as equal-width units: 4 octets for IPv4, 8 sixteen-bit groups for IPv6. */
interface Address {
  family: 4 | 6;
  units: number[];
}

/**
 * Returns the canonical form ("10.0.0.0/8", "2001:db8::/32") or a reason it is not a CIDR.
 * Canonical means what providers print back, so that desired and observed state compare equal:
 * IPv6 in lower case and compressed (RFC 5952), a network address with no host bits set.
 */
export function parseCidr(text: string): { cidr: string } | { error: string } {
  const trimmed = text.trim();
  const slash = trimmed.lastIndexOf('/');
  const address = readAddress(slash < 0 ? trimmed : trimmed.slice(0, slash));
  if (!address) return { error: `${quote(text)} is not a CIDR: expected an address and a prefix length ${EXAMPLES}` };
  const bits = address.family === 4 ? 32 : 128;
  if (slash < 0) {
    return { error: `${quote(text)} is an address without a prefix length: write ${formatAddress(address)}/${bits} for that one address` };
  }
  const prefixText = trimmed.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    return { error: `${quote(text)} has prefix length ${quote(prefixText)}: an IPv${address.family} prefix length is 0-${bits}` };
  }
  const prefix = Number(prefixText);
  const network = maskHostBits(address, prefix);
  const canonical = `${formatAddress(network)}/${prefix}`;
  if (network.units.some((unit, i) => unit !== address.units[i])) {
    return { error: `${quote(text)} has host bits set: did you mean ${canonical}?` };
  }
  return { cidr: canonical };
}

function readAddress(text: string): Address | undefined {
  if (isIPv4(text)) return { family: 4, units: text.split('.').map(Number) };
  // A zone (fe80::1%eth0) names an interface on one host: meaningless in a firewall rule.
  if (isIPv6(text) && !text.includes('%')) return { family: 6, units: ipv6Groups(text) };
  return undefined;
}

/** The eight groups of an address that isIPv6 accepted (so at most one `::`, a dotted quad only at the end). */
function ipv6Groups(text: string): number[] {
  const groupsOf = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = text.indexOf('::');
  if (gap < 0) return groupsOf(text);
  const head = groupsOf(text.slice(0, gap));
  const tail = groupsOf(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function maskHostBits(address: Address, prefix: number): Address {
  const width = address.family === 4 ? 8 : 16;
  const units = address.units.map((unit, i) => {
    const kept = Math.min(width, Math.max(0, prefix - i * width));
    const mask = kept === 0 ? 0 : ((1 << width) - 1) ^ ((1 << (width - kept)) - 1);
    return unit & mask;
  });
  return { family: address.family, units };
}

function formatAddress({ family, units }: Address): string {
  if (family === 4) return units.join('.');
  // IPv4-mapped addresses keep their dotted tail, as RFC 5952 section 5 recommends.
  if (units.slice(0, 5).every((unit) => unit === 0) && units[5] === 0xffff) {
    const [g6 = 0, g7 = 0] = units.slice(6);
    return `::ffff:${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  // Compress the longest run of two or more zero groups, the first such run on a tie.
  let runStart = -1;
  let runLength = 0;
  for (let i = 0; i < units.length; ) {
    let j = i;
    while (j < units.length && units[j] === 0) j++;
    if (j - i > runLength && j - i >= 2) [runStart, runLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (list: number[]) => list.map((unit) => unit.toString(16)).join(':');
  if (runStart < 0) return hex(units);
  return `${hex(units.slice(0, runStart))}::${hex(units.slice(runStart + runLength))}`;
}
