import type { Cloud, Cluster, Exposure, PortSpec, Position, Protocol, Resource } from '../model.js';
import { ANYONE, isAnyone } from '../render/sources.js';

/**
 * What providers hold, turned back into clusters, so the admin policies can judge live state as they
 * judge manifests. Each port spec is positioned at the live resource (`file` is the resource id, line 0):
 * a violation found there points at the object someone changed, not at a manifest.
 * `declared` supplies each cluster's target (node address, namespace, ...) and labels when Git defines it.
 */
export function liveClusters(resources: readonly Resource[], declared: readonly Cluster[]): Cluster[] {
  const known = new Map(declared.map((c) => [c.name, c]));
  const groups = new Map<string, Resource[]>();
  for (const r of resources) groups.set(`${r.cloud}/${r.cluster}`, [...(groups.get(`${r.cloud}/${r.cluster}`) ?? []), r]);
  const clusters: Cluster[] = [];
  for (const list of groups.values()) {
    const first = list[0]!;
    const ports = list.flatMap(liveSpecs);
    const at = liveAt(first);
    const base = known.get(first.cluster);
    if (base && base.cloud === first.cloud) clusters.push({ ...base, ports, at });
    else clusters.push({ ...target(first), name: first.cluster, labels: {}, ports, at } as Cluster);
  }
  return clusters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const liveAt = (r: Resource): Position => ({ file: r.id, line: 0, col: 0 });

/** A target good enough for policies that look at it (context, namespace, address) when Git no longer names the cluster. */
function target(r: Resource): Partial<Cluster> & { cloud: Cloud } {
  const body = r.body as Record<string, unknown>;
  switch (r.cloud) {
    case 'node':
      return { cloud: 'node', node: { address: String(body.address ?? '') } };
    case 'kubernetes': {
      const object = (body.object ?? body) as { metadata?: { namespace?: string }; spec?: { selector?: Record<string, string> } };
      return { cloud: 'kubernetes', kubernetes: { ...(typeof body.context === 'string' && body.context !== '' ? { context: body.context } : {}), namespace: object.metadata?.namespace ?? 'default', selector: object.spec?.selector ?? {} } };
    }
    case 'aws':
      return { cloud: 'aws', aws: { region: String(body.region ?? '') } };
    case 'gcp':
      return { cloud: 'gcp', gcp: { project: String(body.project ?? ''), target_tags: (body.targetTags as string[] | undefined) ?? [] } };
  }
}

/** The port specs one live resource holds open, read from its body as the provider observed it. */
export function liveSpecs(r: Resource): PortSpec[] {
  const body = r.body as Record<string, unknown>;
  const at = liveAt(r);
  const spec = (protocol: unknown, from: number, to: number, sources: readonly string[] | undefined): PortSpec => {
    const anyone = sources === undefined || sources.length === 0 || isAnyone(sources) || sources.some((s) => (ANYONE as string[]).includes(s));
    const exposure: Exposure = anyone ? 'public' : 'private';
    return { protocol: toProtocol(protocol), from, to, exposure, cidrs: anyone ? [] : [...sources!].sort(), names: [], at };
  };
  switch (r.kind) {
    case 'Forward': {
      const port = Number(body.port ?? body.from);
      const to = body.size !== undefined ? port + Number(body.size) - 1 : Number(body.to ?? port);
      return [spec(body.protocol, port, to, body.sources as string[] | undefined)];
    }
    case 'Service': {
      const object = (body.object ?? body) as { spec?: { type?: string; ports?: { port?: number; protocol?: string }[]; loadBalancerSourceRanges?: string[] } };
      // ClusterIP Services of ingress mode are reached through the Ingress, which is read below.
      if (object.spec?.type !== 'LoadBalancer') return [];
      return (object.spec.ports ?? []).map((p) => spec(p.protocol, p.port ?? 0, p.port ?? 0, object.spec?.loadBalancerSourceRanges));
    }
    case 'Ingress': {
      const object = (body.object ?? body) as {
        metadata?: { annotations?: Record<string, string> };
        spec?: { rules?: { http?: { paths?: { backend?: { service?: { port?: { number?: number } } } }[] } }[] };
      };
      const allow = object.metadata?.annotations?.['nginx.ingress.kubernetes.io/whitelist-source-range'];
      const sources = allow ? allow.split(',').map((s) => s.trim()) : undefined;
      const ports = (object.spec?.rules ?? []).flatMap((rule) => rule.http?.paths ?? []).map((p) => p.backend?.service?.port?.number ?? 0);
      return ports.filter((p) => p > 0).map((p) => spec('tcp', p, p, sources));
    }
    case 'SecurityGroup':
      return ((body.rules as { protocol?: string; from?: number; to?: number; cidr?: string; cidr_ipv6?: string }[] | undefined) ?? []).map((rule) => {
        const source = rule.cidr ?? rule.cidr_ipv6;
        return spec(rule.protocol, rule.from ?? 0, rule.to ?? rule.from ?? 0, source ? [source] : []);
      });
    case 'FirewallRule': {
      const sources = body.sourceRanges as string[] | undefined;
      return ((body.allowed as { IPProtocol?: string; ports?: string[] }[] | undefined) ?? []).flatMap((allowed) =>
        (allowed.ports ?? []).map((text) => {
          const [from, to] = text.split('-').map(Number) as [number, number | undefined];
          return spec(allowed.IPProtocol, from, to ?? from, sources);
        }),
      );
    }
    default:
      return [];
  }
}

function toProtocol(value: unknown): Protocol {
  return String(value).toLowerCase() === 'udp' ? 'udp' : 'tcp';
}
