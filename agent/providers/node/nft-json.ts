// The nftables rules of a forward, as data: built from a NodeForward, written as nft JSON, and read
// back from `nft -j list` into the same shape, so what is applied and what is observed compare exactly.
import { parseCidr } from '../../manifest/cidr.js';
import type { Exposure, JsonObject, JsonValue, Protocol } from '../../model.js';
import type { NodeForward } from './backend.js';

export const CHAINS = [
  { name: 'prerouting', hook: 'prerouting', prio: -100 },
  { name: 'output', hook: 'output', prio: -100 },
  { name: 'postrouting', hook: 'postrouting', prio: 100 },
] as const;
export type ChainName = (typeof CHAINS)[number]['name'];
export type Family = 'ip' | 'ip6';

/**
 * One rule, normalised. `dnat` forwards one node port (from `source` only, when set); `note` records a
 * source of the other address family than the instance: no packet from it can be forwarded (there is no
 * NAT between families), but the rule keeps the forward's sources readable; `masquerade` makes replies
 * come back through the node.
 */
export type RuleSpec =
  | { kind: 'dnat'; chain: 'prerouting' | 'output'; protocol: Protocol; nodePort: number; source?: string; family: Family; address: string; port: number }
  | { kind: 'note'; chain: 'prerouting'; protocol: Protocol; nodePort: number; source: string }
  | { kind: 'masquerade'; chain: 'postrouting'; protocol: Protocol; family: Family; address: string; port: number };

/** What a rule's comment says: the fields of a forward that are not in its rule expressions. */
export interface Mark {
  id: string;
  cluster: string;
  exposure: Exposure;
}

const MARK = 'portcullis v1';
const COMMENT_MAX_BYTES = 128;

/** `portcullis v1 <id> <exposure>`, then the cluster only when the id does not already name it. */
export function markComment(f: Mark): string {
  const comment = `${MARK} ${f.id} ${f.exposure}${clusterOfId(f.id) === f.cluster ? '' : ` ${f.cluster}`}`;
  if (/\s/.test(f.id) || /\s/.test(f.cluster)) throw new Error(`forward ${f.id}: the id and cluster name may not contain white space`);
  if (Buffer.byteLength(comment) > COMMENT_MAX_BYTES) {
    throw new Error(`forward ${f.id}: its ownership comment would be ${Buffer.byteLength(comment)} bytes, nftables keeps ${COMMENT_MAX_BYTES}; use a shorter cluster or port name`);
  }
  return comment;
}

export function parseMark(comment: unknown): Mark | undefined {
  if (typeof comment !== 'string' || !comment.startsWith(`${MARK} `)) return undefined;
  const [id, exposure, cluster, ...rest] = comment.slice(MARK.length + 1).split(' ');
  if (!id || (exposure !== 'public' && exposure !== 'private') || rest.length > 0) return undefined;
  const owner = cluster ?? clusterOfId(id);
  return owner ? { id, cluster: owner, exposure } : undefined;
}

/** Resource ids are `node/{cluster}/Forward/{name}`. */
const clusterOfId = (id: string): string | undefined => id.split('/')[1];

/** An IP address's family, or undefined when `text` is not an IP address in canonical form. */
export function familyOf(text: string): Family | undefined {
  const canonical = canonicalAddress(text);
  return canonical?.address === text ? canonical.family : undefined;
}

/** An address in the canonical form of manifest CIDRs (nft prints IPv6 as glibc does, which may differ). */
function canonicalAddress(text: string): { family: Family; address: string } | undefined {
  for (const [family, bits] of [['ip', 32], ['ip6', 128]] as const) {
    const parsed = parseCidr(`${text}/${bits}`);
    if ('cidr' in parsed) return { family, address: parsed.cidr.slice(0, -`/${bits}`.length) };
  }
  return undefined;
}

/** The rules of a forward, port by port. Forwards must be valid (see `forwardProblem`). */
export function rulesOf(f: NodeForward): RuleSpec[] {
  const family = familyOf(f.address) ?? 'ip';
  const own = f.sources.filter((s) => sourceFamily(s) === family);
  const other = f.sources.filter((s) => sourceFamily(s) !== family);
  const rules: RuleSpec[] = [];
  for (let k = 0; k < f.size; k++) {
    const [nodePort, port, protocol] = [f.nodePort + k, f.port + k, f.protocol];
    for (const chain of ['prerouting', 'output'] as const) {
      const sources = f.sources.length === 0 ? [undefined] : own;
      for (const source of sources) rules.push({ kind: 'dnat', chain, protocol, nodePort, family, address: f.address, port, ...(source ? { source } : {}) });
    }
    for (const source of other) rules.push({ kind: 'note', chain: 'prerouting', protocol, nodePort, source });
    rules.push({ kind: 'masquerade', chain: 'postrouting', protocol, family, address: f.address, port });
  }
  return rules;
}

const sourceFamily = (cidr: string): Family => (cidr.includes(':') ? 'ip6' : 'ip');

/** Why the nftables backend cannot hold `f` exactly as given, or undefined when it can. */
export function forwardProblem(f: NodeForward): string | undefined {
  if (!familyOf(f.address)) return `address '${f.address}' is not an IP address in canonical form (the nftables backend needs one)`;
  if (f.protocol !== 'tcp' && f.protocol !== 'udp') return `protocol '${String(f.protocol)}' is not tcp or udp`;
  const inPorts = (start: number) => Number.isInteger(start) && start >= 1 && start + f.size - 1 <= 65535;
  if (!Number.isInteger(f.size) || f.size < 1) return `size ${f.size} is not a positive whole number`;
  if (!inPorts(f.port) || !inPorts(f.nodePort)) return `ports ${f.port} and node ports ${f.nodePort} (size ${f.size}) must lie in 1-65535`;
  for (const source of f.sources) {
    const parsed = parseCidr(source);
    if (!('cidr' in parsed) || parsed.cidr !== source) return `source '${source}' is not a canonical CIDR${'cidr' in parsed ? ` (write ${parsed.cidr})` : ''}`;
  }
  const sorted = [...new Set(f.sources)].sort();
  if (sorted.join() !== f.sources.join()) return 'sources must be sorted and free of duplicates, as they are read back';
  try {
    markComment(f);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/** The body of an nft JSON `rule` object (without family, table and handle). */
export function ruleJson(spec: RuleSpec, comment: string): JsonObject {
  const dport = match({ payload: { protocol: spec.protocol, field: 'dport' } }, spec.kind === 'masquerade' ? spec.port : spec.nodePort);
  const fibLocal = match({ fib: { result: 'type', flags: ['daddr'] } }, 'local');
  let expr: JsonValue[];
  if (spec.kind === 'masquerade') {
    expr = [match({ payload: { protocol: spec.family, field: 'daddr' } }, spec.address), dport, { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } }, { masquerade: null }];
  } else {
    const from = spec.source ? sourceMatch(spec.source) : match({ meta: { key: 'nfproto' } }, spec.kind === 'dnat' && spec.family === 'ip6' ? 'ipv6' : 'ipv4');
    expr = [from, fibLocal, dport];
    if (spec.kind === 'dnat') expr.push({ dnat: { family: spec.family, addr: spec.address, port: spec.port } });
  }
  return { chain: spec.chain, comment, expr };
}

const match = (left: JsonObject, right: JsonValue): JsonObject => ({ match: { op: '==', left, right } });

function sourceMatch(cidr: string): JsonObject {
  const [addr = '', len = ''] = cidr.split('/');
  return match({ payload: { protocol: sourceFamily(cidr), field: 'saddr' } }, { prefix: { addr, len: Number(len) } });
}

/** One expression of a listed rule, in the forms `ruleJson` writes (nft lists a /32 or /128 prefix as a bare address). */
type Atom =
  | { t: 'nfproto'; family: Family }
  | { t: 'saddr'; source: string }
  | { t: 'fib' }
  | { t: 'dport'; protocol: Protocol; port: number }
  | { t: 'daddr'; family: Family; address: string }
  | { t: 'ctdnat' }
  | { t: 'dnat'; family: Family; address: string; port: number }
  | { t: 'masquerade' };

/** Reads a listed rule back into its spec; undefined for anything `ruleJson` does not write. */
export function parseRule(chain: string, expr: unknown): RuleSpec | undefined {
  if (!Array.isArray(expr)) return undefined;
  const atoms = expr.map(atomOf);
  if (atoms.some((a) => a === undefined)) return undefined;
  const shape = atoms.map((a) => a!.t).join(' ');
  const a = atoms as Atom[];
  const at = <T extends Atom['t']>(i: number, t: T) => a[i] as Extract<Atom, { t: T }>;
  if (chain === 'postrouting' && shape === 'daddr dport ctdnat masquerade') {
    const [daddr, dport] = [at(0, 'daddr'), at(1, 'dport')];
    return { kind: 'masquerade', chain, protocol: dport.protocol, family: daddr.family, address: daddr.address, port: dport.port };
  }
  if ((chain === 'prerouting' || chain === 'output') && (shape === 'saddr fib dport dnat' || shape === 'nfproto fib dport dnat')) {
    const [dport, dnat] = [at(2, 'dport'), at(3, 'dnat')];
    const first = a[0]!;
    if (first.t === 'nfproto' && first.family !== dnat.family) return undefined;
    if (first.t === 'saddr' && sourceFamily(first.source) !== dnat.family) return undefined;
    const source = first.t === 'saddr' ? { source: first.source } : {};
    return { kind: 'dnat', chain, protocol: dport.protocol, nodePort: dport.port, family: dnat.family, address: dnat.address, port: dnat.port, ...source };
  }
  if (chain === 'prerouting' && shape === 'saddr fib dport') {
    return { kind: 'note', chain, protocol: at(2, 'dport').protocol, nodePort: at(2, 'dport').port, source: at(0, 'saddr').source };
  }
  return undefined;
}

function atomOf(value: unknown): Atom | undefined {
  const v = value as Record<string, Record<string, unknown> | null | undefined>;
  if (typeof value !== 'object' || value === null) return undefined;
  if ('masquerade' in v && v.masquerade === null) return { t: 'masquerade' };
  const dnat = v.dnat;
  if (dnat) {
    const target = typeof dnat.addr === 'string' ? canonicalAddress(dnat.addr) : undefined;
    if (!target || target.family !== dnat.family || !isPort(dnat.port)) return undefined;
    return { t: 'dnat', family: target.family, address: target.address, port: dnat.port };
  }
  const m = v.match as { op?: unknown; left?: Record<string, Record<string, unknown>>; right?: unknown } | undefined;
  if (!m || !m.left) return undefined;
  const { op, left, right } = m;
  if (op === 'in' && left.ct?.key === 'status' && right === 'dnat') return { t: 'ctdnat' };
  if (op !== '==') return undefined;
  if (left.meta?.key === 'nfproto' && (right === 'ipv4' || right === 'ipv6')) return { t: 'nfproto', family: right === 'ipv4' ? 'ip' : 'ip6' };
  const fib = left.fib;
  if (fib && fib.result === 'type' && JSON.stringify(fib.flags) === '["daddr"]' && right === 'local') return { t: 'fib' };
  const payload = left.payload;
  if (!payload) return undefined;
  const { protocol, field } = payload;
  if ((protocol === 'tcp' || protocol === 'udp') && field === 'dport' && isPort(right)) return { t: 'dport', protocol, port: right };
  if (protocol !== 'ip' && protocol !== 'ip6') return undefined;
  const target = field === 'daddr' && typeof right === 'string' ? canonicalAddress(right) : undefined;
  if (target) return target.family === protocol ? { t: 'daddr', ...target } : undefined;
  if (field === 'saddr') {
    const source = cidrOf(right, protocol);
    return source ? { t: 'saddr', source } : undefined;
  }
  return undefined;
}

function cidrOf(right: unknown, family: Family): string | undefined {
  const prefix = (right as { prefix?: { addr?: unknown; len?: unknown } } | null)?.prefix;
  const text = typeof right === 'string' ? `${right}/${family === 'ip' ? 32 : 128}` : prefix ? `${String(prefix.addr)}/${String(prefix.len)}` : undefined;
  const parsed = text === undefined ? undefined : parseCidr(text);
  return parsed && 'cidr' in parsed && sourceFamily(parsed.cidr) === family ? parsed.cidr : undefined;
}

const isPort = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;

/** A spec as a string, so applied and listed rules compare as multisets. */
export const specKey = (spec: RuleSpec): string => JSON.stringify(spec, Object.keys(spec).sort());
