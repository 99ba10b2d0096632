// Metric values after a known sequence of passes: a Reconciler over the node provider on the real
// userspace backend, wired to the metrics as the agent wires them; values read back from prom-client's
// registry, the scraped text linted by the real promtool.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Reconciler } from '../../agent/engine/pass.js';
import { createMetrics, type Metrics } from '../../agent/metrics.js';
import { instrumentProvider } from '../../agent/providers/instrument.js';
import type { NodeBackend, NodeForward } from '../../agent/providers/node/index.js';
import { NodeProvider } from '../../agent/providers/node/index.js';
import { createUserspaceBackend } from '../../agent/providers/node/userspace.js';
import { createRenderer } from '../../agent/render/index.js';
import { createAgentServer } from '../../agent/server/http.js';
import { openRepoSource } from '../../agent/source/repo-source.js';
import { fastConverge, freePortRange, MemoryRepo, nodeManifest, silentLog } from '../helpers/agent-fixture.js';
import { TempGitRepo } from '../helpers/repo.js';
import { promtoolCheckMetrics, seriesOf, valueOf } from './read.js';

/** The userspace backend, whose next apply can be made to fail as a broken node would. */
class FlakyBackend implements NodeBackend {
  readonly name = 'userspace' as const;
  failNext = false;
  constructor(readonly inner: NodeBackend) {}
  list(): Promise<NodeForward[]> {
    return this.inner.list();
  }
  apply(add: readonly NodeForward[], remove: readonly NodeForward[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('node backend refused the transaction'));
    }
    return this.inner.apply(add, remove);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('metrics after a known sequence of passes', () => {
  const backend = new FlakyBackend(createUserspaceBackend({ listenHost: '127.0.0.1' }));
  let repo: MemoryRepo;
  let reconciler: Reconciler;
  let metrics: Metrics;
  let config = '';
  const web = (ports: (number | string)[]) => nodeManifest('web', '127.0.0.1', ports);
  const api = (ports: (number | string)[]) => nodeManifest('api', '127.0.0.1', ports);
  const v = (name: string, labels: Record<string, string> = {}) => valueOf(metrics.registry, name, labels);

  before(async () => {
    const range = await freePortRange(40);
    config = `private_cidrs: [127.0.0.0/8]\nnode:\n  port_range: ${range.from}-${range.to}\n  public_address: 203.0.113.10\n`;
    repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web([41001, '+tcp:41002']), 'clusters/api.yaml': api(['42000-42009']) });
    let current: Reconciler | undefined;
    metrics = createMetrics(() => current);
    const provider = instrumentProvider(new NodeProvider(backend), metrics.observeRequest);
    reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { node: provider }, log: silentLog, converge: fastConverge, onPass: (report) => metrics.recordPass(report) });
    current = reconciler;
  });
  after(() => backend.close());

  it('a first pass: passes, changes, open and public ports by cluster (a range is one series), revision, requests', async () => {
    const report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
    assert.equal(await v('portcullis_passes_total', { trigger: 'startup', result: 'converged' }), 1);
    // A node range is a forward per port (2 for web, 10 for api), yet one open_ports series per cluster.
    assert.equal(await v('portcullis_changes_total', { cloud: 'node', action: 'created', result: 'ok' }), 12);
    assert.deepEqual(await seriesOf(metrics.registry, 'portcullis_open_ports'), [
      '{"cloud":"node","cluster":"api","exposure":"private","protocol":"tcp"} 10',
      '{"cloud":"node","cluster":"web","exposure":"private","protocol":"tcp"} 1',
      '{"cloud":"node","cluster":"web","exposure":"public","protocol":"tcp"} 1',
    ]);
    assert.deepEqual(await seriesOf(metrics.registry, 'portcullis_public_ports'), ['{"cloud":"node","cluster":"web","protocol":"tcp"} 1']);
    assert.equal(await v('portcullis_applied_revision_info', { revision: 'r1' }), 1);
    assert.equal(await v('portcullis_clusters', { state: 'synced' }), 2);
    assert.equal(await v('portcullis_drift_corrected_total', { cloud: 'node', action: 'created' }), undefined, 'nothing to compare the first pass with');
    // The userspace backend is transactional: one observe and one batch write.
    assert.equal(await v('portcullis_provider_requests_total', { provider: 'node', operation: 'observe', result: 'ok' }), 1);
    assert.equal(await v('portcullis_provider_requests_total', { provider: 'node', operation: 'batch', result: 'ok' }), 1);
    assert.equal(await v('portcullis_provider_request_duration_seconds_count', { provider: 'node', operation: 'batch' }), 1);
    const lastSuccess = (await v('portcullis_last_successful_pass_timestamp_seconds'))!;
    assert.ok(Math.abs(lastSuccess - Date.now() / 1000) < 60, `last success ${lastSuccess} is now`);
    assert.equal(await v('portcullis_leader'), 1, 'without leader election this replica writes');
  });

  it('a forward deleted behind the agent’s back and put back is drift corrected; an idle pass changes nothing', async () => {
    const idle = await reconciler.pass(['resync']);
    assert.deepEqual([idle.result, idle.outcomes.length], ['converged', 0]);
    const lost = (await backend.list()).find((f) => f.cluster === 'web' && f.exposure === 'private')!;
    await backend.apply([], [lost]);
    const healed = await reconciler.pass(['drift']);
    assert.deepEqual(healed.outcomes.map((o) => `${o.change.action} ${o.ok}`), ['created true']);
    assert.equal(await v('portcullis_drift_corrected_total', { cloud: 'node', action: 'created' }), 1);
    assert.equal(await v('portcullis_passes_total', { trigger: 'drift', result: 'converged' }), 1);
    assert.equal(await v('portcullis_passes_total', { trigger: 'resync', result: 'converged' }), 1);
    assert.equal(await v('portcullis_changes_total', { cloud: 'node', action: 'created', result: 'ok' }), 13);
  });

  it('a port removed in Git is a change, not drift; the open ports follow', async () => {
    repo.write({ 'clusters/web.yaml': web(['+tcp:41002']) });
    const report = await reconciler.pass(['poll']);
    assert.deepEqual(report.outcomes.map((o) => `${o.change.action} ${o.ok}`), ['deleted true']);
    assert.equal(await v('portcullis_changes_total', { cloud: 'node', action: 'deleted', result: 'ok' }), 1);
    assert.equal(await v('portcullis_drift_corrected_total', { cloud: 'node', action: 'deleted' }), undefined);
    assert.equal(await v('portcullis_drift_corrected_total', { cloud: 'node', action: 'created' }), 1);
    assert.equal(await v('portcullis_open_ports', { cluster: 'web', cloud: 'node', protocol: 'tcp', exposure: 'private' }), undefined);
    assert.equal(await v('portcullis_open_ports', { cluster: 'web', cloud: 'node', protocol: 'tcp', exposure: 'public' }), 1);
    assert.equal(await v('portcullis_applied_revision_info', { revision: 'r2' }), 1);
    assert.equal(await v('portcullis_applied_revision_info', { revision: 'r1' }), undefined, 'one revision at a time');
  });

  it('a broken manifest is counted by code and by file, and keeps its ports', async () => {
    repo.write({ 'clusters/api.yaml': 'name: api\ncloud: node\nnode: {address: 127.0.0.1}\nresources:\n  prots: [1]\n' });
    await reconciler.pass(['watch']);
    assert.equal(await v('portcullis_manifest_problems', { code: 'UNKNOWN_KEY' }), 1);
    assert.equal(await v('portcullis_manifests_with_problems'), 1);
    assert.equal(await v('portcullis_clusters', { state: 'kept' }), 1);
    assert.equal(await v('portcullis_open_ports', { cluster: 'api', cloud: 'node', protocol: 'tcp', exposure: 'private' }), 10);
  });

  it('a write the node refuses: a failed pass, a failed change, a failed request, and the last success stays put', async () => {
    const lastSuccess = await v('portcullis_last_successful_pass_timestamp_seconds');
    repo.write({ 'clusters/api.yaml': api(['42000-42009', 43000]) });
    backend.failNext = true;
    const report = await reconciler.pass(['api']);
    assert.equal(report.result, 'failed');
    assert.equal(await v('portcullis_passes_total', { trigger: 'api', result: 'failed' }), 1);
    assert.equal(await v('portcullis_changes_total', { cloud: 'node', action: 'created', result: 'error' }), 1);
    assert.equal(await v('portcullis_provider_requests_total', { provider: 'node', operation: 'batch', result: 'error' }), 1);
    assert.equal(await v('portcullis_last_successful_pass_timestamp_seconds'), lastSuccess);
    assert.equal(await v('portcullis_manifest_problems', { code: 'UNKNOWN_KEY' }), undefined, 'problems are those of the last pass');
    assert.equal(await v('portcullis_manifests_with_problems'), 0);

    // The retry of the same desired state after a failed pass is not drift: that pass did not converge.
    const retried = await reconciler.pass(['retry']);
    assert.deepEqual([retried.result, retried.outcomes.map((o) => `${o.change.action} ${o.ok}`)], ['converged', ['created true']]);
    assert.equal(await v('portcullis_drift_corrected_total', { cloud: 'node', action: 'created' }), 1);
    assert.equal(await v('portcullis_pass_duration_seconds_count'), 7);
  });

  it('public sensitive ports: ssh, and a public range that covers mysql; private ones do not count', async () => {
    repo.write({ 'clusters/ops.yaml': nodeManifest('ops', '127.0.0.1', ['+tcp:22', '+tcp:3300-3310', 5432]) });
    const report = await reconciler.pass(['poll']);
    assert.equal(report.result, 'converged', report.message);
    assert.deepEqual(await seriesOf(metrics.registry, 'portcullis_public_sensitive_ports'), [
      '{"cloud":"node","cluster":"ops","port":"22","protocol":"tcp"} 1',
      '{"cloud":"node","cluster":"ops","port":"3306","protocol":"tcp"} 1',
    ]);
    assert.equal(await v('portcullis_public_ports', { cluster: 'ops', cloud: 'node', protocol: 'tcp' }), 12);
  });

  it('policy violations by policy and mode, webhooks by result, leadership', async () => {
    metrics.recordViolations([
      { policy: 'no-public-ssh', mode: 'enforce' },
      { policy: 'no-public-ssh', mode: 'enforce' },
      { policy: 'max-range', mode: 'warn' },
    ]);
    assert.equal(await v('portcullis_policy_violations_total', { policy: 'no-public-ssh', mode: 'enforce' }), 2);
    assert.equal(await v('portcullis_policy_violations_total', { policy: 'max-range', mode: 'warn' }), 1);
    metrics.observeWebhook('github', 'unauthorized');
    assert.equal(await v('portcullis_webhook_deliveries_total', { provider: 'github', result: 'unauthorized' }), 1);
    metrics.setLeader(false);
    assert.equal(await v('portcullis_leader'), 0);
  });

  it('a scrape of /metrics passes promtool check metrics and carries the values above', async () => {
    const server = createAgentServer({ reconciler, metrics, trigger: () => {} });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const lint = promtoolCheckMetrics(text);
      assert.equal(lint.status, 0, `promtool check metrics:\n${lint.output}`);
      assert.equal(lint.output.trim(), '', 'no lint findings');
      assert.match(text, /^portcullis_open_ports\{cluster="api",cloud="node",protocol="tcp",exposure="private"\} 11$/m);
      assert.match(text, /^portcullis_drift_corrected_total\{cloud="node",action="created"\} 1$/m);
      assert.match(text, /^# TYPE portcullis_pass_duration_seconds histogram$/m);
      for (const name of text.matchAll(/^# TYPE (\S+)/gm)) assert.match(name[1]!, /^portcullis_/);
    } finally {
      server.close();
    }
  });
});

describe('git fetch metrics', () => {
  const origin = new TempGitRepo();
  const cache = mkdtempSync(join(tmpdir(), 'portcullis-cache-'));
  after(() => {
    origin.remove();
    rmSync(cache, { recursive: true, force: true });
  });

  it('counts fetches by result and times each, failed ones too', async () => {
    origin.commit('one', { 'clusters/a.yaml': nodeManifest('a', '127.0.0.1', [80]) });
    const metrics = createMetrics(() => undefined);
    const source = await openRepoSource({ repo: `file://${origin.dir}`, cacheDir: cache, onFetch: metrics.observeFetch });
    await source.snapshot();
    await source.snapshot();
    rmSync(origin.dir, { recursive: true, force: true });
    await assert.rejects(source.snapshot(), /cannot fetch/);
    assert.equal(await valueOf(metrics.registry, 'portcullis_git_fetches_total', { result: 'ok' }), 2);
    assert.equal(await valueOf(metrics.registry, 'portcullis_git_fetches_total', { result: 'error' }), 1);
    assert.equal(await valueOf(metrics.registry, 'portcullis_git_fetch_duration_seconds_count'), 3);
  });
});

describe('policy violation metrics', () => {
  it('counts the violations each pass finds, by policy and mode', async () => {
    const repo = new MemoryRepo({
      'config.yaml': 'admin_policy:\n  - {name: deny-public-ports, mode: warn}\n',
      'clusters/ops.yaml': nodeManifest('ops', '127.0.0.1', ['+tcp:22', '+tcp:3306', 8080]),
    });
    let current: Reconciler | undefined;
    const metrics = createMetrics(() => current);
    current = new Reconciler({ source: repo, renderer: createRenderer(), providers: {}, log: silentLog, onPass: (report) => metrics.recordPass(report) });
    const first = await current.pass(['startup']);
    assert.deepEqual(first.violations.map((v) => `${v.policy}/${v.rule} ${v.mode} ${v.port}`), ['deny-public-ports/public-port warn 22', 'deny-public-ports/public-port warn 3306']);
    await current.pass(['resync']);
    assert.deepEqual(await seriesOf(metrics.registry, 'portcullis_policy_violations_total'), ['{"mode":"warn","policy":"deny-public-ports"} 4']);
  });
});
