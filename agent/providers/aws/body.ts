import type { JsonObject } from '../../model.js';

// The SecurityGroup body as rendered (templates/aws-security-group.yml.j2, schemas/rendered/SecurityGroup.schema.json)
// and as observed: both sides go through here so that they compare field for field.

/** One ingress rule: one protocol, one port range, one source. */
export interface RuleBody {
  protocol: string;
  from: number;
  to: number;
  cidr?: string;
  cidr_ipv6?: string;
  /** Another group or a prefix list as the source: never rendered, only observed (a marked rule made by hand). */
  source?: string;
  description: string;
}

/** What the observed group differs in beyond the rendered fields: present only when there is something to do. */
export interface Drift {
  /** Instances the group should be attached to but is not. */
  attach?: string[];
  /** Instances the group is attached to but that are no longer targeted (groups portcullis manages only). */
  detach?: string[];
  /** Other places (`region/sg-…`) that hold this cluster's group or rules: left over from a move. */
  elsewhere?: string[];
}

export interface GroupBody {
  kind: 'SecurityGroup';
  name: string;
  managed_group: boolean;
  region: string;
  vpc?: string;
  description: string;
  tags: Record<string, string>;
  labels: Record<string, string>;
  instance_ids?: string[];
  instance_tags?: Record<string, string>;
  rules: RuleBody[];
  drift?: Drift;
}

/** The instances a group is for, as the manifest names them. */
export interface AttachTarget {
  instance_ids?: string[];
  instance_tags?: Record<string, string>;
}

/** Same protocol, ports and source: EC2 holds at most one rule per key in a group, whatever its description. */
export const ruleKey = (r: RuleBody): string => `${r.protocol}|${r.from}|${r.to}|${r.cidr ?? ''}|${r.cidr_ipv6 ?? ''}|${r.source ?? ''}`;

const family = (r: RuleBody): number => (r.cidr !== undefined ? 0 : r.cidr_ipv6 !== undefined ? 1 : 2);
const text = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The canonical order of rules on both sides of a diff: protocol, ports, IPv4 before IPv6, source, description. */
export function compareRules(a: RuleBody, b: RuleBody): number {
  return (
    text(a.protocol, b.protocol) ||
    a.from - b.from ||
    a.to - b.to ||
    family(a) - family(b) ||
    text(a.cidr ?? a.cidr_ipv6 ?? a.source ?? '', b.cidr ?? b.cidr_ipv6 ?? b.source ?? '') ||
    text(a.description, b.description)
  );
}

export const sortRules = (rules: readonly RuleBody[]): RuleBody[] => [...rules].sort(compareRules);

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringMap = (v: unknown): Record<string, string> => (isMap(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {});

function readRule(v: unknown): RuleBody {
  const r = isMap(v) ? v : {};
  const rule: RuleBody = { protocol: String(r.protocol ?? ''), from: Number(r.from ?? 0), to: Number(r.to ?? r.from ?? 0), description: String(r.description ?? '') };
  if (typeof r.cidr === 'string') rule.cidr = r.cidr;
  if (typeof r.cidr_ipv6 === 'string') rule.cidr_ipv6 = r.cidr_ipv6;
  if (typeof r.source === 'string') rule.source = r.source;
  return rule;
}

/** Reads a body the renderer checked against its schema (or this provider built): narrowing, not validation. */
export function readBody(body: JsonObject): GroupBody {
  const group: GroupBody = {
    kind: 'SecurityGroup',
    name: String(body.name ?? ''),
    managed_group: body.managed_group !== false,
    region: String(body.region ?? ''),
    description: String(body.description ?? ''),
    tags: stringMap(body.tags),
    labels: stringMap(body.labels),
    rules: Array.isArray(body.rules) ? body.rules.map(readRule) : [],
  };
  if (typeof body.vpc === 'string') group.vpc = body.vpc;
  if (Array.isArray(body.instance_ids)) group.instance_ids = body.instance_ids.map(String);
  if (isMap(body.instance_tags)) group.instance_tags = stringMap(body.instance_tags);
  return group;
}

/** The JSON form of a body; absent optional fields stay absent, so a round trip compares equal. */
export function toJson(group: GroupBody): JsonObject {
  const rules = group.rules.map((r) => {
    const rule: JsonObject = { protocol: r.protocol, from: r.from, to: r.to };
    if (r.cidr !== undefined) rule.cidr = r.cidr;
    if (r.cidr_ipv6 !== undefined) rule.cidr_ipv6 = r.cidr_ipv6;
    if (r.source !== undefined) rule.source = r.source;
    rule.description = r.description;
    return rule;
  });
  const body: JsonObject = { kind: 'SecurityGroup', name: group.name, managed_group: group.managed_group, region: group.region };
  if (group.vpc !== undefined) body.vpc = group.vpc;
  body.description = group.description;
  body.tags = { ...group.tags };
  body.labels = { ...group.labels };
  if (group.instance_ids !== undefined) body.instance_ids = [...group.instance_ids];
  if (group.instance_tags !== undefined) body.instance_tags = { ...group.instance_tags };
  body.rules = rules;
  if (group.drift) {
    const drift: JsonObject = {};
    for (const key of ['attach', 'detach', 'elsewhere'] as const) if (group.drift[key]?.length) drift[key] = [...group.drift[key]!];
    if (Object.keys(drift).length > 0) body.drift = drift;
  }
  return body;
}
