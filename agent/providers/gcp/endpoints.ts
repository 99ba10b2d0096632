import type { Cluster, Resource } from '../../model.js';
import type { Endpoint } from '../provider.js';
import type { ApiInstance } from './compute.js';
import { networkName } from './firewall-body.js';

// Where a GCP cluster's ports can be reached: the instances that carry one of its target tags, at their
// external IP for a public port (the internal one when they have none) and their internal IP otherwise.

export interface InstanceView {
  name: string;
  tags: string[];
  interfaces: { network: string; internal: string; external?: string }[];
}

/** The instances of a project that can take traffic now (RUNNING), reduced to what endpoints need. */
export function instanceViews(project: string, instances: readonly ApiInstance[]): InstanceView[] {
  return instances
    .filter((i) => i.status === 'RUNNING' && i.name)
    .map((i) => ({
      name: i.name!,
      tags: [...(i.tags?.items ?? [])],
      interfaces: (i.networkInterfaces ?? []).flatMap((n) => {
        if (!n.networkIP) return [];
        const external = n.accessConfigs?.find((a) => a.natIP)?.natIP;
        return [{ network: networkName(project, n.network ?? 'default'), internal: n.networkIP, ...(external ? { external } : {}) }];
      }),
    }));
}

export type Instances = { ok: true; instances: InstanceView[] } | { ok: false; reason: string };

type GcpCluster = Extract<Cluster, { cloud: 'gcp' }>;

export function clusterEndpoints(cluster: GcpCluster, network: string, held: readonly Resource[], known: Instances): Endpoint[] {
  const tags = cluster.gcp.target_tags;
  const targets = known.ok ? known.instances.filter((i) => i.tags.some((t) => tags.includes(t))) : [];
  const endpoints: Endpoint[] = [];
  for (const spec of cluster.ports) {
    const ports = spec.from === spec.to ? String(spec.from) : `${spec.from}-${spec.to}`;
    const base = { cluster: cluster.name, protocol: spec.protocol, ports, exposure: spec.exposure };
    if (!isOpen(held, spec.protocol, ports)) {
      endpoints.push({ ...base, address: '', state: 'pending', hint: 'no firewall rule opens this port yet' });
      continue;
    }
    if (!known.ok) {
      endpoints.push({ ...base, address: `(tagged ${tags.join(', ')}):${ports}`, state: 'ready', hint: `instance addresses unknown: ${known.reason}` });
      continue;
    }
    if (targets.length === 0) {
      endpoints.push({ ...base, address: '', state: 'pending', hint: `no running instance in project ${cluster.gcp.project} has the network tag ${tags.join(' or ')}` });
      continue;
    }
    for (const instance of targets) {
      const nic = instance.interfaces.find((n) => n.network === network) ?? instance.interfaces[0];
      if (!nic) continue;
      const external = spec.exposure === 'public' ? nic.external : undefined;
      const hint = spec.exposure === 'public' && !external ? { hint: `instance ${instance.name} has no external IP: this is its internal one` } : {};
      endpoints.push({ ...base, address: `${external ?? nic.internal}:${ports}`, state: 'ready', ...hint });
    }
  }
  return endpoints;
}

/** Whether a held rule allows `protocol` on exactly this port or range (rules render one entry per spec). */
function isOpen(held: readonly Resource[], protocol: string, ports: string): boolean {
  return held.some((r) => {
    if (r.body.disabled === true) return false;
    const allowed = (r.body.allowed ?? []) as { IPProtocol?: string; ports?: string[] }[];
    return allowed.some((a) => a.IPProtocol === protocol && (a.ports ?? []).includes(ports));
  });
}
