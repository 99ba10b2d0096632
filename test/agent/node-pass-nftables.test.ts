// Whole passes of the agent (Reconciler + NodeProvider + nftables backend) on a real kernel: a client,
// a node and an instance in network namespaces, real TCP through the node ports the pass opens.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createNftablesBackend, type NftablesBackend } from '../../agent/providers/node/nftables.js';
import { MemoryRepo, nodeAgent, nodeManifest, nodePortOf, nodePorts, statusOf } from '../helpers/agent-fixture.js';
import { ADDRESSES, assertNetnsReady, connect, createTopology, serve, type Server, type Topology } from '../helpers/netns.js';

const INSTANCE = ADDRESSES.instance;
const PUBLIC = '203.0.113.10';
const CONFIG = `node:\n  public_address: ${PUBLIC}\n`;
const web = (...ports: (number | string)[]) => nodeManifest('web', INSTANCE, ports);
const api = (...ports: (number | string)[]) => nodeManifest('api', INSTANCE, ports);

interface ListedRule {
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

describe('a pass on the nftables backend (real kernel, network namespaces)', () => {
  let topo: Topology;
  let servers: Server[] = [];
  const backends: NftablesBackend[] = [];
  const hello = (port: number) => ({ ok: true, reply: `hello ${port} ${ADDRESSES.nodeInner}` });
  const refused = { ok: false, error: 'ECONNREFUSED' };
  /** From the client namespace to a node port on the node's client-side address. */
  const reach = (nodePort: number) => connect(topo.client, 'tcp', ADDRESSES.node, nodePort);
  const nft = (...args: string[]) => topo.node.nft(args);
  const newBackend = () => {
    const backend = createNftablesBackend({ netns: topo.node.name });
    backends.push(backend);
    return backend;
  };
  const ourRules = async (): Promise<ListedRule[]> => {
    const listing = JSON.parse(await nft('-j', 'list', 'table', 'inet', 'portcullis')) as { nftables: { rule?: ListedRule }[] };
    return listing.nftables.flatMap((item) => (item.rule ? [item.rule] : []));
  };

  before(async () => {
    assertNetnsReady();
    topo = await createTopology();
    servers = [await serve(topo.instance, 'tcp', [8000, 8002, 9000])];
  });
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await Promise.all(servers.map((s) => s.close()));
    await topo?.destroy();
  });
  beforeEach(async () => {
    for (const table of [['inet', 'portcullis'], ['ip', 'other']]) await nft('delete', 'table', ...table).catch(() => undefined);
  });

  it('opens a port in one pass, closes a removed one, and writes one transaction per pass that changes something', async () => {
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000, 8002), 'clusters/api.yaml': api(9000) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);

    const first = await reconciler.pass(['startup']);
    assert.equal(first.result, 'converged', first.message);
    assert.deepEqual(first.outcomes.map((o) => `${o.change.action} ${o.change.name} ${o.ok}`).sort(), ['created api-tcp-9000 true', 'created web-tcp-8000 true', 'created web-tcp-8002 true']);
    assert.equal(backend.transactions, 1);
    const ports = nodePorts(reconciler);
    for (const [name, port] of ports) assert.ok(port >= 10000 && port <= 11000, `${name} got node port ${port}, outside the default node.port_range`);
    assert.deepEqual(await reach(nodePortOf(reconciler, 'web-tcp-8000')), hello(8000));
    assert.deepEqual(await reach(nodePortOf(reconciler, 'web-tcp-8002')), hello(8002));
    assert.deepEqual(await reach(nodePortOf(reconciler, 'api-tcp-9000')), hello(9000));
    assert.deepEqual(
      reconciler.status.map((s) => [s.name, s.state, s.revision]),
      [
        ['api', 'synced', 'r1'],
        ['web', 'synced', 'r1'],
      ],
    );

    // Nothing changed in Git or on the node: not one nft batch.
    const idle = await reconciler.pass(['resync']);
    assert.deepEqual([idle.result, idle.outcomes.length, backend.transactions], ['converged', 0, 1]);

    repo.write({ 'clusters/web.yaml': web(8000) });
    const closing = await reconciler.pass(['poll']);
    assert.equal(closing.result, 'converged', closing.message);
    assert.deepEqual(closing.outcomes.map((o) => `${o.change.action} ${o.change.name}`), ['deleted web-tcp-8002']);
    assert.equal(backend.transactions, 2);
    // Nothing listens on the node itself, so the kernel answers the SYN with a reset.
    assert.deepEqual(await reach(ports.get('web-tcp-8002')!), refused);
    assert.deepEqual(await reach(ports.get('web-tcp-8000')!), hello(8000));
    assert.deepEqual(nodePorts(reconciler), new Map([...ports].filter(([name]) => name !== 'web-tcp-8002')));
    assert.deepEqual([statusOf(reconciler, 'web').state, statusOf(reconciler, 'web').revision], ['synced', 'r2']);

    // A change in place (private to public) rewrites the forward on the node port it has.
    repo.write({ 'clusters/web.yaml': web('+tcp:8000') });
    const changing = await reconciler.pass(['poll']);
    assert.deepEqual(changing.outcomes.map((o) => `${o.change.action} ${o.change.name}`), ['configured web-tcp-8000']);
    assert.deepEqual([backend.transactions, nodePortOf(reconciler, 'web-tcp-8000')], [3, ports.get('web-tcp-8000')]);
    assert.deepEqual(await reach(ports.get('web-tcp-8000')!), hello(8000));
  });

  it('leaves rules it does not own alone, byte for byte, through opens, changes and closes', async () => {
    // Another program's table, and a rule without our mark inside our own table.
    await nft('add', 'table', 'ip', 'other');
    await nft('add', 'chain', 'ip', 'other', 'input', '{ type filter hook input priority 0; policy accept; }');
    await nft('add', 'rule', 'ip', 'other', 'input', 'tcp', 'dport', '4444', 'accept', 'comment', '"by hand"');
    await nft('add', 'set', 'ip', 'other', 'blocked', '{ type ipv4_addr; elements = { 192.0.2.1 } }');
    const theirs = await nft('list', 'table', 'ip', 'other');
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000, 8002), 'clusters/api.yaml': api(9000) });
    const { reconciler } = nodeAgent(repo, newBackend());

    assert.equal((await reconciler.pass(['startup'])).result, 'converged');
    await nft('add', 'rule', 'inet', 'portcullis', 'prerouting', 'tcp', 'dport', '4445', 'accept', 'comment', '"not portcullis"');
    const unmarked = async () => (await ourRules()).filter((r) => r.comment === 'not portcullis').map((r) => JSON.stringify(r));
    const ours = await unmarked();
    assert.equal(ours.length, 1);

    for (const files of [{ 'clusters/web.yaml': web(8000, '+tcp:8002') }, { 'clusters/web.yaml': web(8000) }, {}] as Record<string, string>[]) {
      repo.write(files);
      const report = await reconciler.pass(['poll']);
      assert.equal(report.result, 'converged', report.message);
      assert.equal(await nft('list', 'table', 'ip', 'other'), theirs);
      assert.deepEqual(await unmarked(), ours);
    }
    assert.deepEqual(await reach(nodePortOf(reconciler, 'web-tcp-8000')), hello(8000));
  });

  it('restores a forward whose rule was deleted by hand, on the same node port', async () => {
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000, 8002), 'clusters/api.yaml': api(9000) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);
    await reconciler.pass(['startup']);
    const port = nodePortOf(reconciler, 'web-tcp-8000');
    assert.deepEqual(await reach(port), hello(8000));

    // The DNAT rule that lets the client's network (10.0.0.0/8, a default private CIDR) in.
    const rule = (await ourRules()).find(
      (r) => r.chain === 'prerouting' && r.comment?.includes(' node/web/Forward/web-tcp-8000 ') && JSON.stringify(r.expr).includes('"addr":"10.0.0.0"'),
    );
    assert.ok(rule, 'the prerouting rule for 10.0.0.0/8 of web-tcp-8000 is listed');
    await nft('delete', 'rule', 'inet', 'portcullis', 'prerouting', 'handle', String(rule.handle));
    assert.deepEqual(await reach(port), refused);

    const heal = await reconciler.pass(['resync']);
    assert.equal(heal.result, 'converged', heal.message);
    assert.deepEqual(heal.outcomes.map((o) => `${o.change.action} ${o.change.name}`), ['configured web-tcp-8000']);
    assert.equal(backend.transactions, 2);
    assert.equal(nodePortOf(reconciler, 'web-tcp-8000'), port);
    assert.deepEqual(await reach(port), hello(8000));
    assert.deepEqual([statusOf(reconciler, 'web').state, statusOf(reconciler, 'web').lastError], ['synced', undefined]);

    // Every rule of the forward gone, table and all: the next pass opens it again where it was.
    await nft('delete', 'table', 'inet', 'portcullis');
    const again = await reconciler.pass(['resync']);
    assert.equal(again.result, 'converged', again.message);
    assert.equal(nodePortOf(reconciler, 'web-tcp-8000'), port);
    assert.deepEqual(await reach(port), hello(8000));
  });

  it('keeps node ports across passes, across new clusters, and across a restart over the same kernel state', async () => {
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000, 8002) });
    const first = nodeAgent(repo, newBackend());
    await first.reconciler.pass(['startup']);
    const before = nodePorts(first.reconciler);

    repo.write({ 'clusters/api.yaml': api(9000, 8002) });
    assert.equal((await first.reconciler.pass(['poll'])).result, 'converged');
    const grown = nodePorts(first.reconciler);
    for (const [name, port] of before) assert.equal(grown.get(name), port, `${name} kept its node port`);
    assert.equal(new Set(grown.values()).size, 4, 'four forwards, four node ports');

    // A restart: a new agent and a new backend object, nothing shared but the kernel's rules.
    const backend = newBackend();
    const restarted = nodeAgent(repo, backend);
    const report = await restarted.reconciler.pass(['startup']);
    assert.deepEqual([report.result, report.outcomes.length, backend.transactions], ['converged', 0, 0]);
    assert.deepEqual(nodePorts(restarted.reconciler), grown);
    assert.deepEqual(await reach(grown.get('api-tcp-8002')!), hello(8002));
    assert.deepEqual(
      statusOf(restarted.reconciler, 'api').endpoints.map((e) => e.via),
      [`${PUBLIC}:${grown.get('api-tcp-8002')}`, `${PUBLIC}:${grown.get('api-tcp-9000')}`],
    );
  });

  it('keeps the ports of a cluster whose manifest breaks, and reports where', async () => {
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000), 'clusters/api.yaml': api(9000) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);
    await reconciler.pass(['startup']);
    const port = nodePortOf(reconciler, 'web-tcp-8000');

    const broken = {
      yaml: { text: 'name: web\ncloud: node\nnode: {address: 10.213.2.2}\nresources:\n  ports: [8000\n', code: 'YAML_SYNTAX', at: 'clusters/web.yaml:6:1' },
      schema: { text: 'name: web\ncloud: node\nnode: {address: 10.213.2.2}\nresources:\n  ports: true\n', code: 'SCHEMA', at: 'clusters/web.yaml:5:10' },
    };
    for (const [kind, { text, code, at }] of Object.entries(broken)) {
      repo.write({ 'clusters/web.yaml': text });
      const report = await reconciler.pass(['poll']);
      const problem = report.problems.find((p) => p.code === code);
      assert.ok(problem, `${kind}: a ${code} problem is reported, got ${JSON.stringify(report.problems)}`);
      assert.equal(`${problem.at.file}:${problem.at.line}:${problem.at.col}`, at);
      assert.deepEqual([report.result, report.outcomes.length, backend.transactions], ['converged', 0, 1], kind);
      const status = statusOf(reconciler, 'web');
      assert.equal(status.state, 'kept', kind);
      assert.equal(status.revision, 'r1', `${kind}: the status names the last revision applied`);
      assert.equal(status.lastError, problem.message, kind);
      assert.equal(statusOf(reconciler, 'api').state, 'synced');
      assert.deepEqual(await reach(port), hello(8000), `${kind}: the port stays open`);
    }

    repo.write({ 'clusters/web.yaml': web(8000) });
    await reconciler.pass(['poll']);
    assert.deepEqual([statusOf(reconciler, 'web').state, statusOf(reconciler, 'web').revision], ['synced', 'r4']);
    assert.equal(nodePortOf(reconciler, 'web-tcp-8000'), port);
  });

  it('keeps the ports of a broken manifest across a restart, when the agent has no last good state of its own', async () => {
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000), 'clusters/api.yaml': api(9000) });
    await nodeAgent(repo, newBackend()).reconciler.pass(['startup']);
    const before = (await nodeAgent(repo, newBackend()).provider.observe()).map((r) => r.body);

    for (const [kind, files] of [
      ['a YAML syntax error', { 'clusters/web.yaml': 'name: web\ncloud: node\nresources: {ports: [8000\n' }],
      ['a schema error', { 'clusters/web.yaml': 'name: web\ncloud: node\nnode: {}\nresources: {ports: [8000]}\n' }],
      ['a broken config.yaml', { 'clusters/web.yaml': web(8000), 'config.yaml': 'node: {port_range: 1-2-3}\n' }],
    ] as const) {
      repo.write(files);
      const backend = newBackend();
      const { reconciler } = nodeAgent(repo, backend);
      const report = await reconciler.pass(['startup']);
      assert.deepEqual([report.outcomes.length, backend.transactions], [0, 0], `${kind}: nothing is written`);
      assert.deepEqual((await backend.list()).map((f) => f.id), ['node/api/Forward/api-tcp-9000', 'node/web/Forward/web-tcp-8000'], kind);
      assert.deepEqual(nodePorts(reconciler).size, 2, kind);
      assert.equal(statusOf(reconciler, 'web').state, 'kept', kind);
      assert.match(statusOf(reconciler, 'web').lastError ?? '', /keep/, kind);
    }
    repo.write({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000) });
    assert.deepEqual((await nodeAgent(repo, newBackend()).provider.observe()).map((r) => r.body), before);
  });

  it('never gives a new forward the node port a broken cluster keeps', async () => {
    // One node port in all: whoever is allocated after web can only collide with it.
    const config = `node:\n  port_range: 10500-10500\n`;
    const repo = new MemoryRepo({ 'config.yaml': config, 'clusters/web.yaml': web(8000) });
    await nodeAgent(repo, newBackend()).reconciler.pass(['startup']);

    repo.write({ 'clusters/web.yaml': 'name: web\ncloud: node\nnode: {}\nresources: {ports: [8000]}\n', 'clusters/api.yaml': api(9000) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);
    await reconciler.pass(['startup']);
    assert.deepEqual(
      (await backend.list()).map((f) => [f.id, f.nodePort]),
      [['node/web/Forward/web-tcp-8000', 10500]],
    );
    assert.deepEqual([statusOf(reconciler, 'web').state, statusOf(reconciler, 'api').state], ['kept', 'failed']);
    assert.match(statusOf(reconciler, 'api').lastError ?? '', /no 1 free consecutive node ports left in node.port_range 10500-10500/);
    assert.deepEqual(await reach(10500), hello(8000));
  });

  it('refuses to close every port when every manifest is deleted, and closes them when mass close is allowed', async () => {
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': web(8000), 'clusters/api.yaml': api(9000) });
    const backend = newBackend();
    const { reconciler } = nodeAgent(repo, backend);
    await reconciler.pass(['startup']);
    const ports = nodePorts(reconciler);

    repo.write({ 'clusters/web.yaml': null, 'clusters/api.yaml': null });
    const blocked = await reconciler.pass(['poll']);
    assert.deepEqual([blocked.result, blocked.reasons, blocked.outcomes.length], ['blocked', ['Guarded'], 0]);
    assert.match(blocked.message ?? '', /would close all 2 open ports/);
    assert.equal(backend.transactions, 1);
    for (const [name, port] of ports) assert.deepEqual(await reach(port), hello(name === 'web-tcp-8000' ? 8000 : 9000));
    assert.deepEqual(
      reconciler.status.map((s) => [s.name, s.state]),
      [
        ['api', 'blocked'],
        ['web', 'blocked'],
      ],
      'the clusters whose close was refused stay visible',
    );
    assert.deepEqual(nodePorts(reconciler), ports);

    const allowed = nodeAgent(repo, backend, { allowMassClose: true });
    const closing = await allowed.reconciler.pass(['poll']);
    assert.equal(closing.result, 'converged', closing.message);
    assert.deepEqual(closing.outcomes.map((o) => `${o.change.action} ${o.change.name}`).sort(), ['deleted api-tcp-9000', 'deleted web-tcp-8000']);
    assert.equal(backend.transactions, 2);
    for (const port of ports.values()) assert.deepEqual(await reach(port), refused);
    assert.deepEqual(await backend.list(), []);
    assert.deepEqual(allowed.reconciler.status, []);
  });

  it('gives each cluster its own node ports, shows public endpoints on node.public_address, and narrows by cidrs', async () => {
    const repo = new MemoryRepo({
      'config.yaml': CONFIG,
      'clusters/web.yaml': web('+tcp:8000', '{port: 8002, cidrs: [192.168.0.0/16]}'),
      'clusters/api.yaml': api(8000),
    });
    const { reconciler } = nodeAgent(repo, newBackend());
    const report = await reconciler.pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
    const [webPort, apiPort, narrowPort] = ['web-tcp-8000', 'api-tcp-8000', 'web-tcp-8002'].map((n) => nodePortOf(reconciler, n)) as [number, number, number];
    assert.equal(new Set([webPort, apiPort, narrowPort]).size, 3, 'one instance port, two clusters: distinct node ports');

    const publicEndpoints = (cluster: string) => statusOf(reconciler, cluster).endpoints.filter((e) => e.exposure === 'public');
    assert.deepEqual(
      publicEndpoints('web').map((e) => [e.ports, e.address, e.state]),
      [['8000', `${PUBLIC}:${webPort}`, 'ready']],
    );
    assert.deepEqual(publicEndpoints('api'), []);
    assert.deepEqual(await reach(webPort), hello(8000));
    assert.deepEqual(await reach(apiPort), hello(8000));
    // The client (10.213.1.2) is not in 192.168.0.0/16: no DNAT matches, and nothing listens on the node.
    assert.deepEqual(await reach(narrowPort), refused);
    assert.deepEqual(await connect(topo.node, 'tcp', ADDRESSES.nodeInner, narrowPort), refused);
  });
});
