// The fake Kubernetes API server, exercised only through the real @kubernetes/client-node.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  VersionApi,
  Watch,
  makeInformer,
  setHeaderOptions,
  type V1Ingress,
  type V1Service,
} from '@kubernetes/client-node';
import { startKubeApiserver, type FakeKube, type KubeApiserverOptions } from './kube-apiserver/index.js';

interface Failure {
  code: number;
  status: Record<string, unknown>;
  headers: Record<string, string>;
}

async function rejection(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const raw: unknown = error.body;
    const status = (typeof raw === 'string' && raw !== '' ? JSON.parse(raw) : raw ?? {}) as Record<string, unknown>;
    return { code: error.code, status, headers: error.headers };
  }
  return assert.fail('expected the request to fail');
}

async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Client model instances as plain data, for deepEqual. */
const asData = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const service = (name: string, labels: Record<string, string> = {}, spec: Partial<V1Service['spec']> = {}): V1Service => ({
  metadata: { name, labels },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }], ...spec },
});

const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

let fake: FakeKube;
let core: CoreV1Api;
let kc: KubeConfig;

async function start(options: KubeApiserverOptions = {}): Promise<void> {
  fake = await startKubeApiserver(options);
  kc = fake.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
}

describe('fake kube-apiserver: discovery and auth', () => {
  beforeEach(() => start());
  afterEach(() => fake.close());

  it('serves /version and discovery documents', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.major, '1');
    const groups = await (await fetch(`${fake.url}/apis`, { headers: { Authorization: 'Bearer x' } })).json();
    assert.deepEqual(
      groups.groups.map((g: { name: string }) => g.name),
      ['networking.k8s.io', 'coordination.k8s.io'],
    );
    const core = await (await fetch(`${fake.url}/api/v1`, { headers: { Authorization: 'Bearer x' } })).json();
    assert.ok(core.resources.some((r: { name: string; namespaced: boolean }) => r.name === 'services' && r.namespaced));
  });

  it('answers 401 without a bearer token, and can be told to accept anything', async () => {
    const anonymous = new KubeConfig();
    anonymous.loadFromOptions({
      clusters: [{ name: 'c', server: fake.url, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const api = anonymous.makeApiClient(CoreV1Api);
    const failure = await rejection(api.listNamespacedService({ namespace: 'default' }));
    assert.equal(failure.code, 401);
    fake.auth = 'none';
    assert.deepEqual((await api.listNamespacedService({ namespace: 'default' })).items, []);
    fake.auth = { token: 'only-this' };
    assert.equal((await rejection(core.listNamespacedService({ namespace: 'default' }))).code, 401);
  });
});

describe('fake kube-apiserver: Services', () => {
  beforeEach(() => start());
  afterEach(() => fake.close());

  it('fills the defaults a real server fills, and allocates a cluster IP and node ports', async () => {
    const before = Number(fake.resourceVersion);
    const plain = await core.createNamespacedService({ namespace: 'default', body: service('web') });
    assert.match(plain.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/);
    assert.deepEqual(plain.spec?.clusterIPs, [plain.spec?.clusterIP]);
    assert.deepEqual([plain.spec?.type, plain.spec?.sessionAffinity, plain.spec?.ipFamilyPolicy], ['ClusterIP', 'None', 'SingleStack']);
    assert.deepEqual(plain.spec?.ipFamilies, ['IPv4']);
    assert.deepEqual([plain.spec?.ports?.[0]?.protocol, plain.spec?.ports?.[0]?.targetPort], ['TCP', 80]);
    assert.equal(plain.spec?.externalTrafficPolicy, undefined);
    assert.ok(plain.metadata?.uid);
    assert.ok(plain.metadata?.creationTimestamp instanceof Date);
    assert.equal(plain.metadata?.generation, 1);
    assert.equal(Number(plain.metadata?.resourceVersion), before + 1);

    const lb = await core.createNamespacedService({
      namespace: 'default',
      body: service('lb', {}, { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
    });
    assert.notEqual(lb.spec?.clusterIP, plain.spec?.clusterIP);
    const nodePorts = lb.spec?.ports?.map((p) => p.nodePort ?? 0) ?? [];
    assert.equal(new Set(nodePorts).size, 2);
    for (const n of nodePorts) assert.ok(n >= 30000 && n <= 32767, `nodePort ${n}`);
    assert.deepEqual([lb.spec?.externalTrafficPolicy, lb.spec?.allocateLoadBalancerNodePorts], ['Cluster', true]);
    assert.deepEqual(asData(lb.status?.loadBalancer), {});
    assert.equal(Number(lb.metadata?.resourceVersion), before + 2);
  });

  it('rejects a duplicate (409 AlreadyExists), a missing namespace (404) and an invalid spec (422)', async () => {
    await core.createNamespacedService({ namespace: 'default', body: service('web') });
    const dup = await rejection(core.createNamespacedService({ namespace: 'default', body: service('web') }));
    assert.equal(dup.code, 409);
    assert.deepEqual(
      [dup.status.kind, dup.status.apiVersion, dup.status.status, dup.status.reason, dup.status.code, dup.status.message],
      ['Status', 'v1', 'Failure', 'AlreadyExists', 409, 'services "web" already exists'],
    );
    const missing = await rejection(core.createNamespacedService({ namespace: 'ml', body: service('web') }));
    assert.deepEqual([missing.code, missing.status.reason, missing.status.message], [404, 'NotFound', 'namespaces "ml" not found']);
    fake.createNamespace('ml');
    assert.ok((await core.createNamespacedService({ namespace: 'ml', body: service('web') })).metadata?.uid);

    const noPorts = await rejection(core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'bad' }, spec: {} } }));
    assert.deepEqual([noPorts.code, noPorts.status.reason, noPorts.status.message], [422, 'Invalid', 'Service "bad" is invalid: spec.ports: Required value']);
    const taken = (await core.readNamespacedService({ namespace: 'default', name: 'web' })).spec?.clusterIP;
    const clash = await rejection(core.createNamespacedService({ namespace: 'default', body: service('other', {}, { clusterIP: taken }) }));
    assert.match(String(clash.status.message), /provided IP is already allocated/);
  });

  it('gets, lists with label and field selectors across namespaces, and pages with limit/continue', async () => {
    fake.createNamespace('ml');
    await core.createNamespacedService({ namespace: 'default', body: service('a', { tier: 'web', env: 'prod' }) });
    await core.createNamespacedService({ namespace: 'default', body: service('b', { tier: 'db', env: 'dev' }) });
    await core.createNamespacedService({ namespace: 'default', body: service('c', { tier: 'web' }) });
    await core.createNamespacedService({ namespace: 'ml', body: service('d', { tier: 'web', env: 'prod' }) });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedService({ namespace: 'default', ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) })).items.map(
        (s) => s.metadata?.name,
      );
    assert.deepEqual(await names(), ['a', 'b', 'c']);
    assert.deepEqual(await names('tier=web'), ['a', 'c']);
    assert.deepEqual(await names('tier==web,env=prod'), ['a']);
    assert.deepEqual(await names('tier!=web'), ['b']);
    assert.deepEqual(await names('env in (dev, prod)'), ['a', 'b']);
    assert.deepEqual(await names('env notin (prod)'), ['b', 'c']);
    assert.deepEqual(await names('env'), ['a', 'b']);
    assert.deepEqual(await names('!env'), ['c']);
    assert.deepEqual(await names(undefined, 'metadata.name=b'), ['b']);
    assert.deepEqual(await names('tier=web', 'metadata.name!=a'), ['c']);
    const bad = await rejection(core.listNamespacedService({ namespace: 'default', labelSelector: 'tier in web' }));
    assert.equal(bad.code, 400);

    const everywhere = await core.listServiceForAllNamespaces({ labelSelector: 'env=prod' });
    assert.deepEqual(everywhere.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`), ['default/a', 'ml/d']);
    assert.equal(everywhere.metadata?.resourceVersion, fake.resourceVersion);
    const inMl = await core.listServiceForAllNamespaces({ fieldSelector: 'metadata.namespace=ml' });
    assert.deepEqual(inMl.items.map((s) => s.metadata?.name), ['d']);

    const page1 = await core.listNamespacedService({ namespace: 'default', limit: 2 });
    assert.deepEqual([page1.items.map((s) => s.metadata?.name), page1.metadata?.remainingItemCount], [['a', 'b'], 1]);
    const page2 = await core.listNamespacedService({ namespace: 'default', limit: 2, _continue: page1.metadata?._continue ?? '' });
    assert.deepEqual([page2.items.map((s) => s.metadata?.name), page2.metadata?._continue], [['c'], undefined]);

    const got = await core.readNamespacedService({ namespace: 'default', name: 'b' });
    assert.deepEqual([got.kind, got.apiVersion, got.metadata?.labels], ['Service', 'v1', { tier: 'db', env: 'dev' }]);
    const gone = await rejection(core.readNamespacedService({ namespace: 'default', name: 'zz' }));
    assert.deepEqual([gone.code, gone.status.reason, gone.status.message], [404, 'NotFound', 'services "zz" not found']);
  });

  it('replaces with optimistic concurrency: 409 on a stale resourceVersion, 404 when missing, no write for a no-op', async () => {
    const created = await core.createNamespacedService({ namespace: 'default', body: service('web', {}, { type: 'NodePort' }) });
    const changed = structuredClone(created);
    changed.spec!.ports = [{ name: 'http', port: 8080 }];
    const replaced = await core.replaceNamespacedService({ namespace: 'default', name: 'web', body: changed });
    assert.ok(Number(replaced.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
    assert.equal(replaced.spec?.clusterIP, created.spec?.clusterIP);
    assert.equal(replaced.metadata?.uid, created.metadata?.uid);
    assert.equal(replaced.metadata?.generation, 2);

    const stale = await rejection(core.replaceNamespacedService({ namespace: 'default', name: 'web', body: changed }));
    assert.deepEqual([stale.code, stale.status.reason], [409, 'Conflict']);
    assert.match(String(stale.status.message), /^Operation cannot be fulfilled on services "web": the object has been modified/);
    const missing = await rejection(core.replaceNamespacedService({ namespace: 'default', name: 'nope', body: service('nope') }));
    assert.equal(missing.code, 404);

    // A replace without clusterIP/nodePort keeps the allocated ones, as the real server does.
    const again = await core.replaceNamespacedService({ namespace: 'default', name: 'web', body: service('web', {}, { type: 'NodePort', ports: [{ name: 'http', port: 8080 }] }) });
    assert.equal(again.metadata?.resourceVersion, replaced.metadata?.resourceVersion, 'an unchanged object keeps its resourceVersion');
    assert.equal(again.spec?.ports?.[0]?.nodePort, replaced.spec?.ports?.[0]?.nodePort);
  });

  it('deletes (answering with the Service), then 404s; status updates come from the test helper', async () => {
    await core.createNamespacedService({ namespace: 'default', body: service('web', {}, { type: 'LoadBalancer' }) });
    fake.setLoadBalancerIngress('default', 'web', [{ ip: '203.0.113.7' }]);
    const read = await core.readNamespacedService({ namespace: 'default', name: 'web' });
    assert.deepEqual(asData(read.status?.loadBalancer?.ingress), [{ ip: '203.0.113.7' }]);
    // A write to the main resource cannot change status.
    const edited = structuredClone(read);
    edited.status = { loadBalancer: {} };
    const kept = await core.replaceNamespacedService({ namespace: 'default', name: 'web', body: edited });
    assert.deepEqual(asData(kept.status?.loadBalancer?.ingress), [{ ip: '203.0.113.7' }]);

    const deleted = await core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    assert.deepEqual([deleted.kind, deleted.metadata?.name], ['Service', 'web']);
    assert.equal(fake.get('Service', 'default', 'web'), undefined);
    assert.equal((await rejection(core.deleteNamespacedService({ namespace: 'default', name: 'web' }))).code, 404);
  });

  it('merge and strategic merge patches (ports merge by port), 409 on a stale resourceVersion in the patch', async () => {
    await core.createNamespacedService({ namespace: 'default', body: service('web', { a: '1' }) });
    const merged = await core.patchNamespacedService({ namespace: 'default', name: 'web', body: { metadata: { labels: { a: null, b: '2' } } } }, mergePatch);
    assert.deepEqual(merged.metadata?.labels, { b: '2' });
    const strategic = await core.patchNamespacedService(
      { namespace: 'default', name: 'web', body: { spec: { ports: [{ name: 'https', port: 443 }] } } },
      strategicPatch,
    );
    assert.deepEqual(strategic.spec?.ports?.map((p) => p.port), [80, 443]);
    const without80 = await core.patchNamespacedService({ namespace: 'default', name: 'web', body: { spec: { ports: [{ port: 80, $patch: 'delete' }] } } }, strategicPatch);
    assert.deepEqual(without80.spec?.ports?.map((p) => p.port), [443]);
    const plainMerge = await core.patchNamespacedService({ namespace: 'default', name: 'web', body: { spec: { ports: [{ port: 8443 }] } } }, mergePatch);
    assert.deepEqual(plainMerge.spec?.ports?.map((p) => [p.port, p.targetPort]), [[8443, 8443]]);
    const stale = await rejection(
      core.patchNamespacedService({ namespace: 'default', name: 'web', body: { metadata: { resourceVersion: '1' }, spec: { type: 'NodePort' } } }, mergePatch),
    );
    assert.equal(stale.code, 409);
    // The client's default patch type is JSON patch (RFC 6902): an object body is refused as on a real server.
    const notAList = await rejection(core.patchNamespacedService({ namespace: 'default', name: 'web', body: { spec: {} } }));
    assert.equal(notAList.code, 400);
    const jsonPatched = await core.patchNamespacedService({ namespace: 'default', name: 'web', body: [{ op: 'replace', path: '/spec/type', value: 'NodePort' }] });
    assert.ok((jsonPatched.spec?.ports?.[0]?.nodePort ?? 0) >= 30000);
  });

  it('a type change drops what the old type needed; requested node ports are checked', async () => {
    const lb = await core.createNamespacedService({ namespace: 'default', body: service('web', {}, { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }) });
    assert.ok((lb.spec?.healthCheckNodePort ?? 0) >= 30000);
    const nodePort = lb.spec?.ports?.[0]?.nodePort ?? 0;
    const clash = await rejection(
      core.createNamespacedService({ namespace: 'default', body: service('other', {}, { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort }] }) }),
    );
    assert.deepEqual([clash.code, clash.status.message], [422, `Service "other" is invalid: spec.ports[0].nodePort: Invalid value: ${nodePort}: provided port is already allocated`]);
    const outOfRange = await rejection(
      core.createNamespacedService({ namespace: 'default', body: service('other', {}, { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 80 }] }) }),
    );
    assert.equal(outOfRange.code, 422);

    const clusterIP = await core.patchNamespacedService({ namespace: 'default', name: 'web', body: { spec: { type: 'ClusterIP' } } }, mergePatch);
    assert.deepEqual(
      [clusterIP.spec?.ports?.[0]?.nodePort, clusterIP.spec?.externalTrafficPolicy, clusterIP.spec?.healthCheckNodePort, clusterIP.spec?.allocateLoadBalancerNodePorts],
      [undefined, undefined, undefined, undefined],
    );
    assert.equal(clusterIP.spec?.clusterIP, lb.spec?.clusterIP);
    const reused = await core.createNamespacedService({ namespace: 'default', body: service('other', {}, { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort }] }) });
    assert.equal(reused.spec?.ports?.[0]?.nodePort, nodePort, 'the released node port can be taken again');
  });

  it('server-side apply creates, updates, removes fields it stopped applying, and conflicts without force', async () => {
    const applied = (labels: Record<string, string>, port: number) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port }] },
    });
    const first = await core.patchNamespacedService({ namespace: 'default', name: 'web', fieldManager: 'portcullis', force: true, body: applied({ a: '1', b: '2' }, 80) }, ssa);
    assert.deepEqual(first.metadata?.labels, { a: '1', b: '2' });
    assert.ok((first.spec?.ports?.[0]?.nodePort ?? 0) >= 30000);
    assert.deepEqual(first.metadata?.managedFields?.map((m) => [m.manager, m.operation]), [['portcullis', 'Apply']]);
    assert.equal(fake.requests.at(-1)?.status, 201);

    const second = await core.patchNamespacedService({ namespace: 'default', name: 'web', fieldManager: 'portcullis', force: true, body: applied({ a: '1' }, 8080) }, ssa);
    assert.deepEqual(second.metadata?.labels, { a: '1' });
    assert.deepEqual(second.spec?.ports?.map((p) => p.port), [8080]);
    assert.equal(second.spec?.clusterIP, first.spec?.clusterIP);
    assert.equal(second.metadata?.uid, first.metadata?.uid);

    const same = await core.patchNamespacedService({ namespace: 'default', name: 'web', fieldManager: 'portcullis', force: true, body: applied({ a: '1' }, 8080) }, ssa);
    assert.equal(same.metadata?.resourceVersion, second.metadata?.resourceVersion, 're-applying the same configuration changes nothing');

    const rival = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { a: 'other' } } };
    const conflict = await rejection(core.patchNamespacedService({ namespace: 'default', name: 'web', fieldManager: 'someone-else', body: rival }, ssa));
    assert.deepEqual([conflict.code, conflict.status.reason], [409, 'Conflict']);
    assert.match(String(conflict.status.message), /conflict with "portcullis"/);
    const forced = await core.patchNamespacedService({ namespace: 'default', name: 'web', fieldManager: 'someone-else', force: true, body: rival }, ssa);
    assert.deepEqual(forced.metadata?.labels, { a: 'other' });

    const noManager = await rejection(core.patchNamespacedService({ namespace: 'default', name: 'web', body: rival }, ssa));
    assert.equal(noManager.code, 422);
  });

  it('counts requests and writes, so a read-only pass can be shown to write nothing', async () => {
    await core.createNamespacedService({ namespace: 'default', body: service('web') });
    fake.clearRequests();
    await core.listServiceForAllNamespaces({ labelSelector: 'app.kubernetes.io/managed-by=portcullis' });
    await core.readNamespacedService({ namespace: 'default', name: 'web' });
    assert.deepEqual(fake.writes(), []);
    assert.deepEqual(
      fake.requests.map((r) => [r.method, r.path, r.query.labelSelector]),
      [
        ['GET', '/api/v1/services', 'app.kubernetes.io/managed-by=portcullis'],
        ['GET', '/api/v1/namespaces/default/services/web', undefined],
      ],
    );
    await core.createNamespacedService({ namespace: 'default', body: service('dry'), dryRun: 'All' });
    assert.equal(fake.get('Service', 'default', 'dry'), undefined);
    assert.deepEqual(fake.writes(), []);
    await core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    assert.deepEqual(fake.writes().map((w) => [w.method, w.contentType]), [['DELETE', 'application/json']]);
  });

  it('injected faults reach the client as ApiException with the status code and Retry-After', async () => {
    fake.inject({ method: 'GET', path: /\/services$/, status: 429, retryAfter: 7, times: 2 });
    for (let i = 0; i < 2; i++) {
      const throttled = await rejection(core.listNamespacedService({ namespace: 'default' }));
      assert.deepEqual([throttled.code, throttled.headers['retry-after'], throttled.status.reason], [429, '7', 'TooManyRequests']);
      assert.deepEqual(throttled.status.details, { retryAfterSeconds: 7 });
    }
    assert.deepEqual((await core.listNamespacedService({ namespace: 'default' })).items, []);
    fake.inject({ method: 'POST', status: 503 });
    assert.equal((await rejection(core.createNamespacedService({ namespace: 'default', body: service('web') }))).code, 503);
    assert.equal(fake.get('Service', 'default', 'web'), undefined);
    assert.ok((await core.createNamespacedService({ namespace: 'default', body: service('web') })).metadata?.uid);
  });
});

describe('fake kube-apiserver: Ingresses, Leases, Pods, Namespaces', () => {
  beforeEach(() => start());
  afterEach(() => fake.close());

  it('stores Ingresses with pathType kept and an empty load balancer status; 422 without pathType', async () => {
    const net = kc.makeApiClient(NetworkingV1Api);
    const ingress = (name: string): V1Ingress => ({
      metadata: { name },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
      },
    });
    const created = await net.createNamespacedIngress({ namespace: 'default', body: ingress('web') });
    assert.equal(created.spec?.rules?.[0]?.http?.paths[0]?.pathType, 'Prefix');
    assert.deepEqual(asData(created.status?.loadBalancer), {});
    const withoutPathType = ingress('bad');
    const path: { pathType?: string } | undefined = withoutPathType.spec?.rules?.[0]?.http?.paths[0];
    delete path?.pathType;
    const invalid = await rejection(net.createNamespacedIngress({ namespace: 'default', body: withoutPathType }));
    assert.deepEqual([invalid.code, invalid.status.reason], [422, 'Invalid']);
    fake.setLoadBalancerIngress('default', 'web', [{ hostname: 'lb.example.com' }], 'Ingress');
    assert.deepEqual(asData((await net.readNamespacedIngress({ namespace: 'default', name: 'web' })).status?.loadBalancer?.ingress), [{ hostname: 'lb.example.com' }]);
    const status = await net.deleteNamespacedIngress({ namespace: 'default', name: 'web' });
    assert.deepEqual([status.kind, status.status], ['Status', 'Success']);
  });

  it('Leases: create, renew with the current resourceVersion, lose the race with a stale one', async () => {
    const leases = kc.makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({
      namespace: 'kube-system',
      body: { metadata: { name: 'portcullis' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    });
    const renewA = structuredClone(lease);
    renewA.spec!.holderIdentity = 'a';
    renewA.spec!.leaseTransitions = 1;
    const takeB = structuredClone(lease);
    takeB.spec!.holderIdentity = 'b';
    await leases.replaceNamespacedLease({ namespace: 'kube-system', name: 'portcullis', body: renewA });
    const lost = await rejection(leases.replaceNamespacedLease({ namespace: 'kube-system', name: 'portcullis', body: takeB }));
    assert.deepEqual([lost.code, lost.status.message], [409, 'Operation cannot be fulfilled on leases.coordination.k8s.io "portcullis": the object has been modified; please apply your changes to the latest version and try again']);
    assert.equal((await leases.readNamespacedLease({ namespace: 'kube-system', name: 'portcullis' })).spec?.holderIdentity, 'a');
  });

  it('Pods from the helper carry their IPs and labels; deleting a namespace takes its objects', async () => {
    fake.createNamespace('ml');
    fake.addPod({ namespace: 'ml', name: 'jup-0', labels: { app: 'jupyter' }, podIP: '10.244.0.5' });
    fake.addPod({ namespace: 'ml', name: 'other', labels: { app: 'x' }, podIP: '10.244.0.6' });
    const pods = await core.listNamespacedPod({ namespace: 'ml', labelSelector: 'app=jupyter' });
    assert.deepEqual(pods.items.map((p) => [p.metadata?.name, p.status?.podIP, p.status?.phase]), [['jup-0', '10.244.0.5', 'Running']]);
    const byIP = await core.listNamespacedPod({ namespace: 'ml', fieldSelector: 'status.podIP=10.244.0.6' });
    assert.deepEqual(byIP.items.map((p) => p.metadata?.name), ['other']);
    await core.createNamespacedService({ namespace: 'ml', body: service('jup') });
    await core.deleteNamespace({ name: 'ml' });
    assert.deepEqual([fake.list('Pod', 'ml'), fake.list('Service', 'ml')], [[], []]);
    assert.equal((await rejection(core.deleteNamespace({ name: 'default' }))).code, 403);
  });
});

describe('fake kube-apiserver: watches and informers', () => {
  afterEach(() => fake.close());

  it('streams ADDED, MODIFIED and DELETED from a resourceVersion, and reports leaving a label selector as DELETED', async () => {
    await start();
    const rv = (await core.listNamespacedService({ namespace: 'default' })).metadata?.resourceVersion ?? '';
    const all: string[] = [];
    const selected: string[] = [];
    const watch = new Watch(kc);
    const done: unknown[] = [];
    const a = await watch.watch('/api/v1/namespaces/default/services', { resourceVersion: rv }, (type, obj: V1Service) => all.push(`${type} ${obj.metadata?.name}`), (e) => done.push(e));
    const b = await watch.watch(
      '/api/v1/namespaces/default/services',
      { resourceVersion: rv, labelSelector: 'exposed=yes' },
      (type, obj: V1Service) => selected.push(`${type} ${obj.metadata?.name} ${obj.metadata?.resourceVersion}`),
      (e) => done.push(e),
    );
    await core.createNamespacedService({ namespace: 'default', body: service('web', { exposed: 'yes' }) });
    await core.patchNamespacedService({ namespace: 'default', name: 'web', body: { metadata: { labels: { exposed: 'no' } } } }, mergePatch);
    await core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    await eventually(() => assert.deepEqual(all, ['ADDED web', 'MODIFIED web', 'DELETED web']));
    await eventually(() => assert.equal(selected.length, 2));
    assert.match(selected[0] ?? '', /^ADDED web /);
    assert.match(selected[1] ?? '', /^DELETED web \d+$/);
    a.abort();
    b.abort();
    await eventually(() => assert.equal(fake.openWatches, 0));
  });

  it('a watch without resourceVersion starts with the existing objects', async () => {
    await start();
    await core.createNamespacedService({ namespace: 'default', body: service('one') });
    const seen: string[] = [];
    const controller = await new Watch(kc).watch('/api/v1/services', {}, (type, obj: V1Service) => seen.push(`${type} ${obj.metadata?.name}`), () => {});
    await eventually(() => assert.deepEqual(seen, ['ADDED one']));
    controller.abort();
  });

  it('answers a resourceVersion it no longer keeps with 410 Expired, as an ERROR event (default) or an HTTP status', async () => {
    for (const expiredWatch of ['event', 'status'] as const) {
      await start({ expiredWatch });
      const old = fake.resourceVersion;
      await core.createNamespacedService({ namespace: 'default', body: service('web') });
      fake.compact();
      const events: { type: string; obj: Record<string, unknown> }[] = [];
      let finished: unknown = 'pending';
      await new Watch(kc).watch('/api/v1/namespaces/default/services', { resourceVersion: old }, (type, obj: Record<string, unknown>) => events.push({ type, obj }), (e) => (finished = e));
      await eventually(() => assert.notEqual(finished, 'pending'));
      if (expiredWatch === 'event') {
        assert.equal(finished, null);
        assert.deepEqual(events.map((e) => [e.type, e.obj.code, e.obj.reason]), [['ERROR', 410, 'Expired']]);
      } else {
        assert.equal((finished as { statusCode?: number }).statusCode, 410);
        assert.deepEqual(events, []);
      }
      await fake.close();
    }
    await start();
  });

  it('sends BOOKMARK events at the current resourceVersion to watches that allow them', async () => {
    await start();
    const seen: string[] = [];
    const watch = new Watch(kc);
    const record = (tag: string) => (type: string, obj: V1Service) => seen.push(`${tag} ${type} ${obj.metadata?.resourceVersion}`);
    const a = await watch.watch('/api/v1/namespaces/default/services', { allowWatchBookmarks: true }, record('a'), () => {});
    const b = await watch.watch('/api/v1/namespaces/default/services', {}, record('b'), () => {});
    await fake.waitForWatches(2);
    fake.sendBookmarks();
    await eventually(() => assert.deepEqual(seen, [`a BOOKMARK ${fake.resourceVersion}`]));
    a.abort();
    b.abort();
  });

  it('dropWatches ends every stream and the client sees the watch finish', async () => {
    await start();
    let finished: unknown = 'pending';
    await new Watch(kc).watch('/api/v1/namespaces/default/services', {}, () => {}, (e) => (finished = e));
    await fake.waitForWatches(1);
    assert.equal(fake.dropWatches(), 1);
    await eventually(() => assert.equal(finished, null));
    assert.equal(fake.openWatches, 0);
  });

  it('an informer sees add, update and delete, survives dropped watches, and relists after 410', async () => {
    await start();
    await core.createNamespacedService({ namespace: 'default', body: service('before') });
    const path = '/api/v1/namespaces/default/services';
    const informer = makeInformer(kc, path, () => core.listNamespacedService({ namespace: 'default' }));
    const seen: string[] = [];
    informer.on('add', (o: V1Service) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o: V1Service) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o: V1Service) => seen.push(`delete ${o.metadata?.name}`));
    const errors: unknown[] = [];
    informer.on('error', (e: unknown) => errors.push(e));
    await informer.start();
    await fake.waitForWatches(1);

    await core.createNamespacedService({ namespace: 'default', body: service('web') });
    await core.patchNamespacedService({ namespace: 'default', name: 'web', body: { metadata: { labels: { x: 'y' } } } }, mergePatch);
    await core.deleteNamespacedService({ namespace: 'default', name: 'before' });
    await eventually(() => assert.deepEqual(seen, ['add before', 'add web', 'update web', 'delete before']));

    // The stream ends: the informer resumes from its resourceVersion without relisting.
    const lists = () => fake.requests.filter((r) => r.method === 'GET' && r.path === path && r.query.watch === undefined).length;
    assert.equal(lists(), 1);
    fake.dropWatches();
    await fake.waitForWatches(1);
    await core.createNamespacedService({ namespace: 'default', body: service('after-drop') });
    await eventually(() => assert.equal(seen.at(-1), 'add after-drop'));
    assert.equal(lists(), 1);

    // History compacted past the informer's resourceVersion: 410 on resume, so it lists again.
    fake.createNamespace('elsewhere');
    fake.compact();
    fake.dropWatches();
    await eventually(() => assert.equal(lists(), 2));
    await fake.waitForWatches(1);
    await core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    await eventually(() => assert.equal(seen.at(-1), 'delete web'));
    assert.deepEqual(informer.list('default').map((s) => s.metadata?.name), ['after-drop']);
    assert.deepEqual(errors, []);
    await informer.stop();
  });
});
