// The firewall rules of a fake Compute Engine project: validation, the fields the server adds, and the
// merge semantics of PATCH and the replace semantics of PUT, as the real API has them.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Firewall = { [key: string]: Json };

/** An API error as Google sends it: the HTTP status and the `reason` in `error.errors[0]`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  body(): Json {
    return { error: { code: this.status, message: this.message, errors: [{ message: this.message, domain: 'global', reason: this.reason }] } };
  }
}

export const API_ROOT = 'https://www.googleapis.com/compute/v1';
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_RANGE = /^[0-9]{1,5}(-[0-9]{1,5})?$/;
const PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all']);
// Fields a caller may set; the rest are the server's.
const SETTABLE = [
  'name', 'description', 'network', 'priority', 'direction', 'sourceRanges', 'destinationRanges', 'sourceTags', 'targetTags',
  'sourceServiceAccounts', 'targetServiceAccounts', 'allowed', 'denied', 'disabled', 'logConfig',
];
const IMMUTABLE = ['network', 'direction'];

const invalid = (field: string, message: string) => new ApiError(400, 'invalid', `Invalid value for field 'resource.${field}': ${message}`);
export const notFound = (what: string) => new ApiError(404, 'notFound', `The resource '${what}' was not found`);

/** `default`, `global/networks/x`, `projects/p/global/networks/x` or a full URL, as the server stores it. */
export function networkUrl(project: string, network: Json | undefined): string {
  if (network === undefined || network === null || network === '') return `${API_ROOT}/projects/${project}/global/networks/default`;
  if (typeof network !== 'string') throw invalid('network', 'must be a string');
  const path = network.replace(/^https:\/\/[^/]+\/compute\/v1\//, '');
  const match = /^(?:projects\/([^/]+)\/)?global\/networks\/([^/]+)$/.exec(path) ?? /^()([a-z][-a-z0-9]*)$/.exec(path);
  if (!match) throw invalid('network', `'${network}' is not a network`);
  return `${API_ROOT}/projects/${match[1] || project}/global/networks/${match[2]}`;
}

const isV6 = (cidr: string) => cidr.includes(':');

function check(fw: Firewall): void {
  const name = fw.name;
  if (typeof name !== 'string' || !NAME.test(name)) throw invalid('name', `'${String(name)}' must match ${NAME.source}`);
  const allowed = Array.isArray(fw.allowed) ? fw.allowed : [];
  const denied = Array.isArray(fw.denied) ? fw.denied : [];
  if ((allowed.length > 0) === (denied.length > 0)) throw invalid('allowed', 'exactly one of allowed and denied must be given');
  for (const rule of [...allowed, ...denied]) {
    const r = rule as Firewall;
    if (typeof r.IPProtocol !== 'string' || !PROTOCOLS.has(r.IPProtocol)) throw invalid('allowed.IPProtocol', `'${String(r.IPProtocol)}'`);
    for (const port of (r.ports ?? []) as Json[]) {
      if (typeof port !== 'string' || !PORT_RANGE.test(port)) throw invalid('allowed.ports', `'${String(port)}'`);
    }
  }
  const ranges = (fw.sourceRanges ?? []) as string[];
  if (ranges.some(isV6) && ranges.some((r) => !isV6(r))) throw invalid('sourceRanges', 'IPv4 and IPv6 ranges cannot be mixed in one rule');
  if (typeof fw.priority !== 'number' || fw.priority < 0 || fw.priority > 65535) throw invalid('priority', String(fw.priority));
  if (fw.direction !== 'INGRESS' && fw.direction !== 'EGRESS') throw invalid('direction', String(fw.direction));
}

/** What a caller sent, with the server's defaults filled in (those a real insert fills too). */
function withDefaults(project: string, input: Firewall): Firewall {
  const fw: Firewall = {};
  for (const key of SETTABLE) if (input[key] !== undefined) fw[key] = input[key]!;
  fw.network = networkUrl(project, input.network);
  fw.priority ??= 1000;
  fw.direction ??= 'INGRESS';
  fw.disabled ??= false;
  fw.logConfig ??= { enable: false };
  // With no source at all, an ingress rule applies to every source: the API fills this in.
  if (fw.direction === 'INGRESS' && !fw.sourceRanges && !fw.sourceTags && !fw.sourceServiceAccounts) fw.sourceRanges = ['0.0.0.0/0'];
  return fw;
}

let nextId = 1_000_000_000_000;

/** One project's rules, by name. */
export class FirewallStore {
  private readonly rules = new Map<string, Firewall>();

  constructor(readonly project: string) {}

  private path(name: string): string {
    return `projects/${this.project}/global/firewalls/${name}`;
  }

  get(name: string): Firewall {
    const fw = this.rules.get(name);
    if (!fw) throw notFound(this.path(name));
    return structuredClone(fw);
  }

  has(name: string): boolean {
    return this.rules.has(name);
  }

  /** Sorted by name, as the API lists them. */
  list(): Firewall[] {
    return [...this.rules.keys()].sort().map((name) => this.get(name));
  }

  /** Checks an insert now; returns the rule to store when its operation completes. */
  prepareInsert(input: Firewall): Firewall {
    const fw = withDefaults(this.project, input);
    check(fw);
    if (this.rules.has(fw.name as string)) throw new ApiError(409, 'alreadyExists', `The resource '${this.path(fw.name as string)}' already exists`);
    return {
      kind: 'compute#firewall',
      id: String(nextId++),
      creationTimestamp: new Date().toISOString().replace('Z', '-07:00'),
      selfLink: `${API_ROOT}/${this.path(fw.name as string)}`,
      ...fw,
    };
  }

  /** PATCH: fields present replace the stored ones (lists whole); absent fields are kept. */
  preparePatch(name: string, input: Firewall): Firewall {
    const current = this.get(name);
    const next: Firewall = { ...current };
    for (const key of SETTABLE) if (input[key] !== undefined && key !== 'name') next[key] = input[key]!;
    if (input.network !== undefined) next.network = networkUrl(this.project, input.network);
    this.checkImmutable(current, next);
    check(next);
    return next;
  }

  /** PUT: every settable field is replaced; one left out goes back to its default. */
  prepareUpdate(name: string, input: Firewall): Firewall {
    const current = this.get(name);
    const next: Firewall = { kind: current.kind!, id: current.id!, creationTimestamp: current.creationTimestamp!, selfLink: current.selfLink!, ...withDefaults(this.project, { ...input, name }) };
    this.checkImmutable(current, next);
    check(next);
    return next;
  }

  prepareDelete(name: string): void {
    this.get(name);
  }

  private checkImmutable(current: Firewall, next: Firewall): void {
    for (const key of IMMUTABLE) if (next[key] !== current[key]) throw invalid(key, 'cannot be changed on an existing rule');
  }

  store(fw: Firewall): void {
    this.rules.set(fw.name as string, fw);
  }

  remove(name: string): void {
    this.rules.delete(name);
  }
}
