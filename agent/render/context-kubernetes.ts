import type { Cluster, Problem, Settings } from '../model.js';
import { modeProblem, TEMPLATES, type BaseContext, type ContextResult, type PortContext } from './context.js';
import { describeSources, isAnyone, sourcesKey } from './sources.js';

type KubernetesCluster = Extract<Cluster, { cloud: 'kubernetes' }>;

/** A Service carries at most this many ports here: cloud load balancers and kube-proxy slow down well before the API's limit. */
export const MAX_SERVICE_PORTS = 100;

/** One port of a Service: a range in a manifest becomes one of these per port. */
export interface ServicePortContext {
  /** `tcp-8888`, `udp-53`: unique in the Service, and a valid port name (at most 15 chars). */
  name: string;
  protocol: 'TCP' | 'UDP';
  port: number;
}

export interface IngressPathContext {
  /** `/portcullis/{namespace}/{cluster}/{port}(/|$)(.*)`: nginx hands the app `/$2`. */
  path: string;
  port: ServicePortContext;
}

/** The annotations that make ingress-nginx strip the `/portcullis/...` prefix, so the app sees `/`. */
export const INGRESS_REWRITE_ANNOTATIONS: Readonly<Record<string, string>> = {
  'nginx.ingress.kubernetes.io/use-regex': 'true',
  'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
};
/** ingress-nginx's per-Ingress source allowlist: without it a private port would be open to anyone. */
export const INGRESS_SOURCES_ANNOTATION = 'nginx.ingress.kubernetes.io/whitelist-source-range';

export function kubernetesContext(base: BaseContext, cluster: KubernetesCluster, settings: Settings): ContextResult {
  const mode = cluster.kubernetes.ports ?? settings.kubernetes.ports;
  const metadata = settings.kubernetes.custom_metadata;
  const { namespace, selector } = cluster.kubernetes;
  const common = {
    ...base,
    labels: { ...metadata.labels, ...base.labels },
    annotations: { ...metadata.annotations },
    namespace,
    selector: { ...selector },
    mode,
  };
  if (mode === 'podip') return { template: null, context: common, problems: [] };

  const problems: Problem[] = [];
  const sourceRanges = commonSources(base, cluster, mode, problems);
  const servicePorts = expandPorts(cluster, problems);
  if (mode === 'loadbalancer') {
    return { template: TEMPLATES.loadbalancer, context: { ...common, service_ports: servicePorts, source_ranges: sourceRanges }, problems };
  }

  for (const [i, spec] of cluster.ports.entries()) {
    if (spec.protocol !== 'udp') continue;
    const port = base.ports[i]!.range;
    problems.push(modeProblem(cluster, `UDP port ${port} cannot go through an Ingress, which carries HTTP only: set kubernetes.ports: loadbalancer on cluster ${cluster.name}, or remove the port`, spec));
  }
  const ingress = settings.kubernetes.ingress;
  const annotations = { ...metadata.annotations, ...INGRESS_REWRITE_ANNOTATIONS, ...(sourceRanges ? { [INGRESS_SOURCES_ANNOTATION]: sourceRanges.join(',') } : {}) };
  const paths: IngressPathContext[] = servicePorts.map((port) => ({ path: `/portcullis/${namespace}/${cluster.name}/${port.port}(/|$)(.*)`, port }));
  return {
    template: TEMPLATES.ingress,
    context: {
      ...common,
      service_ports: servicePorts,
      source_ranges: sourceRanges,
      ingress: { class: ingress.class, host: ingress.host ?? null, tls: ingress.tls, annotations, paths },
    },
    problems,
  };
}

/**
 * One Service (or Ingress) has one source list, so every port of the cluster must allow the same sources.
 * Null when that list is "anyone": the object then carries no source restriction at all.
 */
function commonSources(base: BaseContext, cluster: KubernetesCluster, mode: string, problems: Problem[]): string[] | null {
  const [first, ...rest] = base.ports;
  if (!first) return null;
  const otherIndex = rest.findIndex((port) => sourcesKey(port.sources) !== sourcesKey(first.sources));
  const other = rest[otherIndex];
  if (other) {
    const describe = (port: PortContext) => `${port.protocol} ${port.range} is open to ${describeSources(port.sources)}`;
    problems.push(
      modeProblem(
        cluster,
        `Kubernetes ${mode} mode gives cluster ${cluster.name} one source list for all its ports, but ${describe(first)} while ${describe(other)}: ` +
          'split the cluster into one per source list, or give every port the same exposure and cidrs',
        cluster.ports[otherIndex + 1],
      ),
    );
  }
  return isAnyone(first.sources) ? null : first.sources;
}

function expandPorts(cluster: KubernetesCluster, problems: Problem[]): ServicePortContext[] {
  const total = cluster.ports.reduce((n, spec) => n + spec.to - spec.from + 1, 0);
  if (total > MAX_SERVICE_PORTS) {
    problems.push(
      modeProblem(cluster, `cluster ${cluster.name} asks for ${total} Service ports once ranges are expanded, more than the ${MAX_SERVICE_PORTS} portcullis puts on Kubernetes objects: split the cluster, or narrow its ranges`),
    );
    return [];
  }
  const seen = new Set<string>();
  const ports: ServicePortContext[] = [];
  for (const spec of cluster.ports) {
    for (let port = spec.from; port <= spec.to; port++) {
      const name = `${spec.protocol}-${port}`;
      if (seen.has(name)) continue;
      seen.add(name);
      ports.push({ name, protocol: spec.protocol === 'tcp' ? 'TCP' : 'UDP', port });
    }
  }
  return ports;
}
