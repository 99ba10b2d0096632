import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Reconciler } from '../../../agent/engine/pass.js';
import { KubernetesProvider } from '../../../agent/providers/kubernetes/index.js';
import { createRenderer } from '../../../agent/render/index.js';
import { startKubeApiserver, type FakeKube, type JsonObject } from '../../fakes/kube-apiserver/index.js';
import { fastConverge, MemoryRepo, silentLog } from '../../helpers/agent-fixture.js';

// Whole passes of the Kubernetes provider with the real @kubernetes/client-node against the wire-level
// fake API server (test/fakes/kube-apiserver), which defaults fields, allocates clusterIPs and nodePorts,
// enforces resourceVersion, and counts every write.
const manifest = (name: string, ports: string, extra = '') => `name: ${name}\ncloud: kubernetes\nkubernetes: {namespace: ml, selector: {app: ${name}}${extra}}\nresources:\n  ports: ${ports}\n`;
const SETTINGS = 'kubernetes:\n  custom_metadata:\n    annotations: {example.com/owner: ml-platform}\n  ingress: {class: nginx, host: ports.example.com}\n';

function agent(fake: FakeKube, repo: MemoryRepo, kubeConfig: KubeConfig = fake.kubeConfig()) {
  const provider = new KubernetesProvider({ kubeConfig });
  const reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { kubernetes: provider }, log: silentLog, converge: fastConverge });
  return { provider, reconciler };
}

/** Someone else rewrites a Service behind portcullis's back: a new resourceVersion, the edit applied. */
function recreate(fake: FakeKube, live: JsonObject): void {
  const metadata = live.metadata as JsonObject;
  for (const field of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields']) delete metadata[field];
  fake.remove('Service', metadata.namespace as string, metadata.name as string);
  fake.create('Service', live);
}

const writes = (fake: FakeKube) => fake.writes().map((r) => `${r.method} ${r.path}`);

describe('kubernetes provider: loadbalancer mode', () => {
  let fake: FakeKube;
  before(async () => {
    fake = await startKubeApiserver();
    fake.createNamespace('ml');
  });
  after(() => fake.close());

  it('converges from empty, after a port is added, after one is removed, after the manifest is deleted', async () => {
    const repo = new MemoryRepo({ 'config.yaml': SETTINGS, 'clusters/web.yaml': manifest('web', '["+tcp:80", "+tcp:443"]'), 'clusters/keep.yaml': manifest('keep', '["+tcp:9000"]') });
    const { reconciler } = agent(fake, repo);

    let report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
    const service = fake.get('Service', 'ml', 'web')!;
    const spec = service.spec as JsonObject;
    assert.equal(spec.type, 'LoadBalancer');
    assert.deepEqual((spec.ports as JsonObject[]).map((p) => p.port), [80, 443]);
    assert.deepEqual(spec.selector, { app: 'web' });
    const metadata = service.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
    assert.equal(metadata.labels['app.kubernetes.io/managed-by'], 'portcullis');
    assert.equal(metadata.labels['portcullis.dev/cluster'], 'web');
    assert.equal(metadata.annotations['example.com/owner'], 'ml-platform');
    assert.equal(metadata.annotations['portcullis.dev/revision'], repo.revision);

    fake.clearRequests();
    report = await reconciler.pass(['resync']);
    assert.deepEqual(writes(fake), [], 'a no-op pass writes nothing, despite clusterIP, nodePort and other defaults');

    repo.write({ 'clusters/web.yaml': manifest('web', '["+tcp:80", "+tcp:443", "+tcp:8443"]') });
    fake.clearRequests();
    report = await reconciler.pass(['watch']);
    assert.equal(report.result, 'converged', report.message);
    assert.deepEqual(writes(fake), ['PUT /api/v1/namespaces/ml/services/web'], 'one port added: exactly one write');
    const ports = (fake.get('Service', 'ml', 'web')!.spec as JsonObject).ports as JsonObject[];
    assert.deepEqual(ports.map((p) => p.port), [80, 443, 8443]);
    assert.equal(ports[0]!.nodePort, (spec.ports as JsonObject[])[0]!.nodePort, 'existing ports keep their nodePort');
    assert.equal((fake.get('Service', 'ml', 'web')!.spec as JsonObject).clusterIP, spec.clusterIP);

    repo.write({ 'clusters/web.yaml': manifest('web', '["+tcp:443", "+tcp:8443"]') });
    fake.clearRequests();
    await reconciler.pass(['watch']);
    assert.deepEqual(writes(fake), ['PUT /api/v1/namespaces/ml/services/web'], 'one port removed: exactly one write');
    assert.deepEqual(((fake.get('Service', 'ml', 'web')!.spec as JsonObject).ports as JsonObject[]).map((p) => p.port), [443, 8443]);

    repo.write({ 'clusters/web.yaml': null });
    fake.clearRequests();
    report = await reconciler.pass(['watch']);
    assert.equal(report.result, 'converged', report.message);
    assert.deepEqual(writes(fake), ['DELETE /api/v1/namespaces/ml/services/web']);
    assert.equal(fake.get('Service', 'ml', 'web'), undefined);
    assert.ok(fake.get('Service', 'ml', 'keep'), 'the other cluster is untouched');
  });

  it('never modifies an object without the ownership label, and reports the conflict', async () => {
    fake.create('Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'mine', namespace: 'ml', labels: { team: 'db' } }, spec: { type: 'ClusterIP', ports: [{ port: 5432 }] } });
    const before = JSON.stringify(fake.get('Service', 'ml', 'mine'));
    const repo = new MemoryRepo({ 'clusters/mine.yaml': manifest('mine', '["+tcp:80"]'), 'clusters/keep.yaml': manifest('keep', '["+tcp:9000"]') });
    const { reconciler } = agent(fake, repo);
    const report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'failed');
    assert.equal(JSON.stringify(fake.get('Service', 'ml', 'mine')), before, 'byte for byte as it was');
    const status = reconciler.status.find((s) => s.name === 'mine')!;
    assert.equal(status.state, 'progressing');
    assert.match(status.lastError!, /Service\/ml\/mine exists and is not managed by portcullis/);
    assert.equal(writes(fake).filter((w) => w.includes('/services/mine') && !w.startsWith('POST')).length, 0);
  });

  it('shows load balancer addresses, and pending until there is one', async () => {
    const repo = new MemoryRepo({ 'clusters/lb.yaml': manifest('lb', '["+tcp:80"]'), 'clusters/keep.yaml': manifest('keep', '["+tcp:9000"]') });
    const { reconciler } = agent(fake, repo);
    await reconciler.pass(['startup']);
    const pending = reconciler.status.find((s) => s.name === 'lb')!.endpoints;
    assert.deepEqual(pending.map((e) => [e.state, e.ports]), [['pending', '80']]);
    assert.match(pending[0]!.hint!, /no load balancer has been assigned yet/);
    // Three minutes on and still no address: the hint says what may be missing.
    const later = new KubernetesProvider({ kubeConfig: fake.kubeConfig(), now: () => Date.now() + 3 * 60_000 });
    const laterAgent = new Reconciler({ source: repo, renderer: createRenderer(), providers: { kubernetes: later }, log: silentLog, converge: fastConverge });
    await laterAgent.pass(['resync']);
    assert.match(laterAgent.status.find((s) => s.name === 'lb')!.endpoints[0]!.hint!, /after 3 min: the cluster may have no load-balancer controller/);
    fake.setLoadBalancerIngress('ml', 'lb', [{ ip: '203.0.113.7' }]);
    await reconciler.pass(['resync']);
    assert.deepEqual(reconciler.status.find((s) => s.name === 'lb')!.endpoints.map((e) => `${e.state} ${e.address} ${e.exposure}`), ['ready 203.0.113.7:80 public']);
  });

  it('retries throttling and server errors, and re-reads on a conflict', async () => {
    const repo = new MemoryRepo({ 'clusters/t.yaml': manifest('t', '["+tcp:80"]'), 'clusters/keep.yaml': manifest('keep', '["+tcp:9000"]') });
    const { reconciler } = agent(fake, repo);
    // A list that keeps failing through the pass's read retries fails the observe; ports stay as they are.
    fake.inject({ method: 'GET', path: '/api/v1/services$', status: 429, retryAfter: 1, times: 3 });
    let report = await reconciler.pass(['startup']);
    assert.equal(report.reasons.includes('ObserveFailed'), true, 'an observe that fails leaves everything as it is');
    assert.equal(fake.get('Service', 'ml', 't'), undefined);
    fake.inject({ method: 'GET', path: '/api/v1/services$', status: 503, times: 1 });
    fake.inject({ method: 'POST', path: '/services$', status: 500, times: 1 });
    report = await reconciler.pass(['retry']);
    assert.equal(report.result, 'converged', report.message);
    assert.ok(fake.get('Service', 'ml', 't'));
    assert.ok(report.outcomes.some((o) => o.attempts === 2), 'the 500 was retried');

    // Someone writes between our observe and our replace: the replace gets 409, re-reads, and wins.
    repo.write({ 'clusters/t.yaml': manifest('t', '["+tcp:80", "+tcp:81"]') });
    const provider = (reconciler as unknown as { options: { providers: { kubernetes: KubernetesProvider } } }).options.providers.kubernetes;
    const observe = provider.observe.bind(provider);
    provider.observe = async (scope) => {
      const result = await observe(scope);
      const live = fake.get('Service', 'ml', 't')!;
      (live.metadata as { annotations: Record<string, string> }).annotations['someone/else'] = 'touched';
      recreate(fake, live);
      return result;
    };
    report = await reconciler.pass(['watch']);
    provider.observe = observe;
    assert.equal(report.result, 'converged', report.message);
    const after = fake.get('Service', 'ml', 't')!;
    assert.deepEqual(((after.spec as JsonObject).ports as JsonObject[]).map((p) => p.port), [80, 81]);
    assert.equal((after.metadata as { annotations: Record<string, string> }).annotations['someone/else'], 'touched', 'the other writer keeps its annotation');
  });
});

describe('kubernetes provider: ingress and podip modes', () => {
  let fake: FakeKube;
  beforeEach(async () => {
    fake = await startKubeApiserver();
    fake.createNamespace('ml');
  });
  afterEach(() => fake.close());

  it('ingress: one Ingress per cluster and a ClusterIP Service per port; adding a port costs two writes', async () => {
    const repo = new MemoryRepo({ 'config.yaml': SETTINGS, 'clusters/nb.yaml': manifest('nb', '["+tcp:8888", "+tcp:6006"]', ', ports: ingress'), 'clusters/keep.yaml': manifest('keep', '["+tcp:9000"]') });
    const { reconciler } = agent(fake, repo);
    const report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
    const ingress = fake.get('Ingress', 'ml', 'nb')!;
    const paths = ((ingress.spec as JsonObject).rules as { host: string; http: { paths: { path: string }[] } }[])[0]!;
    assert.equal(paths.host, 'ports.example.com');
    assert.deepEqual(
      paths.http.paths.map((p) => p.path),
      ['/portcullis/ml/nb/6006(/|$)(.*)', '/portcullis/ml/nb/8888(/|$)(.*)'],
    );
    assert.equal(((fake.get('Service', 'ml', 'nb-8888')!.spec as JsonObject).type), 'ClusterIP');
    assert.deepEqual(
      reconciler.status.find((s) => s.name === 'nb')!.endpoints.map((e) => e.address).sort(),
      ['http://ports.example.com/portcullis/ml/nb/6006', 'http://ports.example.com/portcullis/ml/nb/8888'],
    );

    fake.clearRequests();
    await reconciler.pass(['resync']);
    assert.deepEqual(writes(fake), []);

    repo.write({ 'clusters/nb.yaml': manifest('nb', '["+tcp:8888", "+tcp:6006", "+tcp:7000"]', ', ports: ingress') });
    fake.clearRequests();
    await reconciler.pass(['watch']);
    assert.deepEqual(writes(fake).sort(), ['POST /api/v1/namespaces/ml/services', 'PUT /apis/networking.k8s.io/v1/namespaces/ml/ingresses/nb']);
  });

  it('podip: creates nothing and shows the pods\' addresses', async () => {
    fake.addPod({ name: 'p1', namespace: 'ml', labels: { app: 'pod' }, podIP: '10.244.0.5', phase: 'Running' });
    fake.addPod({ name: 'p2', namespace: 'ml', labels: { app: 'other' }, podIP: '10.244.0.6', phase: 'Running' });
    const repo = new MemoryRepo({ 'clusters/pod.yaml': manifest('pod', '[8888]', ', ports: podip') });
    const { reconciler } = agent(fake, repo);
    const report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
    assert.deepEqual(writes(fake), []);
    assert.deepEqual(reconciler.status.find((s) => s.name === 'pod')!.endpoints.map((e) => `${e.address} ${e.state}`), ['10.244.0.5:8888 ready']);
  });
});

describe('kubernetes provider: drift and contexts', () => {
  let fake: FakeKube;
  let second: FakeKube;
  before(async () => {
    fake = await startKubeApiserver();
    second = await startKubeApiserver();
    fake.createNamespace('ml');
    second.createNamespace('ml');
  });
  after(async () => {
    await fake.close();
    await second.close();
  });

  it('a hand edit of an owned Service triggers a pass through the watch, which reverts it', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': manifest('web', '["+tcp:80"]'), 'clusters/keep.yaml': manifest('keep', '["+tcp:9000"]') });
    const { provider, reconciler } = agent(fake, repo);
    const drifts: string[] = [];
    let notify: () => void = () => {};
    const drifted = () => new Promise<void>((resolve) => (notify = resolve));
    const stop = provider.watch((why) => {
      drifts.push(why);
      notify();
    });
    try {
      await reconciler.pass(['startup']);
      await fake.waitForWatches(2, 5000);
      const waiting = drifted();
      const live = fake.get('Service', 'ml', 'web')!;
      ((live.spec as JsonObject).ports as JsonObject[])[0]!.port = 8080;
      recreate(fake, live);
      await Promise.race([waiting, new Promise((_, reject) => setTimeout(() => reject(new Error('no drift event within 5 s')), 5000))]);
      assert.match(drifts.join('\n'), /Service\/ml\/web (changed|deleted)/);
      await reconciler.pass(['drift']);
      assert.deepEqual(((fake.get('Service', 'ml', 'web')!.spec as JsonObject).ports as JsonObject[]).map((p) => p.port), [80]);
    } finally {
      stop();
    }
  });

  it('serves several contexts at once, each cluster in its own', async () => {
    const config = new KubeConfig();
    const a = fake.kubeConfig('alpha');
    const b = second.kubeConfig('beta');
    config.loadFromOptions({
      clusters: [...a.getClusters(), ...b.getClusters()],
      users: [...a.getUsers(), ...b.getUsers()],
      contexts: [...a.getContexts(), ...b.getContexts()],
      currentContext: 'alpha',
    });
    const repo = new MemoryRepo({ 'clusters/x.yaml': manifest('x', '["+tcp:80"]', ', context: alpha'), 'clusters/y.yaml': manifest('y', '["+tcp:81"]', ', context: beta') });
    const { reconciler } = agent(fake, repo, config);
    const report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
    assert.ok(fake.get('Service', 'ml', 'x') && !fake.get('Service', 'ml', 'y'));
    assert.ok(second.get('Service', 'ml', 'y') && !second.get('Service', 'ml', 'x'));
  });
});
