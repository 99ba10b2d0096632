// Leader election on a Lease, with the real @kubernetes/client-node against the wire-level fake API
// server (real resourceVersion and 409 semantics). Short timings keep the failovers to seconds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Reconciler } from '../../agent/engine/pass.js';
import { LeaseElector } from '../../agent/leader/index.js';
import { KubernetesProvider } from '../../agent/providers/kubernetes/index.js';
import { createRenderer } from '../../agent/render/index.js';
import { startKubeApiserver, type FakeKube } from '../fakes/kube-apiserver/index.js';
import { fastConverge, MemoryRepo, silentLog } from '../helpers/agent-fixture.js';

// A Lease holds whole seconds (leaseDurationSeconds), so the duration is one.
const TIMING = { leaseDurationMs: 2000, renewDeadlineMs: 1200, retryPeriodMs: 150 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Timers and requests run late on a loaded machine: bounds allow this much on top of the protocol's own. */
const SLACK_MS = 1000;

/** A kubeconfig for the fake with its own bearer token, so one client can be cut off by token. */
function kubeConfigWith(fake: FakeKube, token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({ clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }], users: [{ name: 'u', token }], contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }], currentContext: 'fake' });
  return config;
}

/** Samples both electors' view every few ms: what each believed about itself, and when. */
function sampler(a: LeaseElector, b: LeaseElector) {
  const samples: { at: number; a: boolean; b: boolean }[] = [];
  const timer = setInterval(() => samples.push({ at: Date.now(), a: a.isLeader(), b: b.isLeader() }), 5);
  return {
    samples,
    stop: () => clearInterval(timer),
    firstWhere: (pred: (s: { a: boolean; b: boolean }) => boolean) => samples.find(pred),
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
  return Date.now();
}

describe('leader election on a coordination.k8s.io Lease', () => {
  let fake: FakeKube;
  before(async () => {
    fake = await startKubeApiserver();
    fake.createNamespace('portcullis');
  });
  after(() => fake.close());

  const elector = (identity: string, lease: string, token = `${identity}-token`) => new LeaseElector(kubeConfigWith(fake, token), { namespace: 'portcullis', name: lease, identity, ...TIMING });

  it('the first replica creates the Lease and leads; the second stands by while it is renewed', async () => {
    const a = elector('a', 'first');
    const b = elector('b', 'first');
    try {
      assert.equal(await a.tryAcquireOrRenew(), true);
      const lease = fake.get('Lease', 'portcullis', 'first')!;
      assert.deepEqual([(lease.spec as { holderIdentity: string }).holderIdentity, (lease.spec as { leaseDurationSeconds: number }).leaseDurationSeconds], ['a', 2]);
      assert.equal(await b.tryAcquireOrRenew(), false);
      for (let i = 0; i < 3; i++) {
        await sleep(TIMING.leaseDurationMs / 2);
        assert.equal(await a.tryAcquireOrRenew(), true, 'renewed');
        assert.equal(await b.tryAcquireOrRenew(), false, 'a renewed lease is never taken');
      }
      assert.equal((fake.get('Lease', 'portcullis', 'first')!.spec as { leaseTransitions: number }).leaseTransitions, 0);
    } finally {
      await a.stop({ release: false });
      await b.stop({ release: false });
    }
  });

  it('of two replicas racing for a free Lease with the same resourceVersion, exactly one wins (409 for the other)', async () => {
    const a = elector('a', 'race');
    const b = elector('b', 'race');
    const c = elector('c', 'race');
    await a.tryAcquireOrRenew();
    await a.stop({ release: true });
    const won = await Promise.all([b.tryAcquireOrRenew(), c.tryAcquireOrRenew()]);
    assert.deepEqual(won.filter(Boolean).length, 1, `won: ${won}`);
    assert.equal((fake.get('Lease', 'portcullis', 'race')!.spec as { holderIdentity: string }).holderIdentity, won[0] ? 'b' : 'c');
    await b.stop({ release: false });
    await c.stop({ release: false });
  });

  it('a leader that dies: the standby takes over within one lease duration (plus a retry period) of its last renewal', async () => {
    const a = elector('a', 'crash');
    const b = elector('b', 'crash');
    a.start();
    await until(() => a.isLeader(), 'a to lead');
    b.start();
    await sleep(TIMING.leaseDurationMs);
    assert.equal(b.isLeader(), false, 'no takeover while the leader renews');
    // Killed: it stops renewing and does not hand the lease over.
    await a.stop({ release: false });
    const died = Date.now();
    const took = await until(() => b.isLeader(), 'b to take over');
    const failover = took - died;
    assert.ok(failover <= TIMING.leaseDurationMs + 2 * TIMING.retryPeriodMs + SLACK_MS, `failover took ${failover} ms`);
    assert.equal((fake.get('Lease', 'portcullis', 'crash')!.spec as { holderIdentity: string; leaseTransitions: number }).holderIdentity, 'b');
    assert.equal((fake.get('Lease', 'portcullis', 'crash')!.spec as { leaseTransitions: number }).leaseTransitions, 1);
    await b.stop();
  });

  it('a leader that stops cleanly hands the Lease over at once', async () => {
    const a = elector('a', 'handover');
    const b = elector('b', 'handover');
    a.start();
    await until(() => a.isLeader(), 'a to lead');
    b.start();
    await sleep(300);
    await a.stop();
    const stopped = Date.now();
    await until(() => b.isLeader(), 'b to take over');
    assert.ok(Date.now() - stopped < TIMING.retryPeriodMs + SLACK_MS, `handover took ${Date.now() - stopped} ms: well inside the lease duration`);
    await b.stop();
  });

  it('a leader cut off from the API server stops on its own clock before the standby can take over: never two leaders', async () => {
    const a = elector('a', 'partition', 'a-token');
    const b = elector('b', 'partition', 'b-token');
    a.start();
    await until(() => a.isLeader(), 'a to lead');
    b.start();
    const watch = sampler(a, b);
    try {
      await sleep(500);
      fake.auth = { token: 'b-token' }; // a's requests now get 401
      const cut = Date.now();
      await until(() => b.isLeader(), 'b to take over');
      await sleep(200);
      watch.stop();
      const aStopped = watch.firstWhere((s) => !s.a)!;
      const bStarted = watch.firstWhere((s) => s.b)!;
      assert.ok(aStopped.at - cut <= TIMING.renewDeadlineMs + SLACK_MS, `a stopped ${aStopped.at - cut} ms after the cut`);
      assert.ok(aStopped.at < bStarted.at, 'a stopped before b started');
      assert.equal(watch.samples.filter((s) => s.a && s.b).length, 0, 'never two leaders');
      assert.equal(a.isLeader(), false);
    } finally {
      watch.stop();
      fake.auth = 'bearer';
      await a.stop({ release: false });
      await b.stop();
    }
  });
});

describe('the write gate: a replica that lost the lease writes nothing', () => {
  let fake: FakeKube;
  before(async () => {
    fake = await startKubeApiserver();
    fake.createNamespace('ml');
    fake.createNamespace('portcullis');
  });
  after(() => fake.close());

  const manifest = (ports: string) => `name: web\ncloud: kubernetes\nkubernetes: {namespace: ml, selector: {app: web}}\nresources:\n  ports: ${ports}\n`;
  const serviceWrites = () => fake.writes().filter((r) => r.path.includes('/services'));

  it('two agents on one repo: only the leader writes; after a partition the old leader observes but never writes, the new one converges', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': manifest('["+tcp:80"]') });
    // The providers may always reach the API server; only the electors are cut off: the gate alone must stop the writes.
    const agent = (identity: string, electorToken: string) => {
      const elector = new LeaseElector(kubeConfigWith(fake, electorToken), { namespace: 'portcullis', name: 'agents', identity, ...TIMING });
      const reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { kubernetes: new KubernetesProvider({ kubeConfig: kubeConfigWith(fake, 'provider-token') }) }, log: silentLog, converge: fastConverge, canWrite: () => elector.isLeader() });
      return { elector, reconciler };
    };
    const a = agent('a', 'a-lease-token');
    const b = agent('b', 'provider-token');
    a.elector.start();
    await until(() => a.elector.isLeader(), 'a to lead');
    b.elector.start();
    try {
      assert.equal((await a.reconciler.pass(['startup'])).result, 'converged');
      const standby = await b.reconciler.pass(['startup']);
      assert.deepEqual([standby.result, standby.outcomes.length], ['standby', 0]);
      assert.equal(serviceWrites().length, 1, 'one create, by the leader');

      fake.auth = { token: 'provider-token' }; // a's elector is cut off, its provider is not
      await until(() => !a.elector.isLeader(), 'a to stop leading');
      fake.clearRequests();
      repo.write({ 'clusters/web.yaml': manifest('["+tcp:80", "+tcp:443"]') });
      const cutOff = await a.reconciler.pass(['poll']);
      assert.equal(cutOff.result, 'standby', 'the old leader only observes');
      assert.deepEqual(serviceWrites(), [], 'and writes nothing');

      await until(() => b.elector.isLeader(), 'b to take over');
      const converged = await b.reconciler.pass(['resync']);
      assert.equal(converged.result, 'converged', converged.message);
      assert.deepEqual(serviceWrites().map((r) => r.method), ['PUT']);
      assert.deepEqual(((fake.get('Service', 'ml', 'web')!.spec as { ports: { port: number }[] }).ports).map((p) => p.port), [80, 443]);
    } finally {
      fake.auth = 'bearer';
      await a.elector.stop({ release: false });
      await b.elector.stop();
    }
  });
});
