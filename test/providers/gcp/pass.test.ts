// Whole passes of the agent (Reconciler + GCP provider + the real @google-cloud/compute client) against the
// wire-level Compute Engine fake. Write calls are counted at the fake.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { MemoryRepo, statusOf } from '../../helpers/agent-fixture.js';
import { startComputeFake, type ComputeFake } from '../../fakes/compute/server.js';
import { actions, gcpAgent, gcpManifest, type GcpAgent } from './helpers.js';

const P = 'proj-one';
const API = 'https://www.googleapis.com/compute/v1';

describe('a pass on GCP (firewall rules through the real client, against the Compute Engine fake)', () => {
  let fake: ComputeFake;
  const agents: GcpAgent[] = [];
  const agent = (repo: MemoryRepo, options: Parameters<typeof gcpAgent>[2] = {}, allowMassClose = false) => {
    const a = gcpAgent(repo, fake, options, allowMassClose);
    agents.push(a);
    return a;
  };
  const names = () => fake.firewalls(P).map((f) => f.name as string);
  const rule = (name: string) => {
    const fw = fake.firewall(P, name);
    if (!fw) throw new Error(`no rule ${name} in ${P}; have ${names().join(', ')}`);
    return fw;
  };
  const web = (...ports: (number | string)[]) => gcpManifest('web', ports, { network: 'prod', tags: ['web', 'gpu'] });
  const api = (...ports: (number | string)[]) => gcpManifest('api', ports);

  beforeEach(async () => {
    fake = await startComputeFake();
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.provider.close()));
    await fake.close();
  });

  it('converges from empty, then a no-op pass issues no write call', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80', 8888, '{port: 5432, cidrs: [10.1.0.0/16]}') });
    const a = agent(repo);
    const first = await a.converge();
    const custom = names().find((n) => /^portcullis-web-tcp-private-[0-9a-f]{8}$/.test(n))!;
    assert.deepEqual(names(), ['portcullis-web-tcp-private', custom, 'portcullis-web-tcp-public', 'portcullis-web-tcp-public-v6'].sort());
    assert.deepEqual(actions(first), names().map((n) => `created ${n}`));
    assert.deepEqual(fake.writes(), ['POST firewalls', 'POST firewalls', 'POST firewalls', 'POST firewalls']);

    const pub = rule('portcullis-web-tcp-public');
    assert.equal(pub.network, `${API}/projects/${P}/global/networks/prod`);
    // The description is the ownership mark, stamped with the revision that wrote the rule.
    assert.equal(pub.description, 'managed by portcullis; cluster=web; revision=r1');
    assert.deepEqual([pub.targetTags, pub.sourceRanges, pub.allowed, pub.priority], [['web', 'gpu'], ['0.0.0.0/0'], [{ IPProtocol: 'tcp', ports: ['80'] }], 1000]);
    assert.deepEqual(rule(custom).sourceRanges, ['10.1.0.0/16']);
    assert.deepEqual(rule('portcullis-web-tcp-public-v6').sourceRanges, ['::/0']);
    assert.equal(statusOf(a.reconciler, 'web').state, 'synced');

    fake.resetCounts();
    const idle = await a.converge();
    assert.deepEqual([idle.outcomes.length, fake.writes().length], [0, 0]);
    assert.deepEqual(Object.keys(fake.counts()), ['GET']);
    // A second agent (a restart) sees the same: nothing to do.
    const restarted = await agent(repo).converge();
    assert.deepEqual([restarted.outcomes.length, fake.writes().length], [0, 0]);
  });

  it('adds a port, removes one and narrows the private sources with one write per rule touched', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80', 8888), 'clusters/api.yaml': api(9000) });
    const a = agent(repo);
    await a.converge();

    fake.resetCounts();
    repo.write({ 'clusters/web.yaml': web('+tcp:80', 8888, 6006) });
    assert.deepEqual(actions(await a.converge()), ['configured portcullis-web-tcp-private']);
    assert.deepEqual(fake.writes(), ['PATCH portcullis-web-tcp-private']);
    assert.deepEqual(rule('portcullis-web-tcp-private').allowed, [{ IPProtocol: 'tcp', ports: ['6006', '8888'] }]);
    assert.deepEqual([rule('portcullis-web-tcp-private').description, rule('portcullis-web-tcp-public').description], ['managed by portcullis; cluster=web; revision=r2', 'managed by portcullis; cluster=web; revision=r1']);

    fake.resetCounts();
    repo.write({ 'clusters/web.yaml': web('+tcp:80', 6006) });
    assert.deepEqual(actions(await a.converge()), ['configured portcullis-web-tcp-private']);
    assert.deepEqual(fake.writes(), ['PATCH portcullis-web-tcp-private']);
    assert.deepEqual(rule('portcullis-web-tcp-private').allowed, [{ IPProtocol: 'tcp', ports: ['6006'] }]);

    // Narrowing the settings' private sources changes the rules' sourceRanges in place.
    fake.resetCounts();
    repo.write({ 'config.yaml': 'private_cidrs: [10.20.0.0/16]\n' });
    assert.deepEqual(actions(await a.converge()), ['configured portcullis-api-tcp-private', 'configured portcullis-web-tcp-private']);
    assert.deepEqual(fake.writes().sort(), ['PATCH portcullis-api-tcp-private', 'PATCH portcullis-web-tcp-private']);
    assert.deepEqual(rule('portcullis-web-tcp-private').sourceRanges, ['10.20.0.0/16']);
    const id = rule('portcullis-web-tcp-private').id;

    // The last public port goes: its two rules (IPv4, IPv6) are deleted, nothing else is written.
    fake.resetCounts();
    repo.write({ 'clusters/web.yaml': web(6006) });
    assert.deepEqual(actions(await a.converge()), ['deleted portcullis-web-tcp-public', 'deleted portcullis-web-tcp-public-v6']);
    assert.deepEqual(fake.writes().sort(), ['DELETE portcullis-web-tcp-public', 'DELETE portcullis-web-tcp-public-v6']);
    assert.equal(rule('portcullis-web-tcp-private').id, id, 'patched in place, not recreated');

    // A spec's own cidrs name the rule, so narrowing them is a new rule and the old one closed.
    repo.write({ 'clusters/api.yaml': api(9000, '{port: 5432, cidrs: [10.0.0.0/8]}') });
    await a.converge();
    const before = names().find((n) => n.startsWith('portcullis-api-tcp-private-'))!;
    fake.resetCounts();
    repo.write({ 'clusters/api.yaml': api(9000, '{port: 5432, cidrs: [10.9.0.0/16]}') });
    await a.converge();
    const after = names().find((n) => n.startsWith('portcullis-api-tcp-private-'))!;
    assert.notEqual(after, before);
    assert.deepEqual(fake.writes(), ['POST firewalls', `DELETE ${before}`]);
  });

  it('deletes the rules of a cluster removed from Git, and only those', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80', 8888, 8889, 8890), 'clusters/api.yaml': api(9000) });
    const a = agent(repo);
    await a.converge();
    fake.resetCounts();
    repo.write({ 'clusters/api.yaml': null });
    assert.deepEqual(actions(await a.converge()), ['deleted portcullis-api-tcp-private']);
    assert.deepEqual(fake.writes(), ['DELETE portcullis-api-tcp-private']);
    assert.ok(names().every((n) => n.startsWith('portcullis-web-')));
    // After a restart too: the agent finds the rules by their mark, not by the clusters Git names.
    repo.write({ 'clusters/api.yaml': api(9000) });
    await a.converge();
    repo.write({ 'clusters/api.yaml': null });
    await agent(repo).converge();
    assert.ok(!names().includes('portcullis-api-tcp-private'));
  });

  it('leaves rules without its mark alone, and puts back its own rules when they are deleted or edited by hand', async () => {
    fake.addFirewall(P, { name: 'portcullis-web-by-hand', description: 'opened by hand', allowed: [{ IPProtocol: 'tcp', ports: ['22'] }], targetTags: ['web'] });
    fake.addFirewall(P, { name: 'allow-web-ssh', description: 'managed by portcullis; cluster=web', allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] });
    fake.addFirewall(P, { name: 'portcullis-web-undescribed', allowed: [{ IPProtocol: 'tcp', ports: ['23'] }] });
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80', 8888) });
    const a = agent(repo);
    await a.converge();
    const foreign = ['allow-web-ssh', 'portcullis-web-by-hand', 'portcullis-web-undescribed'];
    assert.ok(foreign.every((n) => names().includes(n)));

    fake.removeFirewall(P, 'portcullis-web-tcp-private');
    fake.editFirewall(P, 'portcullis-web-tcp-public', { sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['80', '443'] }] });
    fake.editFirewall(P, 'portcullis-web-tcp-public-v6', { disabled: true, sourceTags: ['bastion'] });
    fake.resetCounts();
    assert.deepEqual(actions(await a.converge()), ['configured portcullis-web-tcp-public', 'configured portcullis-web-tcp-public-v6', 'created portcullis-web-tcp-private']);
    // A PATCH cannot clear what portcullis does not render (the client drops empty lists): that rule is PUT whole.
    assert.deepEqual(fake.writes().sort(), ['PATCH portcullis-web-tcp-public', 'POST firewalls', 'PUT portcullis-web-tcp-public-v6']);
    assert.deepEqual(rule('portcullis-web-tcp-public').allowed, [{ IPProtocol: 'tcp', ports: ['80'] }]);
    const v6 = rule('portcullis-web-tcp-public-v6');
    assert.deepEqual([v6.disabled, v6.sourceTags, v6.sourceRanges], [false, undefined, ['::/0']]);

    // Even closing every cluster Git had touches none of them.
    fake.resetCounts();
    repo.write({ 'clusters/web.yaml': null });
    assert.equal((await a.reconciler.pass(['poll'])).result, 'blocked', 'closing everything is guarded');
    assert.equal(fake.writes().length, 0);
    // A new agent that only knows Git's clusters knows no project to look in now: PORTCULLIS_GCP_PROJECTS (or
    // `projects`) names the ones to keep watching.
    assert.equal((await agent(repo, {}, true).converge()).outcomes.length, 0);
    await agent(repo, { projects: [P] }, true).converge();
    assert.deepEqual(fake.writes().sort(), ['DELETE portcullis-web-tcp-private', 'DELETE portcullis-web-tcp-public', 'DELETE portcullis-web-tcp-public-v6']);
    assert.deepEqual(names(), foreign);
  });

  it('retries throttling and server errors and still converges', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80', 8888) });
    const a = agent(repo);
    fake.failNext('GET', /\/global\/firewalls$/, 503);
    fake.failNext('POST', /\/global\/firewalls$/, 429, 2);
    fake.failNext('POST', /\/global\/firewalls$/, 500);
    const report = await a.converge();
    assert.deepEqual(actions(report), ['created portcullis-web-tcp-private', 'created portcullis-web-tcp-public', 'created portcullis-web-tcp-public-v6']);
    assert.ok(report.outcomes.some((o) => o.attempts > 1));
    assert.equal(names().length, 3);
    assert.equal(fake.writes().length, 3 + 3, 'three inserts refused, then three that went through');

    fake.resetCounts();
    fake.failNext('PATCH', /portcullis-web-tcp-private$/, 503);
    repo.write({ 'clusters/web.yaml': web('+tcp:80', 8888, 6006) });
    await a.converge();
    assert.deepEqual(fake.writes(), ['PATCH portcullis-web-tcp-private', 'PATCH portcullis-web-tcp-private']);
    fake.resetCounts();
    assert.equal((await a.converge()).outcomes.length, 0);
    assert.equal(fake.writes().length, 0);
  });

  it('reports an operation that fails, and converges on the next pass', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': web(8888) });
    const a = agent(repo);
    fake.failNextOperation('QUOTA_EXCEEDED', "Quota 'FIREWALLS' exceeded.  Limit: 100.0 globally.");
    const report = await a.reconciler.pass(['poll']);
    assert.equal(report.result, 'failed');
    assert.match(report.outcomes[0]?.error ?? '', /^FirewallRule\/portcullis-web-tcp-private create failed: FirewallRule\/proj-one\/portcullis-web-tcp-private insert failed: QUOTA_EXCEEDED: Quota 'FIREWALLS' exceeded/);
    assert.equal(report.outcomes[0]?.attempts, 1, 'a quota error is not retried');
    await a.converge();
    assert.deepEqual(names(), ['portcullis-web-tcp-private']);
  });

  it('waits on operations that take time', async () => {
    await fake.close();
    fake = await startComputeFake({ operationDelayMs: 150 });
    const repo = new MemoryRepo({ 'clusters/web.yaml': web(8888) });
    const a = agent(repo);
    await a.converge();
    assert.deepEqual(names(), ['portcullis-web-tcp-private'], 'the pass returns once the rule exists');
    assert.ok(fake.requests.some((r) => r.path.endsWith('/wait')));

    // The insert is done but waiting on it fails: the retry meets 409 alreadyExists, reads the rule, and is content.
    fake.resetCounts();
    fake.failNext('POST', /\/operations\/[^/]+\/wait$/, 502, 1, { afterEffect: true });
    repo.write({ 'clusters/web.yaml': web('+tcp:80', 8888) });
    const report = await a.converge();
    assert.deepEqual(fake.writes(), ['POST firewalls', 'POST firewalls', 'POST firewalls']);
    assert.equal(fake.requests.filter((r) => r.method === 'GET' && /\/firewalls\/portcullis-web-tcp-public(-v6)?$/.test(r.path)).length, 1, 'the rule is read back once');
    assert.deepEqual(names(), ['portcullis-web-tcp-private', 'portcullis-web-tcp-public', 'portcullis-web-tcp-public-v6']);
    assert.equal(report.outcomes.find((o) => o.attempts === 2)?.change.action, 'created');
  });

  it('lists over several pages', async () => {
    for (let i = 0; i < 5; i++) fake.addFirewall(P, { name: `portcullis-other-${i}`, description: 'someone else', allowed: [{ IPProtocol: 'tcp', ports: ['1'] }] });
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80', 8888), 'clusters/api.yaml': api(9000, '+udp:53') });
    const a = agent(repo, { pageSize: 2 });
    await a.converge();
    fake.resetCounts();
    const idle = await a.converge();
    assert.deepEqual([idle.outcomes.length, fake.writes().length], [0, 0]);
    const lists = fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/global/firewalls'));
    // 11 rules whose names start with portcullis-, two a page: six pages, each after the first asked for by token.
    assert.equal(lists.length, 6);
    assert.deepEqual(lists.map((r) => [r.query.get('maxResults'), r.query.has('pageToken')]), [['2', false], ...Array(5).fill(['2', true])]);
    assert.equal(lists[0]?.query.get('filter'), 'name eq "portcullis-.*"');
  });

  it('follows a cluster to another project, and keeps looking in projects it has seen', async () => {
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80'), 'clusters/api.yaml': api(9000) });
    const a = agent(repo);
    await a.converge();
    fake.resetCounts();
    repo.write({ 'clusters/api.yaml': gcpManifest('api', [9000], { project: 'proj-two' }) });
    assert.deepEqual(actions(await a.converge()), ['created portcullis-api-tcp-private', 'deleted portcullis-api-tcp-private']);
    assert.deepEqual(fake.writes(), ['POST firewalls', 'DELETE portcullis-api-tcp-private']);
    assert.ok(fake.requests.findIndex((r) => r.method === 'POST') < fake.requests.findIndex((r) => r.method === 'DELETE'), 'opens before it closes');
    assert.deepEqual(fake.firewalls('proj-two').map((f) => f.name), ['portcullis-api-tcp-private']);
    assert.ok(!names().includes('portcullis-api-tcp-private'));
    // proj-one is still looked at (web lives there), and so is proj-two once api leaves Git.
    repo.write({ 'clusters/api.yaml': null, 'clusters/web.yaml': web('+tcp:80', 8080) });
    await a.converge();
    assert.deepEqual(fake.firewalls('proj-two'), []);
  });

  it('shows where each port is reachable: external IPs for public ports, internal for private', async () => {
    fake.addInstance(P, { name: 'web-1', tags: ['web'], interfaces: [{ network: 'prod', networkIP: '10.0.0.5', natIP: '203.0.113.5' }] });
    fake.addInstance(P, { name: 'web-2', tags: ['gpu'], interfaces: [{ network: 'other', networkIP: '10.9.0.1' }, { network: 'prod', networkIP: '10.0.0.6' }] });
    fake.addInstance(P, { name: 'db', tags: ['db'], interfaces: [{ networkIP: '10.0.0.7', natIP: '203.0.113.7' }] });
    fake.addInstance(P, { name: 'web-stopped', status: 'TERMINATED', tags: ['web'], interfaces: [{ networkIP: '10.0.0.8' }] });
    const repo = new MemoryRepo({ 'clusters/web.yaml': web('+tcp:80', '10020-10022'), 'clusters/api.yaml': api(9000) });
    const a = agent(repo);
    await a.converge();
    const shown = statusOf(a.reconciler, 'web').endpoints.map((e) => `${e.exposure} ${e.address} ${e.state}${e.hint ? ' (hint)' : ''}`);
    assert.deepEqual(shown, ['public 203.0.113.5:80 ready', 'public 10.0.0.6:80 ready (hint)', 'private 10.0.0.5:10020-10022 ready', 'private 10.0.0.6:10020-10022 ready']);
    const apiEndpoint = statusOf(a.reconciler, 'api').endpoints[0];
    assert.deepEqual([apiEndpoint?.state, apiEndpoint?.address], ['pending', '']);
    assert.match(apiEndpoint?.hint ?? '', /no running instance in project proj-one has the network tag portcullis-api/);
  });
});
