import { makeInformer, type KubeConfig, type KubernetesObject, type V1Ingress, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { Cluster, JsonObject, KubernetesMode, Resource, ResourceChange } from '../../model.js';
import type { ClusterProblem, Endpoint, Provider, ProviderScope } from '../provider.js';
import { ProviderError } from '../provider.js';
import { apiError, KubeClients, statusCode, type ContextClients } from './clients.js';
import { CLUSTER_LABEL, forCreate, isOwned, MANAGED_BY, mergeForReplace, observedBody, type LiveObject } from './objects.js';

const OWNED = `${MANAGED_BY}=portcullis`;
/** How long a LoadBalancer may stay without an address before status says why that may be. */
const PENDING_HINT_AFTER_MS = 2 * 60_000;

export interface KubernetesProviderOptions {
  /** The operator's kubeconfig; default KUBECONFIG, ~/.kube/config, or in-cluster. */
  kubeConfig?: KubeConfig;
  /** How long one API request may take before it is abandoned (and retried as transient). Default 30 s. */
  requestTimeoutMs?: number;
  now?: () => number;
}

type Kind = 'Service' | 'Ingress';

/** Where a live object is, and the object itself: what apply and endpoints need beyond the compared body. */
interface Held {
  context: string;
  namespace: string;
  name: string;
  kind: Kind;
  live: LiveObject;
}

/**
 * The Kubernetes provider: one LoadBalancer Service per cluster, or one Ingress plus a ClusterIP
 * Service per port, or nothing (pod IPs). Owned objects are found by label across every namespace of
 * every context in use; the compared body is the object seen through the configuration portcullis last
 * applied, so defaulted fields and other controllers' annotations never show as drift.
 */
export class KubernetesProvider implements Provider {
  readonly cloud = 'kubernetes' as const;
  private readonly clients: KubeClients;
  private readonly now: () => number;
  private held = new Map<string, Held>();
  private pods = new Map<string, V1Pod[]>();
  private contextsSeen = new Set<string>();
  private drift: ((why: string) => void) | undefined;
  private informers = new Map<string, { stop(): void }>();
  /** resourceVersions this provider wrote: the watch events they cause are not drift. */
  private ownWrites = new Set<string>();

  constructor(options: KubernetesProviderOptions = {}) {
    this.clients = new KubeClients(options.kubeConfig, options.requestTimeoutMs);
    this.now = options.now ?? Date.now;
  }

  async observe(scope: ProviderScope): Promise<Resource[]> {
    const contexts = new Set(this.contextsSeen);
    for (const cluster of scope.clusters) if (cluster.cloud === 'kubernetes') contexts.add(this.contextOf(cluster));
    const held = new Map<string, Held>();
    const resources: Resource[] = [];
    const where = new Map(scope.clusters.map((c) => [c.name, c.cloud === 'kubernetes' ? { context: this.contextOf(c), namespace: c.kubernetes.namespace } : undefined]));
    for (const context of [...contexts].sort()) {
      const clients = this.clients.for(context);
      const [services, ingresses] = await Promise.all([
        clients.core.listServiceForAllNamespaces({ labelSelector: OWNED }).catch((err: unknown) => {
          throw apiError(`Services in context ${context}`, 'list', err);
        }),
        clients.networking.listIngressForAllNamespaces({ labelSelector: OWNED }).catch((err: unknown) => {
          throw apiError(`Ingresses in context ${context}`, 'list', err);
        }),
      ]);
      // Items of a list carry no apiVersion or kind: the list says what they are.
      const objects: [Kind, LiveObject][] = [
        ...services.items.map((s) => ['Service', { ...s, apiVersion: 'v1', kind: 'Service' }] as [Kind, LiveObject]),
        ...ingresses.items.map((i) => ['Ingress', { ...i, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }] as [Kind, LiveObject]),
      ];
      for (const [kind, live] of objects) {
        if (!isOwned(live)) continue;
        const cluster = live.metadata?.labels?.[CLUSTER_LABEL] ?? '';
        const name = live.metadata?.name ?? '';
        const namespace = live.metadata?.namespace ?? 'default';
        const home = where.get(cluster);
        // An object of a cluster that moved context or namespace is not the one Git asks for: its own id closes it.
        const moved = home !== undefined && (home.context !== context || home.namespace !== namespace);
        const id = `kubernetes/${cluster}/${kind}/${name}${moved ? `@${context}/${namespace}` : ''}`;
        if (held.has(id)) continue;
        held.set(id, { context, namespace, name, kind, live });
        resources.push({ id, cloud: 'kubernetes', cluster, kind, name, body: { context, object: observedBody(live) } });
      }
      this.contextsSeen.add(context);
      this.ensureWatch(context, clients.config);
    }
    this.held = held;
    await this.observePods(scope);
    return resources;
  }

  complete(desired: Resource[], _actual: Resource[], scope: ProviderScope): { resources: Resource[]; problems: ClusterProblem[] } {
    const problems: ClusterProblem[] = [];
    const resources: Resource[] = [];
    for (const resource of desired) {
      const cluster = scope.clusters.find((c) => c.name === resource.cluster);
      if (!cluster || cluster.cloud !== 'kubernetes') continue;
      try {
        resources.push({ ...resource, body: { context: this.contextOf(cluster), object: resource.body } });
      } catch (err) {
        problems.push({ cluster: cluster.name, message: (err as Error).message });
      }
    }
    return { resources, problems };
  }

  async apply(change: ResourceChange, scope: ProviderScope): Promise<void> {
    const held = this.held.get(change.id);
    if (change.action === 'deleted') {
      if (held) await this.remove(held);
      this.held.delete(change.id);
      return;
    }
    const { context, object } = change.desired!.body as { context: string; object: JsonObject };
    const metadata = object.metadata as { name: string; namespace: string };
    const target = { context, namespace: metadata.namespace, name: metadata.name, kind: change.kind as Kind };
    const inPlace = change.action === 'configured' && held && held.context === context && held.namespace === target.namespace;
    const live = inPlace ? await this.replace(held, object, scope.revision) : await this.create(target, object, scope.revision);
    if (held && !inPlace) await this.remove(held);
    // What endpoints read until the next observe.
    this.held.set(change.id, { ...target, live });
  }

  endpoints(cluster: Cluster, actual: Resource[], scope: ProviderScope): Endpoint[] {
    if (cluster.cloud !== 'kubernetes') return [];
    const mode: KubernetesMode = cluster.kubernetes.ports ?? scope.settings.kubernetes.ports;
    const endpoints: Endpoint[] = [];
    const base = { cluster: cluster.name };
    if (mode === 'podip') {
      const pods = (this.pods.get(cluster.name) ?? []).filter((p) => p.status?.podIP && p.status.phase === 'Running');
      for (const spec of cluster.ports) {
        const ports = spec.from === spec.to ? `${spec.from}` : `${spec.from}-${spec.to}`;
        if (pods.length === 0) endpoints.push({ ...base, protocol: spec.protocol, ports, exposure: spec.exposure, address: '', state: 'pending', hint: `no running pod matches ${selector(cluster.kubernetes.selector)} in ${cluster.kubernetes.namespace}` });
        for (const pod of pods) endpoints.push({ ...base, protocol: spec.protocol, ports, exposure: spec.exposure, address: `${pod.status!.podIP}:${ports}`, state: 'ready' });
      }
      return endpoints;
    }
    for (const resource of actual) {
      const held = this.held.get(resource.id);
      if (!held) continue;
      if (held.kind === 'Service' && mode === 'loadbalancer') {
        const service = held.live as V1Service;
        const ingress = service.status?.loadBalancer?.ingress?.[0];
        const host = ingress?.ip ?? ingress?.hostname;
        for (const port of service.spec?.ports ?? []) {
          const entry = { ...base, protocol: (port.protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp', ports: String(port.port), exposure: service.spec?.loadBalancerSourceRanges?.length ? ('private' as const) : ('public' as const) };
          if (host) endpoints.push({ ...entry, address: `${host}:${port.port}`, state: 'ready' });
          else endpoints.push({ ...entry, address: '', state: 'pending', ...this.pendingHint(held.live) });
        }
      }
      if (held.kind === 'Ingress') {
        const ingress = held.live as V1Ingress;
        const tls = (ingress.spec?.tls?.length ?? 0) > 0;
        const lb = ingress.status?.loadBalancer?.ingress?.[0];
        for (const rule of ingress.spec?.rules ?? []) {
          const host = rule.host ?? lb?.hostname ?? lb?.ip;
          for (const path of rule.http?.paths ?? []) {
            const port = String(path.backend.service?.port?.number ?? '');
            const prefix = (path.path ?? '').replace(/\(\/\|\$\)\(\.\*\)$/, '');
            const entry = { ...base, protocol: 'tcp' as const, ports: port, exposure: 'public' as const };
            if (host) endpoints.push({ ...entry, address: `${tls ? 'https' : 'http'}://${host}${prefix}`, state: 'ready' });
            else endpoints.push({ ...entry, address: '', state: 'pending', ...this.pendingHint(held.live, 'the ingress controller has not published an address yet') });
          }
        }
      }
    }
    return endpoints;
  }

  watch(drift: (why: string) => void): () => void {
    this.drift = drift;
    return () => {
      this.drift = undefined;
      for (const informer of this.informers.values()) informer.stop();
      this.informers.clear();
    };
  }

  async close(): Promise<void> {
    for (const informer of this.informers.values()) informer.stop();
    this.informers.clear();
  }

  private contextOf(cluster: Cluster): string {
    return (cluster.cloud === 'kubernetes' ? cluster.kubernetes.context : undefined) ?? this.clients.defaultContext();
  }

  private async observePods(scope: ProviderScope): Promise<void> {
    const pods = new Map<string, V1Pod[]>();
    await Promise.all(
      scope.clusters.map(async (cluster) => {
        if (cluster.cloud !== 'kubernetes' || (cluster.kubernetes.ports ?? scope.settings.kubernetes.ports) !== 'podip') return;
        const clients = this.clients.for(cluster.kubernetes.context);
        const list = await clients.core.listNamespacedPod({ namespace: cluster.kubernetes.namespace, labelSelector: selector(cluster.kubernetes.selector) }).catch((err: unknown) => {
          throw apiError(`Pods of ${cluster.name}`, 'list', err);
        });
        pods.set(cluster.name, list.items);
      }),
    );
    this.pods = pods;
  }

  private async create(target: Omit<Held, 'live'>, object: JsonObject, revision: string): Promise<LiveObject> {
    const clients = this.clients.for(target.context);
    const subject = `${target.kind}/${target.namespace}/${target.name}`;
    const body = forCreate(object, revision);
    try {
      const created = target.kind === 'Service' ? await clients.core.createNamespacedService({ namespace: target.namespace, body }) : await clients.networking.createNamespacedIngress({ namespace: target.namespace, body });
      this.remember(created);
      return created;
    } catch (err) {
      if (statusCode(err) === 409) {
        const live = await this.read(clients, target);
        if (live && !isOwned(live)) {
          throw new ProviderError(`${subject} exists and is not managed by portcullis (no ${OWNED} label): it is left alone; rename the cluster, or delete or label the object`, false);
        }
        // Ours after all (another agent, or a pass cut short): the next pass sees it and converges it.
        throw new ProviderError(`${subject} create raced with another writer`, true);
      }
      if (statusCode(err) === 404) throw new ProviderError(`${subject} create failed: namespace ${target.namespace} does not exist in context ${target.context}: create it, or name another namespace`, false);
      throw apiError(subject, 'create', err);
    }
  }

  /** Replace with the observed resourceVersion; a 409 means someone wrote in between: read again and retry once. */
  private async replace(held: Held, object: JsonObject, revision: string): Promise<LiveObject> {
    const clients = this.clients.for(held.context);
    const subject = `${held.kind}/${held.namespace}/${held.name}`;
    let live = held.live;
    for (let attempt = 1; ; attempt++) {
      if (!isOwned(live)) throw new ProviderError(`${subject} is no longer managed by portcullis: left alone`, false);
      const body = mergeForReplace(live, object, revision);
      try {
        const replaced =
          held.kind === 'Service'
            ? await clients.core.replaceNamespacedService({ name: held.name, namespace: held.namespace, body })
            : await clients.networking.replaceNamespacedIngress({ name: held.name, namespace: held.namespace, body });
        this.remember(replaced);
        return replaced;
      } catch (err) {
        const code = statusCode(err);
        if (code === 404) return this.create(held, object, revision);
        if (code !== 409 || attempt >= 2) throw apiError(subject, 'update', err);
        const fresh = await this.read(clients, held);
        if (!fresh) return this.create(held, object, revision);
        live = fresh;
      }
    }
  }

  private async remove(held: Held): Promise<void> {
    const clients = this.clients.for(held.context);
    const subject = `${held.kind}/${held.namespace}/${held.name}`;
    try {
      if (held.kind === 'Service') await clients.core.deleteNamespacedService({ name: held.name, namespace: held.namespace });
      else await clients.networking.deleteNamespacedIngress({ name: held.name, namespace: held.namespace });
      this.ownWrites.add(`delete:${held.context}/${held.kind}/${held.namespace}/${held.name}`);
    } catch (err) {
      if (statusCode(err) !== 404) throw apiError(subject, 'delete', err);
    }
  }

  private async read(clients: ContextClients, target: Omit<Held, 'live'>): Promise<LiveObject | undefined> {
    try {
      return target.kind === 'Service'
        ? await clients.core.readNamespacedService({ name: target.name, namespace: target.namespace })
        : await clients.networking.readNamespacedIngress({ name: target.name, namespace: target.namespace });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw apiError(`${target.kind}/${target.namespace}/${target.name}`, 'read', err);
    }
  }

  private remember(object: LiveObject): void {
    const version = object.metadata?.resourceVersion;
    if (version) this.ownWrites.add(version);
    if (this.ownWrites.size > 10_000) this.ownWrites = new Set([...this.ownWrites].slice(-1000));
  }

  private pendingHint(live: LiveObject, why = 'no load balancer has been assigned yet'): { hint: string } {
    const created = live.metadata?.creationTimestamp ? new Date(live.metadata.creationTimestamp).getTime() : this.now();
    const waited = this.now() - created;
    if (waited < PENDING_HINT_AFTER_MS) return { hint: why };
    return { hint: `${why} after ${Math.round(waited / 60_000)} min: the cluster may have no load-balancer controller (a cloud controller manager, MetalLB…); consider kubernetes.ports: ingress or podip` };
  }

  /** Informers on owned Services and Ingresses: an edit or delete by someone else asks for a pass at once. */
  private ensureWatch(context: string, config: KubeConfig): void {
    if (!this.drift || this.informers.has(context)) return;
    const clients = this.clients.for(context);
    const stops: (() => void)[] = [];
    const watchKind = <T extends KubernetesObject>(kind: Kind, path: string, list: () => Promise<{ items: T[] }>) => {
      const informer = makeInformer<T>(config, path, list as never, OWNED);
      let started = false;
      const report = (verb: string) => (object: T) => {
        const version = object.metadata?.resourceVersion;
        const key = `delete:${context}/${kind}/${object.metadata?.namespace}/${object.metadata?.name}`;
        if (!started || (version && this.ownWrites.has(version)) || (verb === 'deleted' && this.ownWrites.delete(key))) return;
        this.drift?.(`${kind}/${object.metadata?.namespace}/${object.metadata?.name} ${verb} in context ${context}`);
      };
      let stopped = false;
      let retry: NodeJS.Timeout | undefined;
      informer.on('update', report('changed'));
      informer.on('delete', report('deleted'));
      // A dropped watch is normal (API server restarts, timeouts): start again, unless we stopped it.
      informer.on('error', () => {
        if (!stopped) retry = setTimeout(() => void informer.start().catch(() => undefined), 1000);
      });
      void informer.start().then(
        () => (started = true),
        () => undefined,
      );
      stops.push(() => {
        stopped = true;
        clearTimeout(retry);
        void informer.stop();
      });
    };
    watchKind<V1Service>('Service', '/api/v1/services', () => clients.core.listServiceForAllNamespaces({ labelSelector: OWNED }));
    watchKind<V1Ingress>('Ingress', '/apis/networking.k8s.io/v1/ingresses', () => clients.networking.listIngressForAllNamespaces({ labelSelector: OWNED }));
    this.informers.set(context, { stop: () => stops.forEach((s) => s()) });
  }
}

function selector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
