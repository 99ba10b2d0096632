import type { Cloud, Cluster, PortSpec } from '../model.js';
import type { Endpoint } from '../providers/provider.js';

/**
 * Where a cluster stands, as `status` and /api/status show it:
 * - synced: what Git asks for is what the provider holds, at `revision`;
 * - progressing: changes were applied but some failed and will be retried;
 * - failed: the provider could not be read or written;
 * - kept: the manifest is broken, so the cluster keeps its last good ports until it is fixed;
 * - blocked: the mass-close guard stopped the pass;
 * - unavailable: no provider for the cluster's cloud runs in this agent.
 */
export type ClusterState = 'synced' | 'progressing' | 'failed' | 'kept' | 'blocked' | 'unavailable';

export interface ClusterStatus {
  name: string;
  cloud: Cloud;
  /** Where the cluster is: the node address, the Kubernetes context/namespace, the AWS region, the GCP project. */
  target: string;
  /** `tcp/8888`, `+tcp/80` (public), `udp/53 from 10.0.0.0/8`. */
  ports: string[];
  state: ClusterState;
  /** The config revision last applied to this cluster in full. */
  revision?: string;
  lastError?: string;
  endpoints: Endpoint[];
  /** Milliseconds since the epoch of the pass that wrote this status. */
  updatedAt: number;
}

export function describeTarget(cluster: Cluster): string {
  switch (cluster.cloud) {
    case 'node':
      return cluster.node.address;
    case 'kubernetes':
      return `${cluster.kubernetes.context ?? '(current context)'}/${cluster.kubernetes.namespace}`;
    case 'aws':
      return cluster.aws.region;
    case 'gcp':
      return cluster.gcp.project;
  }
}

export function describePort(spec: PortSpec): string {
  const ports = spec.from === spec.to ? String(spec.from) : `${spec.from}-${spec.to}`;
  const from = spec.cidrs.length > 0 ? ` from ${spec.cidrs.join(',')}` : '';
  return `${spec.exposure === 'public' ? '+' : ''}${spec.protocol}/${ports}${from}`;
}
