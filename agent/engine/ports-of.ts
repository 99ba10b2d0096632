import type { Exposure, Protocol, Resource } from '../model.js';

export interface OpenPorts {
  protocol: Protocol;
  exposure: Exposure;
  count: number;
}

const ANYWHERE = new Set(['0.0.0.0/0', '::/0']);
const isAnywhere = (sources: readonly string[] | undefined): boolean => sources === undefined || sources.length === 0 || sources.some((s) => ANYWHERE.has(s));

/**
 * The ports a resource holds open, read from its body as the provider holds it (so a rule opened to
 * 0.0.0.0/0 by hand counts as public, whatever the manifest said). A range counts each of its ports; a
 * port reachable over IPv4 and IPv6 counts once.
 */
export function openPortsOf(resource: Resource): OpenPorts[] {
  const body = resource.body as Record<string, unknown>;
  const ports = new Map<string, { protocol: Protocol; exposure: Exposure; count: number }>();
  const add = (protocol: unknown, from: number, to: number, exposure: Exposure) => {
    const proto: Protocol = String(protocol).toLowerCase() === 'udp' ? 'udp' : 'tcp';
    const key = `${proto}/${from}-${to}`;
    const seen = ports.get(key);
    if (seen) {
      if (exposure === 'public') seen.exposure = 'public';
    } else ports.set(key, { protocol: proto, exposure, count: to - from + 1 });
  };
  switch (resource.kind) {
    case 'Forward': {
      const size = typeof body.size === 'number' ? body.size : span(body.from, body.to);
      add(body.protocol, 1, size, body.exposure === 'public' ? 'public' : 'private');
      break;
    }
    case 'Service': {
      // ClusterIP Services of ingress mode are reached through the Ingress, which counts their ports.
      const spec = body.spec as { type?: string; ports?: { port?: number; protocol?: string }[]; loadBalancerSourceRanges?: string[] } | undefined;
      if (spec?.type !== 'LoadBalancer') break;
      const exposure = isAnywhere(spec.loadBalancerSourceRanges) ? 'public' : 'private';
      for (const p of spec.ports ?? []) add(p.protocol, p.port ?? 0, p.port ?? 0, exposure);
      break;
    }
    case 'Ingress': {
      const rules = (body.spec as { rules?: { http?: { paths?: unknown[] } }[] } | undefined)?.rules ?? [];
      const paths = rules.reduce((n, rule) => n + (rule.http?.paths?.length ?? 0), 0);
      if (paths > 0) ports.set('ingress', { protocol: 'tcp', exposure: 'public', count: paths });
      break;
    }
    case 'SecurityGroup':
      for (const rule of (body.rules as { protocol?: string; from?: number; to?: number; cidr?: string; cidr_ipv6?: string }[] | undefined) ?? []) {
        const source = rule.cidr ?? rule.cidr_ipv6;
        add(rule.protocol, rule.from ?? 0, rule.to ?? rule.from ?? 0, source && ANYWHERE.has(source) ? 'public' : 'private');
      }
      break;
    case 'FirewallRule': {
      const exposure = isAnywhere(body.sourceRanges as string[] | undefined) ? 'public' : 'private';
      for (const allowed of (body.allowed as { IPProtocol?: string; ports?: string[] }[] | undefined) ?? []) {
        for (const text of allowed.ports ?? []) {
          const [from, to] = text.split('-').map(Number) as [number, number | undefined];
          add(allowed.IPProtocol, from, to ?? from, exposure);
        }
      }
      break;
    }
    default:
      add('tcp', 1, 1, 'private');
  }
  return [...ports.values()];
}

/** How many ports a resource holds open, for the mass-close guard. */
export function portsOf(resource: Resource): number {
  return openPortsOf(resource).reduce((n, p) => n + p.count, 0);
}

function span(from: unknown, to: unknown): number {
  return typeof from === 'number' && typeof to === 'number' && to >= from ? to - from + 1 : 1;
}
