import type { Exposure, PortSpec, Position, Problem, ProblemCode, Protocol } from '../model.js';
import { parseCidr } from './cidr.js';
import { quote } from './format-problem.js';
import { suggest } from './suggest.js';

/** How the caller maps a path inside one ports entry to a file position, e.g. ['cidrs', 1]. */
export type Locate = (path: readonly (string | number)[]) => Position;
export interface PortsResult {
  ports: PortSpec[];
  problems: Problem[];
}
type Path = readonly (string | number)[];

const FORMS = 'expected 8080, "10020-10040", "[+][name:][tcp|udp:]port[-end]" or {port: …}';
const MAP_KEYS = ['port', 'protocol', 'name', 'public', 'cidrs'] as const;
/** Spellings that edit distance misses but people write, taking the AMS syntax's word for the map key. */
const KEY_ALIASES: Record<string, string> = { proto: 'protocol' };
/** IP protocols people may try: in `sctp:22` they are a protocol we refuse, not a service name. */
const OTHER_PROTOCOLS = new Set(['sctp', 'icmp', 'icmpv6', 'ipv6-icmp', 'igmp', 'esp', 'ah', 'gre', 'dccp', 'udplite', 'ipip']);
// A Kubernetes port name (IANA service name): at most 15 characters and at least one letter.
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME_MAX = 15;
const RANGE = /^([0-9]+)(?:-([0-9]+))?$/;

/** One port spec as written, before merging. */
interface Declared {
  protocol: Protocol;
  from: number;
  to: number;
  exposure: Exposure;
  cidrs: string[];
  /** Always present, if undefined, so that every spec has one shape (V8 copies those fast). */
  name: string | undefined;
  at: Position;
  /** Declaration order: decides which of two conflicting specs is "the second". */
  order: number;
  /** Exposure and cidrs: equal keys merge, overlapping ranges with different keys conflict. */
  key: string;
}
type Spec = Omit<Declared, 'at' | 'order' | 'key'>;
/** A problem found inside one entry, at a path relative to that entry. */
interface Fault {
  code: ProblemCode;
  message: string;
  path?: Path;
}
type Parsed<T> = T | Fault;

/**
 * `value` is the raw `resources.ports` value; `locate([])` is its position, `locate([i])` entry i,
 * `locate([i, 'cidrs', j])` inside an object entry. (When value is not a list, entry paths drop the index.)
 * Never throws. When problems are returned, `ports` holds what did parse and is not to be acted on.
 */
export function parsePorts(value: unknown, locate: Locate, cluster?: string): PortsResult {
  const problems: Problem[] = [];
  const report = (code: ProblemCode, message: string, at: Position) =>
    problems.push({ code, severity: 'error', message, at, ...(cluster !== undefined ? { cluster } : {}) });
  const entries = Array.isArray(value) ? value.map((entry, i): [unknown, Path] => [entry, [i]]) : [[value, []] as [unknown, Path]];
  const declared: Declared[] = [];
  for (const [entry, path] of entries) {
    const spec = parseEntry(entry);
    if (Array.isArray(spec)) {
      for (const f of spec) report(f.code, f.message, locate([...path, ...(f.path ?? [])]));
      continue;
    }
    const { protocol, from, to, exposure, cidrs, name } = spec;
    declared.push({ protocol, from, to, exposure, cidrs, name, at: locate(path), order: declared.length, key: keyOf(exposure, cidrs) });
  }
  for (const conflict of findConflicts(declared)) report('PORT_CONFLICT', conflict.message, conflict.at);
  return { ports: merge(declared), problems };
}

/** "80" or "10-20". */
export function formatRange(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

/** One entry: the spec, or every fault found in it. */
function parseEntry(entry: unknown): Spec | Fault[] {
  let spec: Parsed<Spec>;
  if (typeof entry === 'number') {
    const range = Number.isInteger(entry) ? checkRange(String(entry)) : fault('PORT_SYNTAX', `${entry} is not a port spec: ${FORMS}`);
    spec = isFault(range) ? range : { protocol: 'tcp', from: range.from, to: range.to, exposure: 'private', cidrs: [], name: undefined };
  } else if (typeof entry === 'string') {
    spec = parseText(entry);
  } else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    return parseMap(entry as Record<string, unknown>);
  } else {
    // A list here is an entry of the ports list: lists do not nest.
    spec = fault('PORT_SYNTAX', `${Array.isArray(entry) ? 'a list inside the ports list' : show(entry)} is not a port spec: ${FORMS}`);
  }
  return isFault(spec) ? [spec] : spec;
}

/** SkyPilot's `8888` / `"10020-10040"` and the AMS service syntax `[+][name:][proto:]port[-end]`. */
function parseText(raw: string): Parsed<Spec> {
  const text = raw.trim();
  if (text === '') return fault('PORT_SYNTAX', `an empty string is not a port spec: ${FORMS}`);
  if (/\s/.test(text)) return fault('PORT_SYNTAX', `${quote(text)} has spaces inside: write ${quote(text.replace(/\s+/g, ''))}`);
  const exposure: Exposure = text.startsWith('+') ? 'public' : 'private';
  const parts = (exposure === 'public' ? text.slice(1) : text).split(':');
  const portText = parts.pop() ?? '';
  const range = RANGE.exec(portText);
  if (!range || parts.length > 2 || parts.includes('')) {
    const slashed = /^(\+?)([0-9]+(?:-[0-9]+)?)\/([a-z]+)$/i.exec(text);
    const hint = slashed ? `write "${slashed[1]}${slashed[3]!.toLowerCase()}:${slashed[2]}" — ` : '';
    return fault('PORT_SYNTAX', `${quote(text)} is not a port spec: ${hint}${FORMS}`);
  }
  // `a:b` is name a, unless a is a protocol word; `a:b:c` is name, protocol, port.
  let [name, protocolText] = parts.length === 2 ? parts : [undefined, undefined];
  if (parts.length === 1 && isProtocolWord(parts[0]!)) protocolText = parts[0];
  else if (parts.length === 1) name = parts[0];
  if (name !== undefined && protocolText !== undefined && isProtocolWord(name) && !isProtocolWord(protocolText)) {
    return fault('PORT_SYNTAX', `${quote(text)} puts the protocol first: write '${exposure === 'public' ? '+' : ''}${protocolText}:${name}:${portText}'`);
  }
  const protocol = protocolText === undefined ? 'tcp' : toProtocol(protocolText);
  if (isFault(protocol)) return protocol;
  const badName = name === undefined ? undefined : checkName(name);
  if (badName) return badName;
  const checked = checkRange(range[1]!, range[2]);
  if (isFault(checked)) return checked;
  return { protocol, from: checked.from, to: checked.to, exposure, cidrs: [], name };
}

/** The object form `{port, protocol, name, public, cidrs}`; every bad key is reported, not only the first. */
function parseMap(map: Record<string, unknown>): Spec | Fault[] {
  const faults: Fault[] = [];
  const { port, protocol: protocolValue = 'tcp', name, public: isPublic = false, cidrs: cidrsValue = [] } = map;
  let range: Parsed<{ from: number; to: number }>;
  const match = typeof port === 'string' ? RANGE.exec(port.trim()) : null;
  if (port === undefined) range = fault('PORT_SYNTAX', `a port map needs a port: write e.g. {port: 8080, protocol: tcp}`);
  else if (typeof port === 'number' && Number.isInteger(port)) range = at(['port'], checkRange(String(port)));
  else if (match) range = at(['port'], checkRange(match[1]!, match[2]));
  else {
    const message = `port: ${show(port)} is not a port: write a number such as 80 or a range such as "10020-10040" (the protocol goes in protocol:, exposure in public:)`;
    range = fault('PORT_SYNTAX', message, ['port']);
  }
  const protocol = typeof protocolValue === 'string' ? at(['protocol'], toProtocol(protocolValue)) : fault('PORT_SYNTAX', `protocol: ${show(protocolValue)} is not a protocol: use tcp or udp`, ['protocol']);
  const exposure: Parsed<Exposure> =
    typeof isPublic === 'boolean' ? (isPublic ? 'public' : 'private') : fault('PORT_SYNTAX', `public: ${show(isPublic)} is not true or false: write public: true for a public port`, ['public']);
  const badName = name === undefined ? undefined : at(['name'], typeof name === 'string' ? checkName(name) : fault('PORT_SYNTAX', `name: ${show(name)} is not a name: write a word such as ssh`));
  for (const f of [range, protocol, exposure, badName]) if (isFault(f)) faults.push(f);
  const cidrs = readCidrs(cidrsValue, faults);
  for (const key of Object.keys(map)) {
    if ((MAP_KEYS as readonly string[]).includes(key)) continue;
    const near = KEY_ALIASES[key] ?? suggest(key, MAP_KEYS);
    const message = near ? `unknown key ${quote(key)} — did you mean '${near}'?` : `unknown key ${quote(key)} — known keys here: ${MAP_KEYS.join(', ')}`;
    faults.push({ code: 'UNKNOWN_KEY', message, path: [key] });
  }
  if (isFault(range) || isFault(protocol) || isFault(exposure) || cidrs === undefined || faults.length > 0) return faults;
  return { protocol, from: range.from, to: range.to, exposure, cidrs, name: typeof name === 'string' ? name : undefined };
}

/** Canonical, sorted and de-duplicated; undefined (with faults) when any entry is not a CIDR. */
function readCidrs(value: unknown, faults: Fault[]): string[] | undefined {
  if (!Array.isArray(value)) {
    faults.push({ code: 'BAD_CIDR', message: `cidrs: must be a list such as [10.0.0.0/8, 2001:db8::/32], not ${show(value)}`, path: ['cidrs'] });
    return undefined;
  }
  const cidrs = new Set<string>();
  let ok = true;
  value.forEach((item, j) => {
    const parsed = typeof item === 'string' ? parseCidr(item) : { error: `${show(item)} is not a CIDR: write one such as 10.0.0.0/8` };
    if ('cidr' in parsed) cidrs.add(parsed.cidr);
    else {
      ok = false;
      faults.push({ code: 'BAD_CIDR', message: `cidrs: ${parsed.error}`, path: ['cidrs', j] });
    }
  });
  return ok ? [...cidrs].sort() : undefined;
}

/** Bounds as written (digits, or an integer's decimal form), checked against 1-65535 and their order. */
function checkRange(fromText: string, toText = fromText): Parsed<{ from: number; to: number }> {
  for (const text of [fromText, toText]) {
    const port = Number(text);
    if (!(port >= 1 && port <= 65535)) return fault('PORT_RANGE', `port ${text.replace(/^0+(?=[0-9])/, '')} is out of range: ports are 1-65535`);
  }
  const [from, to] = [Number(fromText), Number(toText)];
  if (from > to) return fault('PORT_RANGE', `range ${from}-${to} is reversed: write ${to}-${from}`);
  return { from, to };
}

function toProtocol(text: string): Parsed<Protocol> {
  const lower = text.toLowerCase();
  if (lower === 'tcp' || lower === 'udp') return lower;
  return fault('PORT_SYNTAX', `protocol ${quote(text)} is not supported: use tcp or udp`);
}

function isProtocolWord(word: string): boolean {
  const lower = word.toLowerCase();
  return lower === 'tcp' || lower === 'udp' || OTHER_PROTOCOLS.has(lower);
}

function checkName(name: string): Fault | undefined {
  if (NAME.test(name) && name.length <= NAME_MAX && /[a-z]/.test(name)) return undefined;
  const lower = name.toLowerCase();
  const fix = lower !== name && checkName(lower) === undefined ? `write '${lower}'` : 'use a word such as ssh or web';
  return fault(
    'PORT_SYNTAX',
    `name ${quote(name)} is not a port name: ${fix} (at most ${NAME_MAX} lower-case letters, digits and '-', with a letter, starting and ending with a letter or digit)`,
  );
}

function keyOf(exposure: Exposure, cidrs: readonly string[]): string {
  return cidrs.length === 0 ? exposure : `${exposure} from ${cidrs.join(', ')}`;
}

/**
 * Overlapping declarations of one protocol with different exposure or cidrs. Sorted by `from`, a
 * declaration overlaps an earlier one of another key exactly when the largest `to` among earlier
 * declarations of other keys reaches it; the top two `to`s of distinct keys answer that in O(1).
 */
function findConflicts(declared: readonly Declared[]): { message: string; at: Position }[] {
  const sorted = [...declared].sort((a, b) => compare(a.protocol, b.protocol) || a.from - b.from || a.order - b.order);
  const conflicts: { message: string; at: Position }[] = [];
  const reported = new Set<number>();
  // Invariant: `best` has the largest `to`; `second` the largest `to` among keys other than best's.
  let best: Declared | undefined;
  let second: Declared | undefined;
  for (const d of sorted) {
    if (best && best.protocol !== d.protocol) best = second = undefined;
    const other = best && best.key !== d.key ? best : second;
    if (other && other.to >= d.from) {
      const [first, later] = other.order < d.order ? [other, d] : [d, other];
      if (!reported.has(later.order)) {
        reported.add(later.order);
        const overlap = formatRange(Math.max(first.from, later.from), Math.min(first.to, later.to));
        const ports = overlap.includes('-') ? `ports ${d.protocol} ${overlap} are` : `port ${d.protocol} ${overlap} is`;
        const where = `${first.at.file}:${first.at.line}:${first.at.col}`;
        conflicts.push({
          message: `${ports} declared ${later.key} here and ${first.key} at ${where}: declare each port once, or with the same exposure and cidrs`,
          at: later.at,
        });
      }
    }
    if (!best || d.key === best.key) {
      if (!best || d.to > best.to) best = d;
    } else if (d.to > best.to) {
      second = best;
      best = d;
    } else if (!second || d.to > second.to) {
      second = d;
    }
  }
  return conflicts.sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col);
}

/** Sort, then sweep: overlapping and adjacent ranges of one protocol and key become one spec. */
function merge(declared: readonly Declared[]): PortSpec[] {
  const sorted = [...declared].sort((a, b) => compare(a.protocol, b.protocol) || compare(a.key, b.key) || a.from - b.from || a.order - b.order);
  const merged: PortSpec[] = [];
  let last: Declared | undefined;
  let spec: PortSpec | undefined;
  let firstOrder = 0;
  for (const d of sorted) {
    if (last && spec && d.protocol === last.protocol && d.key === last.key && d.from <= spec.to + 1) {
      spec.to = Math.max(spec.to, d.to);
      if (d.name !== undefined) spec.names.push(d.name);
      if (d.order < firstOrder) [firstOrder, spec.at] = [d.order, d.at];
    } else {
      spec = { protocol: d.protocol, from: d.from, to: d.to, exposure: d.exposure, cidrs: d.cidrs, names: d.name === undefined ? [] : [d.name], at: d.at };
      firstOrder = d.order;
      merged.push(spec);
    }
    last = d;
  }
  for (const m of merged) if (m.names.length > 1) m.names = [...new Set(m.names)].sort();
  // Equal `from`s of one protocol only happen with a conflict; the tie still needs a fixed order.
  return merged.sort((a, b) => compare(a.protocol, b.protocol) || a.from - b.from || compare(keyOf(a.exposure, a.cidrs), keyOf(b.exposure, b.cidrs)));
}

function fault(code: ProblemCode, message: string, path?: Path): Fault {
  return path ? { code, message, path } : { code, message };
}

function isFault<T>(value: Parsed<T> | undefined): value is Fault {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}

/** Re-roots a fault found in a map value at that value's key. */
function at<T>(path: Path, value: Parsed<T>): Parsed<T> {
  return isFault(value) && value.path === undefined ? { ...value, path } : value;
}

function show(value: unknown): string {
  return typeof value === 'string' ? quote(value) : value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a map' : String(value);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
