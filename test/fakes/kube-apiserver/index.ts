// A wire-level fake of the Kubernetes API server for tests that use the real
// @kubernetes/client-node: plain node:http, real paths, real Status errors, real
// resourceVersion/conflict/watch semantics for Namespaces, Pods, Services, Ingresses, Leases.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Faults, type Fault } from './faults.js';
import { clone, type JsonObject } from './json.js';
import { kindNamed, NAMESPACE, type Kind, type KindName } from './kinds.js';
import { Objects, type WriteOptions } from './objects.js';
import { createHandler, type AuthMode, type RecordedRequest } from './server.js';
import { Store } from './store.js';
import { Watches, type ExpiredAs } from './watch.js';

export type { AuthMode, Fault, JsonObject, KindName, RecordedRequest };

export interface KubeApiserverOptions {
  /** Port to listen on (127.0.0.1); 0, the default, picks a free one. */
  port?: number;
  auth?: AuthMode;
  /** The bearer token kubeConfig() puts in the user entry. */
  token?: string;
  /** Watch events kept for resuming watches; older resourceVersions get 410 Expired. */
  historyLimit?: number;
  expiredWatch?: ExpiredAs;
  now?: () => Date;
  /** Namespaces that exist at start (default: default, kube-system, kube-public, kube-node-lease). */
  namespaces?: readonly string[];
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

export interface PodSeed {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  podIP?: string;
  phase?: string;
  nodeName?: string;
}

export interface FakeKube {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Auth checking, changeable while running. */
  auth: AuthMode;
  kubeConfig(context?: string): KubeConfig;
  close(): Promise<void>;

  /** Called with each request as it arrives, before it is served (a test may stop the client there). */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  /** Every HTTP request received, in order. */
  readonly requests: readonly RecordedRequest[];
  /** POST/PUT/PATCH/DELETE requests, without dry runs. */
  writes(): RecordedRequest[];
  clearRequests(): void;

  inject(fault: Fault): void;
  clearFaults(): void;
  /** Close every open watch stream; returns how many there were. */
  dropWatches(): number;
  readonly openWatches: number;
  waitForWatches(count: number, timeoutMs?: number): Promise<void>;
  /** A BOOKMARK event to every watch opened with allowWatchBookmarks=true. */
  sendBookmarks(): void;
  /** Forget the event history: any watch from an older resourceVersion gets 410 Expired. */
  compact(): void;
  readonly resourceVersion: string;

  /** Copies of stored objects (namespace '' or undefined for cluster-scoped kinds). */
  get(kind: KindName, namespace: string | undefined, name: string): JsonObject | undefined;
  list(kind: KindName, namespace?: string): JsonObject[];
  /** Store an object as a POST would (defaults, validation, events); kind from its apiVersion/kind. */
  create(kind: KindName, object: JsonObject): JsonObject;
  remove(kind: KindName, namespace: string | undefined, name: string): void;
  createNamespace(name: string, labels?: Record<string, string>): JsonObject;
  addPod(pod: PodSeed): JsonObject;
  /** Replace a Service's (or Ingress's) status.loadBalancer.ingress, as a cloud controller would. */
  setLoadBalancerIngress(namespace: string, name: string, ingress: readonly LoadBalancerIngress[], kind?: 'Service' | 'Ingress'): JsonObject;
  /** Replace an object's status through the status subresource. */
  setStatus(kind: KindName, namespace: string | undefined, name: string, status: JsonObject): JsonObject;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const HELPER: WriteOptions = { dryRun: false, manager: 'fake-kube-apiserver' };

export async function startKubeApiserver(options: KubeApiserverOptions = {}): Promise<FakeKube> {
  const store = new Store(options.historyLimit ?? 1000);
  const objects = new Objects(store, options.now ?? (() => new Date()));
  const watches = new Watches(store, options.expiredWatch ?? 'event');
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  const token = options.token ?? 'portcullis-fake-token';
  let auth: AuthMode = options.auth ?? 'bearer';
  let address = '127.0.0.1:0';

  for (const ns of options.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    objects.create(NAMESPACE, '', { metadata: { name: ns } }, HELPER);
  }

  let onRequest: ((request: RecordedRequest) => void) | undefined;
  const server = createServer(createHandler({ objects, watches, faults, requests, auth: () => auth, address: () => address, onRequest: (r) => onRequest?.(r) }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const ns = (kind: Kind, namespace: string | undefined) => (kind.namespaced ? (namespace ?? 'default') : '');

  const fake: FakeKube = {
    url,
    port,
    token,
    get auth() {
      return auth;
    },
    set auth(mode: AuthMode) {
      auth = mode;
    },
    get onRequest() {
      return onRequest;
    },
    set onRequest(listener) {
      onRequest = listener;
    },
    kubeConfig(context = 'fake') {
      const config = new KubeConfig();
      config.loadFromOptions({
        clusters: [{ name: context, server: url, skipTLSVerify: true }],
        users: [{ name: context, token }],
        contexts: [{ name: context, cluster: context, user: context }],
        currentContext: context,
      });
      return config;
    },
    async close() {
      watches.dropAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    requests,
    writes: () => requests.filter((r) => WRITE_METHODS.has(r.method) && r.query.dryRun === undefined),
    clearRequests: () => void requests.splice(0),
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    dropWatches: () => watches.dropAll(),
    get openWatches() {
      return watches.count;
    },
    waitForWatches: (count, timeoutMs = 5000) => watches.waitFor(count, timeoutMs),
    sendBookmarks: () => watches.bookmarks(),
    compact: () => store.compact(),
    get resourceVersion() {
      return String(store.resourceVersion);
    },
    get(kind, namespace, name) {
      const k = kindNamed(kind);
      const found = store.peek(k, ns(k, namespace), name);
      return found ? clone(found) : undefined;
    },
    list(kind, namespace) {
      return store.list(kindNamed(kind), namespace).map((o) => clone(o));
    },
    create(kind, object) {
      const k = kindNamed(kind);
      const meta = object.metadata;
      const namespace = typeof meta === 'object' && meta !== null && !Array.isArray(meta) && typeof meta.namespace === 'string' ? meta.namespace : undefined;
      return objects.create(k, ns(k, namespace), object, HELPER);
    },
    remove(kind, namespace, name) {
      const k = kindNamed(kind);
      objects.delete(k, ns(k, namespace), name, undefined, HELPER);
    },
    createNamespace(name, labels = {}) {
      return objects.create(NAMESPACE, '', { metadata: { name, labels } }, HELPER);
    },
    addPod(pod) {
      const status: JsonObject = { phase: pod.phase ?? (pod.podIP ? 'Running' : 'Pending') };
      if (pod.podIP) Object.assign(status, { podIP: pod.podIP, podIPs: [{ ip: pod.podIP }] });
      const spec: JsonObject = { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] };
      if (pod.nodeName) spec.nodeName = pod.nodeName;
      const object: JsonObject = { metadata: { name: pod.name, labels: { ...(pod.labels ?? {}) } }, spec, status };
      return objects.create(kindNamed('Pod'), pod.namespace ?? 'default', object, { ...HELPER, keepStatus: true });
    },
    setLoadBalancerIngress(namespace, name, ingress, kind = 'Service') {
      const k = kindNamed(kind);
      const current = objects.get(k, namespace, name);
      const status = typeof current.status === 'object' && current.status !== null && !Array.isArray(current.status) ? current.status : {};
      const entries = ingress.map((i) => ({ ...i }));
      return fake.setStatus(kind, namespace, name, { ...status, loadBalancer: entries.length > 0 ? { ingress: entries } : {} });
    },
    setStatus(kind, namespace, name, status) {
      const k = kindNamed(kind);
      return objects.replace(k, ns(k, namespace), name, { metadata: { name }, status }, HELPER, 'status');
    },
  };
  return fake;
}
