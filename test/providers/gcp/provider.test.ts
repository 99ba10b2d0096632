// The GCP provider's verbs one at a time, through the real client against the Compute Engine fake: the
// answers that are not plain success (409, 404, 403, a lost answer, a dead server) and a network change.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { diffResources } from '../../../agent/engine/resource-diff.js';
import type { Resource, ResourceChange } from '../../../agent/model.js';
import type { GcpProvider } from '../../../agent/providers/gcp/index.js';
import { ProviderError, type ProviderScope } from '../../../agent/providers/provider.js';
import { createRenderer } from '../../../agent/render/index.js';
import { startComputeFake, type ComputeFake } from '../../fakes/compute/server.js';
import { defaultSettings, gcpCluster, spec } from '../../helpers/fixtures.js';
import { gcpProvider } from './helpers.js';

const P = 'proj-one';

describe('GCP provider verbs', () => {
  let fake: ComputeFake;
  let provider: GcpProvider;
  const settings = defaultSettings();
  const cluster = (network = 'default', project = P) => gcpCluster('web', { ports: [spec(8888)] }, { project, network });
  const scopeOf = (...clusters: ReturnType<typeof cluster>[]): ProviderScope => ({ settings, revision: 'rev-1', clusters, known: [] });
  const desiredOf = (c: ReturnType<typeof cluster>): Resource[] => provider.complete(createRenderer().render(c, settings).resources).resources;
  /** Observes, diffs against the cluster's rendered rules and applies every change; returns the changes. */
  const pass = async (c: ReturnType<typeof cluster>): Promise<ResourceChange[]> => {
    const changes = diffResources(desiredOf(c), await provider.observe(scopeOf(c))).filter((ch) => ch.action !== 'unchanged');
    for (const change of changes) await provider.apply(change, scopeOf());
    return changes;
  };
  const NAME = 'portcullis-web-tcp-private';

  beforeEach(async () => {
    fake = await startComputeFake();
    provider = gcpProvider(fake);
  });
  afterEach(async () => {
    await provider.close();
    await fake.close();
  });

  it('takes over a rule of its own that an insert finds already there, and fixes it if it differs', async () => {
    const [created] = diffResources(desiredOf(cluster()), []);
    // The answer to an earlier insert was lost: the rule is there as asked.
    fake.failNext('POST', /\/global\/firewalls$/, 503, 1, { afterEffect: true });
    await assert.rejects(provider.apply(created!, scopeOf()), (err: unknown) => err instanceof ProviderError && err.transient);
    await provider.apply(created!, scopeOf());
    assert.deepEqual(fake.writes(), ['POST firewalls', 'POST firewalls']);
    // Now it differs from what was asked: the insert's 409 leads to a patch.
    fake.editFirewall(P, NAME, { sourceRanges: ['0.0.0.0/0'] });
    fake.resetCounts();
    await provider.apply(created!, scopeOf());
    assert.deepEqual(fake.writes(), ['POST firewalls', `PATCH ${NAME}`]);
    assert.deepEqual(fake.firewall(P, NAME)?.sourceRanges, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
  });

  it('refuses to take over a rule of the same name without its mark', async () => {
    fake.addFirewall(P, { name: NAME, description: 'made by hand', allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] });
    const [created] = diffResources(desiredOf(cluster()), await provider.observe(scopeOf(cluster())));
    assert.equal(created?.action, 'created', 'a rule without the mark is not observed');
    await assert.rejects(provider.apply(created!, scopeOf()), (err: unknown) => {
      assert.ok(err instanceof ProviderError && !err.transient);
      assert.match(err.message, /^FirewallRule\/proj-one\/portcullis-web-tcp-private insert failed: a rule of that name exists without portcullis's mark/);
      return true;
    });
    assert.deepEqual(fake.firewall(P, NAME)?.allowed, [{ IPProtocol: 'tcp', ports: ['22'] }]);
    assert.deepEqual(fake.writes(), ['POST firewalls']);
  });

  it('counts a rule already gone as deleted, and puts back one deleted between observe and patch', async () => {
    await pass(cluster());
    const held = await provider.observe(scopeOf(cluster()));
    fake.removeFirewall(P, NAME);
    await provider.apply({ ...diffResources([], held)[0]!, action: 'deleted' }, scopeOf());
    const changed = diffResources(desiredOf(gcpCluster('web', { ports: [spec(8888), spec(6006)] }, { project: P, network: 'default' })), held)[0]!;
    assert.equal(changed.action, 'configured');
    fake.resetCounts();
    await provider.apply(changed, scopeOf());
    assert.deepEqual(fake.writes(), [`PATCH ${NAME}`, 'POST firewalls']);
    assert.deepEqual(fake.firewall(P, NAME)?.allowed, [{ IPProtocol: 'tcp', ports: ['8888', '6006'] }]);
  });

  it('moves a rule to another network by deleting and inserting it', async () => {
    await pass(cluster('default'));
    fake.resetCounts();
    const changes = await pass(cluster('prod'));
    assert.deepEqual(changes.map((c) => c.action), ['configured']);
    assert.deepEqual(fake.writes(), [`DELETE ${NAME}`, 'POST firewalls']);
    assert.equal(fake.firewall(P, NAME)?.network, `https://www.googleapis.com/compute/v1/projects/${P}/global/networks/prod`);
    fake.resetCounts();
    assert.deepEqual(await pass(cluster('prod')), []);
  });

  it('reports refusals as permanent and outages as transient, naming the subject', async () => {
    const [created] = diffResources(desiredOf(cluster()), []);
    fake.failNext('POST', /\/global\/firewalls$/, 403);
    await assert.rejects(provider.apply(created!, scopeOf()), (err: unknown) => {
      assert.ok(err instanceof ProviderError && !err.transient);
      assert.match(err.message, /^FirewallRule\/proj-one\/portcullis-web-tcp-private insert failed: 403 .*compute\.firewalls/);
      return true;
    });
    fake.failNext('GET', /\/global\/firewalls$/, 500, 3);
    await assert.rejects(provider.observe(scopeOf(cluster())), (err: unknown) => err instanceof ProviderError && err.transient && /^FirewallRule\/proj-one list failed: 500/.test(err.message));
    await fake.close();
    await assert.rejects(provider.observe(scopeOf(cluster())), (err: unknown) => err instanceof ProviderError && err.transient);
  });

  it('forgets a remembered project that is gone, but not one Git names', async () => {
    await pass(cluster('default', 'proj-two'));
    await pass(cluster('default', P));
    assert.deepEqual(fake.firewalls('proj-two'), [], 'the move closed the rule in proj-two');
    fake.deleteProject('proj-two');
    assert.equal((await provider.observe(scopeOf(cluster()))).length, 1);
    fake.resetCounts();
    await provider.observe(scopeOf(cluster()));
    assert.ok(fake.requests.every((r) => !r.path.includes('proj-two')), 'proj-two is no longer listed');
    await assert.rejects(provider.observe(scopeOf(cluster('default', 'proj-two'))), /FirewallRule\/proj-two list failed: 404/);
  });
});
