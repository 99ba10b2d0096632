import type { Cluster } from '../model.js';

/** A field of a cluster's target as people write it in the manifest, and its value as text. */
type TargetField = [label: string, value: string | undefined];

/**
 * What changed in where a cluster's ports lead (the block of its own cloud), e.g.
 * `node.address 10.0.0.2 → 10.0.0.3`; undefined when nothing did. Both clusters are on the same cloud.
 */
export function targetChange(was: Cluster, now: Cluster): string | undefined {
  const before = new Map(targetFields(was));
  const parts: string[] = [];
  for (const [label, value] of targetFields(now)) {
    const old = before.get(label);
    if (old !== value) parts.push(`${label} ${old ?? '(default)'} → ${value ?? '(default)'}`);
  }
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function targetFields(cluster: Cluster): TargetField[] {
  switch (cluster.cloud) {
    case 'node':
      return [['node.address', cluster.node.address]];
    case 'kubernetes': {
      const k = cluster.kubernetes;
      return [
        ['kubernetes.context', k.context],
        ['kubernetes.namespace', k.namespace],
        ['kubernetes.selector', record(k.selector)],
        ['kubernetes.ports', k.ports],
      ];
    }
    case 'aws': {
      const a = cluster.aws;
      return [
        ['aws.region', a.region],
        ['aws.vpc', a.vpc],
        ['aws.security_group', a.security_group],
        ['aws.instance_ids', list(a.instance_ids)],
        ['aws.instance_tags', record(a.instance_tags)],
      ];
    }
    case 'gcp': {
      const g = cluster.gcp;
      return [
        ['gcp.project', g.project],
        ['gcp.network', g.network],
        ['gcp.target_tags', list(g.target_tags)],
      ];
    }
  }
}

/** Lists keep their order: the manifest's order is what the user wrote and sees. */
function list(values: readonly string[] | undefined): string | undefined {
  return values === undefined ? undefined : values.length > 0 ? values.join(',') : '(none)';
}

/** Maps are compared with sorted keys: key order in YAML means nothing. */
function record(values: Readonly<Record<string, string>> | undefined): string | undefined {
  if (values === undefined) return undefined;
  const keys = Object.keys(values).sort();
  return keys.length > 0 ? keys.map((k) => `${k}=${values[k]}`).join(',') : '(none)';
}
