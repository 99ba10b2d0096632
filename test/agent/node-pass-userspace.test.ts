// Whole passes of the agent (Reconciler + NodeProvider + userspace backend): the agent's own sockets on
// 127.0.0.1 relay real TCP to instances on 127.0.0.1. No root needed.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createUserspaceBackend, type UserspaceBackend } from '../../agent/providers/node/userspace.js';
import { freePortRange, localConnect, localInstances, MemoryRepo, nodeAgent, nodeManifest, nodePortOf, nodePorts, statusOf } from '../helpers/agent-fixture.js';

const PUBLIC = '203.0.113.10';
const refused = { ok: false, error: 'ECONNREFUSED' };
const hello = (port: number) => ({ ok: true, reply: `hello ${port}` });

describe('a pass on the userspace backend (the agent relays on 127.0.0.1)', () => {
  let instances: { port: number; close(): Promise<void> }[] = [];
  let config = '';
  /** Instance ports: i1..i3 are at least 2 apart, so each is a forward of its own. */
  let [i1, i2, i3] = [0, 0, 0];
  const backends: UserspaceBackend[] = [];
  const newBackend = () => {
    const backend = createUserspaceBackend({ listenHost: '127.0.0.1' });
    backends.push(backend);
    return backend;
  };
  const web = (...ports: (number | string)[]) => nodeManifest('web', '127.0.0.1', ports);
  const api = (...ports: (number | string)[]) => nodeManifest('api', '127.0.0.1', ports);
  const name = (cluster: string, port: number) => `${cluster}-tcp-${port}`;

  before(async () => {
    instances = await localInstances(3);
    [i1, i2, i3] = instances.map((i) => i.port) as [number, number, number];
    const range = await freePortRange(64);
    config = `private_cidrs: [127.0.0.0/8]\nnode:\n  port_range: ${range.from}-${range.to}\n  public_address: ${PUBLIC}\n`;
  });
  // Every test allocates from the same node ports on the same host: each one's sockets go with it.
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });
  after(async () => {
    await Promise.all(instances.map((i) => i.close()));
  });

  it('opens a port in one pass, closes a removed one, and writes one transaction per pass that changes something', async () => {
    const repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web(i1, i2), 'clusters/api.yaml': api(i3) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);

    const first = await reconciler.pass(['startup']);
    assert.equal(first.result, 'converged', first.message);
    assert.deepEqual(first.outcomes.map((o) => `${o.change.action} ${o.change.name} ${o.ok}`).sort(), [`created ${name('api', i3)} true`, `created ${name('web', i1)} true`, `created ${name('web', i2)} true`].sort());
    assert.equal(backend.transactions, 1);
    const ports = nodePorts(reconciler);
    assert.deepEqual(await localConnect(nodePortOf(reconciler, name('web', i1))), hello(i1));
    assert.deepEqual(await localConnect(nodePortOf(reconciler, name('web', i2))), hello(i2));
    assert.deepEqual(await localConnect(nodePortOf(reconciler, name('api', i3))), hello(i3));
    assert.deepEqual([statusOf(reconciler, 'web').state, statusOf(reconciler, 'web').revision], ['synced', 'r1']);

    const idle = await reconciler.pass(['resync']);
    assert.deepEqual([idle.result, idle.outcomes.length, backend.transactions], ['converged', 0, 1]);

    repo.write({ 'clusters/web.yaml': web(i1) });
    const closing = await reconciler.pass(['poll']);
    assert.equal(closing.result, 'converged', closing.message);
    assert.deepEqual(closing.outcomes.map((o) => `${o.change.action} ${o.change.name}`), [`deleted ${name('web', i2)}`]);
    assert.equal(backend.transactions, 2);
    assert.deepEqual(await localConnect(ports.get(name('web', i2))!), refused);
    assert.deepEqual(await localConnect(ports.get(name('web', i1))!), hello(i1));
    assert.deepEqual([statusOf(reconciler, 'web').state, statusOf(reconciler, 'web').revision], ['synced', 'r2']);

    // A change in place (private to public) reopens the forward on the node port it has.
    repo.write({ 'clusters/web.yaml': web(`+tcp:${i1}`) });
    const changing = await reconciler.pass(['poll']);
    assert.deepEqual(changing.outcomes.map((o) => `${o.change.action} ${o.change.name} ${o.ok}`), [`configured ${name('web', i1)} true`]);
    assert.deepEqual([backend.transactions, nodePortOf(reconciler, name('web', i1))], [3, ports.get(name('web', i1))]);
    assert.deepEqual(await localConnect(ports.get(name('web', i1))!), hello(i1));
  });

  it('restores a forward the backend lost, on the same node port', async () => {
    const repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web(i1, i2), 'clusters/api.yaml': api(i3) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);
    await reconciler.pass(['startup']);
    const port = nodePortOf(reconciler, name('web', i1));

    const lost = (await backend.list()).find((f) => f.id === `node/web/Forward/${name('web', i1)}`);
    assert.ok(lost);
    await backend.apply([], [lost]);
    assert.deepEqual(await localConnect(port), refused);

    const heal = await reconciler.pass(['resync']);
    assert.equal(heal.result, 'converged', heal.message);
    assert.deepEqual(heal.outcomes.map((o) => `${o.change.action} ${o.change.name}`), [`created ${name('web', i1)}`]);
    assert.equal(nodePortOf(reconciler, name('web', i1)), port);
    assert.deepEqual(await localConnect(port), hello(i1));
    assert.deepEqual([statusOf(reconciler, 'web').state, statusOf(reconciler, 'web').lastError], ['synced', undefined]);
  });

  it('keeps node ports across passes, across new clusters, and for a new agent over the same backend', async () => {
    const repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web(i1, i2) });
    const backend = newBackend();
    const first = nodeAgent(repo, backend);
    await first.reconciler.pass(['startup']);
    const before = nodePorts(first.reconciler);

    repo.write({ 'clusters/api.yaml': api(i3) });
    assert.equal((await first.reconciler.pass(['poll'])).result, 'converged');
    const grown = nodePorts(first.reconciler);
    for (const [forward, port] of before) assert.equal(grown.get(forward), port, `${forward} kept its node port`);
    assert.equal(new Set(grown.values()).size, 3);

    // Everything the new agent needs is observed: nothing is written.
    const again = nodeAgent(repo, backend);
    const same = await again.reconciler.pass(['startup']);
    assert.deepEqual([same.result, same.outcomes.length, backend.transactions], ['converged', 0, 2]);
    assert.deepEqual(nodePorts(again.reconciler), grown);
  });

  it('opens the same node ports again after a restart, when the forwards were opened together', async () => {
    // What userspace holds dies with the process, so ports after a restart come from the ids alone. That
    // reproduces ports allocated in one pass; forwards added over several passes may trade ports when two
    // ids prefer the same one (see allocateBlocks).
    const repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web(i1, i2), 'clusters/api.yaml': api(i3) });
    const backend = newBackend();
    const first = nodeAgent(repo, backend);
    await first.reconciler.pass(['startup']);
    const ports = nodePorts(first.reconciler);

    await backend.close();
    for (const port of ports.values()) assert.deepEqual(await localConnect(port), refused);
    const restarted = nodeAgent(repo, newBackend());
    const report = await restarted.reconciler.pass(['startup']);
    assert.deepEqual([report.result, report.outcomes.length], ['converged', 3]);
    assert.deepEqual(nodePorts(restarted.reconciler), ports);
    assert.deepEqual(await localConnect(ports.get(name('api', i3))!), hello(i3));
  });

  it('keeps the ports of a cluster whose manifest breaks, and reports where', async () => {
    const repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web(i1), 'clusters/api.yaml': api(i3) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);
    await reconciler.pass(['startup']);
    const port = nodePortOf(reconciler, name('web', i1));

    const broken = {
      yaml: { text: `name: web\ncloud: node\nnode: {address: 127.0.0.1}\nresources:\n  ports: [${i1}\n`, code: 'YAML_SYNTAX', at: 'clusters/web.yaml:6:1' },
      schema: { text: `name: web\ncloud: node\nnode: {address: 127.0.0.1}\nresources:\n  ports: true\n`, code: 'SCHEMA', at: 'clusters/web.yaml:5:10' },
    };
    for (const [kind, { text, code, at }] of Object.entries(broken)) {
      repo.write({ 'clusters/web.yaml': text });
      const report = await reconciler.pass(['poll']);
      const problem = report.problems.find((p) => p.code === code);
      assert.ok(problem, `${kind}: a ${code} problem is reported, got ${JSON.stringify(report.problems)}`);
      assert.equal(`${problem.at.file}:${problem.at.line}:${problem.at.col}`, at);
      assert.deepEqual([report.result, report.outcomes.length, backend.transactions], ['converged', 0, 1], kind);
      const status = statusOf(reconciler, 'web');
      assert.deepEqual([status.state, status.revision, status.lastError], ['kept', 'r1', problem.message], kind);
      assert.equal(statusOf(reconciler, 'api').state, 'synced');
      assert.deepEqual(await localConnect(port), hello(i1), `${kind}: the port stays open`);
    }
  });

  it('refuses to close every port when every manifest is deleted, and closes them when mass close is allowed', async () => {
    const repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web(i1), 'clusters/api.yaml': api(i3) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);
    await reconciler.pass(['startup']);
    const ports = nodePorts(reconciler);

    repo.write({ 'clusters/web.yaml': null, 'clusters/api.yaml': null });
    const blocked = await reconciler.pass(['poll']);
    assert.deepEqual([blocked.result, blocked.reasons, blocked.outcomes.length, backend.transactions], ['blocked', ['Guarded'], 0, 1]);
    assert.deepEqual(await localConnect(ports.get(name('web', i1))!), hello(i1));
    assert.deepEqual(await localConnect(ports.get(name('api', i3))!), hello(i3));
    assert.deepEqual(
      reconciler.status.map((s) => [s.name, s.state]),
      [
        ['api', 'blocked'],
        ['web', 'blocked'],
      ],
    );

    const allowed = nodeAgent(repo, backend, { allowMassClose: true });
    const closing = await allowed.reconciler.pass(['poll']);
    assert.equal(closing.result, 'converged', closing.message);
    assert.equal(backend.transactions, 2);
    for (const port of ports.values()) assert.deepEqual(await localConnect(port), refused);
    assert.deepEqual(await backend.list(), []);
  });

  it('gives each cluster its own node ports, shows public endpoints on node.public_address, and narrows by cidrs', async () => {
    const repo = new MemoryRepo({
      'config.yaml': config,
      'clusters/web.yaml': web(`+tcp:${i1}`, `{port: ${i2}, cidrs: [10.0.0.0/8]}`),
      'clusters/api.yaml': api(i1),
    });
    const { reconciler } = nodeAgent(repo, newBackend());
    const report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
    const [webPort, apiPort, narrowPort] = [name('web', i1), name('api', i1), name('web', i2)].map((n) => nodePortOf(reconciler, n)) as [number, number, number];
    assert.equal(new Set([webPort, apiPort, narrowPort]).size, 3, 'one instance port, two clusters: distinct node ports');

    const publicEndpoints = (cluster: string) => statusOf(reconciler, cluster).endpoints.filter((e) => e.exposure === 'public');
    assert.deepEqual(
      publicEndpoints('web').map((e) => [e.ports, e.address, e.state]),
      [[String(i1), `${PUBLIC}:${webPort}`, 'ready']],
    );
    assert.deepEqual(publicEndpoints('api'), []);
    assert.deepEqual(await localConnect(webPort), hello(i1));
    assert.deepEqual(await localConnect(apiPort), hello(i1));
    // 127.0.0.1 is not in 10.0.0.0/8: the relay accepts and closes the connection without a byte.
    assert.deepEqual(await localConnect(narrowPort), { ok: true, reply: '' });
  });
});
