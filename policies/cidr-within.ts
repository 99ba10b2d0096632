import { isIPv4 } from 'node:net';
import { parseCidr } from '../agent/manifest/cidr.js';

interface Network {
  family: 4 | 6;
  base: bigint;
  prefix: number;
}

function network(text: string): Network | undefined {
  const parsed = parseCidr(text);
  if ('error' in parsed) return undefined;
  const [address, prefix] = parsed.cidr.split('/') as [string, string];
  if (isIPv4(address)) return { family: 4, base: address.split('.').reduce((n, octet) => (n << 8n) | BigInt(octet), 0n), prefix: Number(prefix) };
  // parseCidr writes IPv6 compressed: expand `::` back to its zero groups.
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { family: 6, base: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n), prefix: Number(prefix) };
}

/** True when every address of `inner` is in `outer` (both CIDRs of the same family). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = network(inner);
  const b = network(outer);
  if (!a || !b || a.family !== b.family || a.prefix < b.prefix) return false;
  const bits = BigInt(a.family === 4 ? 32 : 128);
  const shift = bits - BigInt(b.prefix);
  return a.base >> shift === b.base >> shift;
}
