// The resource types the fake serves, described once: routes, discovery, messages and
// storage all read this table.
export type KindName = 'Namespace' | 'Pod' | 'Service' | 'Ingress' | 'Lease';

export interface Kind {
  kind: KindName;
  group: string;
  version: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  /** Has a status subresource: writes to the main resource keep the stored status. */
  hasStatus: boolean;
  /** DELETE answers with the deleted object (Services, Pods, Namespaces) instead of a Status. */
  deleteReturnsObject: boolean;
  /** Field selectors beyond metadata.name / metadata.namespace. */
  extraFields: readonly string[];
  /** Name rule: Services and Namespaces need a DNS-1035/1123 label, the rest a DNS-1123 subdomain. */
  nameRule: 'label-1035' | 'label-1123' | 'subdomain';
}

export const KINDS: readonly Kind[] = [
  {
    kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'],
    namespaced: false, hasStatus: true, deleteReturnsObject: true, extraFields: ['status.phase'], nameRule: 'label-1123',
  },
  {
    kind: 'Pod', group: '', version: 'v1', plural: 'pods', singular: 'pod', shortNames: ['po'],
    namespaced: true, hasStatus: true, deleteReturnsObject: true, extraFields: ['spec.nodeName', 'status.phase', 'status.podIP'], nameRule: 'subdomain',
  },
  {
    kind: 'Service', group: '', version: 'v1', plural: 'services', singular: 'service', shortNames: ['svc'],
    namespaced: true, hasStatus: true, deleteReturnsObject: true, extraFields: ['spec.clusterIP', 'spec.type'], nameRule: 'label-1035',
  },
  {
    kind: 'Ingress', group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', singular: 'ingress', shortNames: ['ing'],
    namespaced: true, hasStatus: true, deleteReturnsObject: false, extraFields: [], nameRule: 'subdomain',
  },
  {
    kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', plural: 'leases', singular: 'lease', shortNames: [],
    namespaced: true, hasStatus: false, deleteReturnsObject: false, extraFields: [], nameRule: 'subdomain',
  },
];

export function apiVersionOf(kind: Kind): string {
  return kind.group ? `${kind.group}/${kind.version}` : kind.version;
}

export function kindNamed(name: KindName): Kind {
  const found = KINDS.find((k) => k.kind === name);
  if (!found) throw new Error(`fake kube-apiserver: unknown kind ${name}`);
  return found;
}

export function kindByPlural(group: string, version: string, plural: string): Kind | undefined {
  return KINDS.find((k) => k.group === group && k.version === version && k.plural === plural);
}

export function kindOfObject(apiVersion: unknown, kind: unknown): Kind | undefined {
  return KINDS.find((k) => apiVersionOf(k) === apiVersion && k.kind === kind);
}

export const NAMESPACE = kindNamed('Namespace');
