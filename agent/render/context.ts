import type { Cluster, Exposure, PortSpec, Problem, Protocol, Settings } from '../model.js';
import { effectiveSources, rangeText } from './sources.js';

// What a template is given. The grouping and the checks live here, in code; a template only lays the
// values out as YAML, so an operator who rewrites a template cannot get them wrong.

export const TEMPLATES = {
  loadbalancer: 'kubernetes-loadbalancer.yml.j2',
  ingress: 'kubernetes-ingress.yml.j2',
  aws: 'aws-security-group.yml.j2',
  gcp: 'gcp-firewall.yml.j2',
  node: 'node-forward.yml.j2',
} as const;
export type TemplateName = (typeof TEMPLATES)[keyof typeof TEMPLATES];

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const CLUSTER_LABEL = 'portcullis.dev/cluster';

/** The mark on everything portcullis renders; it is merged last, so no user label can replace it. */
export const ownershipLabels = (cluster: string): Record<string, string> => ({ [MANAGED_BY_LABEL]: 'portcullis', [CLUSTER_LABEL]: cluster });

/** A port spec as templates see it. */
export interface PortContext {
  protocol: Protocol;
  from: number;
  to: number;
  /** `"80"` or `"10020-10040"`. */
  range: string;
  exposure: Exposure;
  cidrs: string[];
  names: string[];
  /** Who may connect: the spec's cidrs, or the default for its exposure. */
  sources: string[];
}

/** What every template is given; each cloud adds its own fields. */
export interface BaseContext {
  cluster: Cluster;
  settings: Settings;
  name: string;
  labels: Record<string, string>;
  ports: PortContext[];
}

export type TemplateContext = BaseContext & Record<string, unknown>;

/** The template to render a cluster with and its context; `template: null` when the cluster renders nothing. */
export interface ContextResult {
  template: TemplateName | null;
  context: TemplateContext;
  problems: Problem[];
}

export function baseContext(cluster: Cluster, settings: Settings): BaseContext {
  return {
    cluster,
    settings,
    name: cluster.name,
    // Kubernetes objects add settings.kubernetes.custom_metadata.labels under these (context-kubernetes.ts).
    labels: { ...cluster.labels, ...ownershipLabels(cluster.name) },
    ports: cluster.ports.map((spec) => portContext(spec, settings)),
  };
}

function portContext(spec: PortSpec, settings: Settings): PortContext {
  return {
    protocol: spec.protocol,
    from: spec.from,
    to: spec.to,
    range: rangeText(spec),
    exposure: spec.exposure,
    cidrs: [...spec.cidrs],
    names: [...spec.names],
    sources: effectiveSources(spec, settings),
  };
}

export function modeProblem(cluster: Cluster, message: string, spec?: PortSpec): Problem {
  return { code: 'MODE_UNSUPPORTED', severity: 'error', message, at: spec?.at ?? cluster.at, cluster: cluster.name };
}
