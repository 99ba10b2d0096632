import type { Cluster, Resource } from '../../model.js';
import { rangeText } from '../../render/sources.js';
import type { Endpoint } from '../provider.js';
import { readBody } from './body.js';
import type { InstanceView } from './instances.js';

type AwsCluster = Extract<Cluster, { cloud: 'aws' }>;

/**
 * Where each port spec of a cluster is reached: every instance its group is attached to, at its public
 * address (or its private one with `aws.use_internal_ips`). Pending while no instance carries the group.
 */
export function awsEndpoints(cluster: AwsCluster, held: readonly Resource[], reached: (id: string) => readonly InstanceView[], internal: boolean): Endpoint[] {
  const group = held.find((r) => r.cluster === cluster.name && r.kind === 'SecurityGroup');
  const rules = group ? readBody(group.body).rules : [];
  const instances = group ? reached(group.id) : [];
  const endpoints: Endpoint[] = [];
  for (const spec of cluster.ports) {
    const ports = rangeText(spec);
    const base = { cluster: cluster.name, protocol: spec.protocol, ports, exposure: spec.exposure };
    const open = rules.some((r) => r.protocol === spec.protocol && r.from === spec.from && r.to === spec.to);
    if (!open) {
      endpoints.push({ ...base, address: '', state: 'pending', hint: group ? 'the security group does not hold this port yet' : 'no security group yet' });
      continue;
    }
    if (instances.length === 0) {
      const target = cluster.aws.instance_ids ? `instance_ids ${cluster.aws.instance_ids.join(', ')}` : `instance_tags ${JSON.stringify(cluster.aws.instance_tags ?? {})}`;
      endpoints.push({ ...base, address: '', state: 'pending', hint: `no live instance in the group's VPC matches ${target}` });
      continue;
    }
    for (const instance of instances) {
      const ip = internal ? instance.privateIp : instance.publicIp;
      if (ip) endpoints.push({ ...base, address: `${ip}:${ports}`, state: 'ready' });
      else endpoints.push({ ...base, address: '', state: 'pending', hint: `${instance.id} has no ${internal ? 'private' : 'public'} address${internal ? '' : '; set aws.use_internal_ips to show private ones'}` });
    }
  }
  return endpoints;
}
