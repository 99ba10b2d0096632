import type { Cluster, Exposure, Protocol, Settings } from '../model.js';
import { modeProblem, TEMPLATES, type BaseContext, type ContextResult, type PortContext, type TemplateContext } from './context.js';
import { shortHash } from './filters.js';
import { isIpv6, sourcesKey } from './sources.js';

type Of<C extends Cluster['cloud']> = Extract<Cluster, { cloud: C }>;

/** The description on each rule portcullis adds to a security group: the ownership mark on rules. */
export const awsRuleDescription = (cluster: string): string => `portcullis:${cluster}`;
export const cloudDescription = (cluster: string): string => `managed by portcullis; cluster=${cluster}`;

export interface AwsRuleContext {
  protocol: Protocol;
  from: number;
  to: number;
  cidr: string;
  /** Whether `cidr` goes to the rule's `cidr_ipv6` rather than `cidr`. */
  ipv6: boolean;
  description: string;
}

export function awsContext(base: BaseContext, cluster: Of<'aws'>, settings: Settings): TemplateContext {
  const { aws } = cluster;
  // A group named by the manifest or the settings is someone else's: portcullis only adds and removes its rules.
  const chosen = aws.security_group ?? settings.aws.security_group_name;
  const group = {
    name: chosen ?? `portcullis-${cluster.name}`,
    managed: chosen === undefined,
    region: aws.region,
    vpc: aws.vpc ?? settings.aws.vpc_name ?? null,
    description: cloudDescription(cluster.name),
    tags: { 'portcullis:managed-by': 'portcullis', 'portcullis:cluster': cluster.name },
    instance_ids: aws.instance_ids ?? null,
    instance_tags: aws.instance_tags ?? null,
  };
  const seen = new Set<string>();
  const rules: AwsRuleContext[] = [];
  for (const port of base.ports) {
    for (const cidr of port.sources) {
      const key = `${port.protocol}/${port.from}/${port.to}/${cidr}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push({ protocol: port.protocol, from: port.from, to: port.to, cidr, ipv6: isIpv6(cidr), description: awsRuleDescription(cluster.name) });
    }
  }
  return { ...base, group, rules };
}

/** One GCP firewall rule: the ports of one protocol and exposure open to one source list of one IP family. */
export interface GcpRuleContext {
  protocol: Protocol;
  exposure: Exposure;
  /** 8 hex digits naming a custom source list; empty for the exposure's default sources. */
  hash: string;
  /** GCP does not mix IPv4 and IPv6 sources in one rule. */
  ipv6: boolean;
  source_ranges: string[];
  /** `"80"`, `"10020-10040"`. */
  ports: string[];
}

export function gcpContext(base: BaseContext, cluster: Of<'gcp'>, settings: Settings): TemplateContext {
  const groups = new Map<string, GcpRuleContext>();
  for (const port of base.ports) {
    const allSources = sourcesKey(port.sources);
    const hash = port.cidrs.length > 0 ? shortHash(allSources) : '';
    for (const ipv6 of [false, true]) {
      const sources = port.sources.filter((cidr) => isIpv6(cidr) === ipv6);
      if (sources.length === 0) continue;
      const key = `${port.protocol}/${port.exposure}/${allSources}/${ipv6}`;
      let rule = groups.get(key);
      if (!rule) {
        rule = { protocol: port.protocol, exposure: port.exposure, hash, ipv6, source_ranges: sources, ports: [] };
        groups.set(key, rule);
      }
      if (!rule.ports.includes(port.range)) rule.ports.push(port.range);
    }
  }
  return {
    ...base,
    project: cluster.gcp.project,
    network: cluster.gcp.network ?? settings.gcp.vpc_name,
    target_tags: [...cluster.gcp.target_tags],
    description: cloudDescription(cluster.name),
    rules: [...groups.values()],
  };
}

export interface ForwardContext extends PortContext {
  address: string;
}

/** Node ports one node cluster may take: each forwarded port holds one, for as long as it is declared. */
export const MAX_NODE_FORWARDS = 1024;

/**
 * One forward per port, not per range: a port keeps its node port when a neighbour joins or leaves its
 * range (normalising merges `[8000, 8002]` plus `8001` into 8000-8002, which must not move 8000).
 */
export function nodeContext(base: BaseContext, cluster: Of<'node'>): ContextResult {
  const total = base.ports.reduce((n, port) => n + port.to - port.from + 1, 0);
  const forwards: ForwardContext[] = [];
  if (total <= MAX_NODE_FORWARDS) {
    for (const port of base.ports) {
      for (let p = port.from; p <= port.to; p++) forwards.push({ ...port, from: p, to: p, range: String(p), address: cluster.node.address });
    }
  }
  const problems =
    total > MAX_NODE_FORWARDS
      ? [modeProblem(cluster, `${total} ports to forward, more than the ${MAX_NODE_FORWARDS} a node cluster may hold (each takes a node port): narrow the ranges, or split the cluster`)]
      : [];
  return { template: TEMPLATES.node, context: { ...base, address: cluster.node.address, forwards }, problems };
}
