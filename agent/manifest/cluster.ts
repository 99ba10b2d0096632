import type { Cluster, Problem, Settings } from '../model.js';
import { quote } from './format-problem.js';
import { parsePorts } from './ports.js';
import { checkSchema } from './schema.js';
import type { YamlDoc } from './yaml-file.js';

/** A cluster manifest as written, after the schema check (so the shapes below hold). */
interface RawCluster {
  name: string;
  cloud: Cluster['cloud'];
  labels?: Record<string, string>;
  kubernetes?: { context?: string; namespace?: string; selector?: Record<string, string>; ports?: 'loadbalancer' | 'ingress' | 'podip' };
  aws?: { region: string; vpc?: string; security_group?: string; instance_ids?: string[]; instance_tags?: Record<string, string> };
  gcp?: { project: string; network?: string; target_tags?: string[] };
  node?: { address: string };
  resources?: { ports?: unknown };
}

export interface ClusterResult {
  cluster?: Cluster;
  /** The name the document gives, when it gives a readable one, even if the document failed. */
  name?: string;
  problems: Problem[];
}

/** Checks one cluster document (schema, port grammar, settings restrictions) and builds the Cluster. */
export function readCluster(doc: YamlDoc, settings: Settings): ClusterResult {
  const data = doc.data;
  const name = isMap(data) && typeof data.name === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(data.name) ? data.name : undefined;
  if (!isMap(data)) {
    return { problems: [{ code: 'SCHEMA', severity: 'error', message: 'a cluster manifest must be a map with at least name: and cloud:', at: doc.locate([]) }] };
  }
  const problems = checkSchema('cluster', doc, name);
  const raw = data as unknown as RawCluster;
  // null is the schema's to report; the grammar would say the same thing twice.
  const value = raw.resources?.ports;
  const ports = value === undefined || value === null ? { ports: [], problems: [] } : parsePorts(value, (path) => doc.locate(['resources', 'ports', ...path]), name);
  problems.push(...ports.problems);
  problems.push(...checkAllowed(raw, doc, settings, name));
  if (problems.length > 0 || name === undefined) return { ...(name ? { name } : {}), problems };

  const base = { name, labels: raw.labels ?? {}, ports: ports.ports, at: doc.locate([]) };
  let cluster: Cluster;
  switch (raw.cloud) {
    case 'kubernetes': {
      const k = raw.kubernetes ?? {};
      cluster = {
        ...base,
        cloud: 'kubernetes',
        kubernetes: {
          ...(k.context ? { context: k.context } : {}),
          namespace: k.namespace ?? 'default',
          selector: k.selector ?? { 'portcullis.dev/cluster': name },
          ...(k.ports ? { ports: k.ports } : {}),
        },
      };
      break;
    }
    case 'aws':
      cluster = { ...base, cloud: 'aws', aws: { ...raw.aws! } };
      break;
    case 'gcp': {
      const g = raw.gcp!;
      cluster = { ...base, cloud: 'gcp', gcp: { ...g, target_tags: g.target_tags ?? [`portcullis-${name}`] } };
      break;
    }
    case 'node':
      cluster = { ...base, cloud: 'node', node: { address: raw.node!.address } };
      break;
  }
  return { cluster, name, problems };
}

/** Restrictions the admin sets in settings: which clouds, which kubeconfig contexts. */
function checkAllowed(raw: RawCluster, doc: YamlDoc, settings: Settings, name: string | undefined): Problem[] {
  const problems: Problem[] = [];
  const allowedClouds = settings.allowed_clouds;
  if (allowedClouds && typeof raw.cloud === 'string' && !allowedClouds.includes(raw.cloud)) {
    problems.push({
      code: 'NOT_ALLOWED',
      severity: 'error',
      message: `cloud ${quote(raw.cloud)} is not in the settings' allowed_clouds (${allowedClouds.join(', ')}): use one of those, or ask an admin to allow it`,
      at: doc.locate(['cloud']),
      ...(name ? { cluster: name } : {}),
    });
  }
  const contexts = settings.kubernetes.allowed_contexts;
  const context = raw.cloud === 'kubernetes' ? raw.kubernetes?.context : undefined;
  if (contexts && raw.cloud === 'kubernetes') {
    if (context === undefined || !contexts.includes(context)) {
      problems.push({
        code: 'NOT_ALLOWED',
        severity: 'error',
        message:
          context === undefined
            ? `kubernetes.allowed_contexts is set, so the cluster must name one: add kubernetes.context with one of ${contexts.join(', ')}`
            : `kubernetes context ${quote(context)} is not in the settings' kubernetes.allowed_contexts (${contexts.join(', ')})`,
        at: doc.locate(context === undefined ? ['kubernetes'] : ['kubernetes', 'context']),
        ...(name ? { cluster: name } : {}),
      });
    }
  }
  return problems;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
