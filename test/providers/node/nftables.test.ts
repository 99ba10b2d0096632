// The nftables backend on real nftables, with real packets, in network namespaces the test creates.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { NodeForward } from '../../../agent/providers/node/backend.js';
import { rulesOf } from '../../../agent/providers/node/nft-json.js';
import { createNftablesBackend, nftablesAvailable, rebuildForward, type NftablesBackend } from '../../../agent/providers/node/nftables.js';
import { ProviderError } from '../../../agent/providers/provider.js';
import { ADDRESSES, connect, createTopology, serve, type Server, type Topology } from '../../helpers/netns.js';

const forward = (name: string, fields: Partial<NodeForward> = {}): NodeForward => ({
  id: `node/web/Forward/${name}`,
  cluster: 'web',
  protocol: 'tcp',
  address: ADDRESSES.instance,
  port: 8000,
  size: 1,
  nodePort: 30000,
  sources: [],
  exposure: 'public',
  ...fields,
});

describe('nftables backend (real kernel, network namespaces)', () => {
  let topo: Topology;
  const servers: Server[] = [];
  let backend: NftablesBackend;
  const hello = (port: number, from: string = ADDRESSES.nodeInner) => ({ ok: true, reply: `hello ${port} ${from}` });
  const fromClient = (port: number, protocol: 'tcp' | 'udp' = 'tcp', host: string = ADDRESSES.node) => connect(topo.client, protocol, host, port);
  const nft = (...args: string[]) => topo.node.nft(args);
  const ourRules = async () => {
    const listing = JSON.parse(await nft('-j', 'list', 'table', 'inet', 'portcullis')) as { nftables: { rule?: { chain: string; handle: number; comment?: string; expr: unknown[] } }[] };
    return listing.nftables.flatMap((item) => (item.rule?.comment?.startsWith('portcullis v1 ') ? [item.rule] : []));
  };

  before(async () => {
    topo = await createTopology();
    servers.push(await serve(topo.instance, 'tcp', [8000, 8100, 8101, 8102]), await serve(topo.instance, 'udp', [5300]));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await topo?.destroy();
  });
  beforeEach(async () => {
    for (const table of [['inet', 'portcullis'], ['ip', 'other']]) await nft('delete', 'table', ...table).catch(() => undefined);
    backend = createNftablesBackend({ netns: topo.node.name });
  });

  it('forwards TCP from the client through the node to the instance, and stops when the forward is removed', async () => {
    const f = forward('tcp-8000');
    assert.deepEqual(await fromClient(30000), { ok: false, error: 'ECONNREFUSED' });
    await backend.apply([f], []);
    assert.deepEqual(await backend.list(), [f]);
    // The instance sees the node's address: replies come back through the node (it has no route to the client).
    assert.deepEqual(await fromClient(30000), hello(8000));
    // Connections made on the node itself to its node port are forwarded too (the output chain).
    assert.deepEqual(await connect(topo.node, 'tcp', ADDRESSES.node, 30000), hello(8000));

    await backend.apply([], await backend.list());
    assert.deepEqual(await fromClient(30000), { ok: false, error: 'ECONNREFUSED' });
    assert.deepEqual(await backend.list(), []);
    assert.equal(backend.transactions, 2);
  });

  it('never changes rules it does not own: another table, or unmarked rules in its own table', async () => {
    await nft('add', 'table', 'ip', 'other');
    await nft('add', 'chain', 'ip', 'other', 'input', '{ type filter hook input priority 0; }');
    await nft('add', 'rule', 'ip', 'other', 'input', 'tcp', 'dport', '9999', 'counter', 'accept', 'comment', '"by hand"');
    const otherBefore = await nft('list', 'table', 'ip', 'other');
    const f = forward('tcp-8000');
    await backend.apply([f], []);
    await nft('add', 'rule', 'inet', 'portcullis', 'prerouting', 'tcp', 'dport', '9999', 'counter', 'comment', '"by hand"');

    assert.deepEqual(await backend.list(), [f]);
    await backend.apply([], [f]);
    await backend.apply([forward('tcp-8000', { nodePort: 30001 })], []);
    await backend.apply([], await backend.list());

    assert.equal(await nft('list', 'table', 'ip', 'other'), otherBefore);
    assert.match(await nft('list', 'chain', 'inet', 'portcullis', 'prerouting'), /tcp dport 9999 counter packets \d+ bytes \d+ comment "by hand"/);
    assert.deepEqual(await ourRules(), []);
  });

  it('forwards a range port by port', async () => {
    const f = forward('tcp-8100-8102', { port: 8100, size: 3, nodePort: 30100 });
    await backend.apply([f], []);
    assert.deepEqual(await backend.list(), [f]);
    for (const k of [0, 1, 2]) assert.deepEqual(await fromClient(30100 + k), hello(8100 + k));
    assert.deepEqual(await fromClient(30103), { ok: false, error: 'ECONNREFUSED' });
  });

  it('round-trips a UDP datagram', async () => {
    const f = forward('udp-5300', { protocol: 'udp', port: 5300, nodePort: 30053 });
    await backend.apply([f], []);
    assert.deepEqual(await backend.list(), [f]);
    assert.deepEqual(await fromClient(30053, 'udp'), { ok: true, reply: `hello 5300 ${ADDRESSES.nodeInner} ping` });
  });

  it('forwards to an IPv6 instance', async () => {
    const f = forward('tcp-8000', { address: ADDRESSES.instance6, nodePort: 30600, sources: ['fd00:213:1::/64'] });
    await backend.apply([f], []);
    assert.deepEqual(await backend.list(), [f]);
    assert.deepEqual(await fromClient(30600, 'tcp', ADDRESSES.node6), hello(8000, ADDRESSES.nodeInner6));
    // An IPv6 forward takes no IPv4 traffic.
    assert.deepEqual(await fromClient(30600), { ok: false, error: 'ECONNREFUSED' });
  });

  it('lets in only the sources it names, and reads mixed-family sources back exactly', async () => {
    const elsewhere = forward('tcp-8000', { sources: ['10.213.9.0/24'], exposure: 'private' });
    await backend.apply([elsewhere], []);
    assert.deepEqual(await backend.list(), [elsewhere]);
    assert.deepEqual(await fromClient(30000), { ok: false, error: 'ECONNREFUSED' });

    // An IPv6 source of an IPv4 instance forwards nothing, but is kept (in a note rule) and read back.
    const clients = forward('tcp-8000', { sources: ['10.213.1.0/24', 'fd00:213:9::/64'], exposure: 'private' });
    await backend.apply([clients], await backend.list());
    assert.deepEqual(await backend.list(), [clients]);
    assert.deepEqual(await fromClient(30000), hello(8000));

    const onlyOtherFamily = forward('tcp-8000', { sources: ['fd00:213:1::/64'], exposure: 'private' });
    await backend.apply([onlyOtherFamily], await backend.list());
    assert.deepEqual(await backend.list(), [onlyOtherFamily]);
    assert.deepEqual(await fromClient(30000), { ok: false, error: 'ECONNREFUSED' });
  });

  it('shows a rule deleted by hand as drift, and re-applying restores traffic', async () => {
    const f = forward('tcp-8100-8102', { port: 8100, size: 3, nodePort: 30100 });
    await backend.apply([f], []);
    const victim = (await ourRules()).find((r) => r.chain === 'prerouting' && JSON.stringify(r.expr).includes('"right":30101'));
    assert.ok(victim, 'the prerouting rule of node port 30101');
    await nft('delete', 'rule', 'inet', 'portcullis', 'prerouting', 'handle', String(victim.handle));
    assert.deepEqual(await fromClient(30101), { ok: false, error: 'ECONNREFUSED' });

    const observed = await backend.list();
    assert.deepEqual(observed, [{ ...f, size: 1 }]);
    await backend.apply([f], observed);
    assert.deepEqual(await backend.list(), [f]);
    assert.deepEqual(await fromClient(30101), hello(8101));
    // The remaining rules of the damaged forward were removed, not left beside the new ones.
    assert.equal((await ourRules()).length, rulesOf(f).length);
  });

  it('recovers from its table flushed or deleted by hand', async () => {
    const f = forward('tcp-8000');
    await backend.apply([f], []);
    assert.deepEqual(await backend.list(), [f]);
    // Flushed after the listing: the handles apply would delete are stale; it lists again and goes on.
    await nft('flush', 'table', 'inet', 'portcullis');
    await backend.apply([f], [f]);
    assert.deepEqual(await backend.list(), [f]);
    assert.equal((await ourRules()).length, rulesOf(f).length);
    assert.deepEqual(await fromClient(30000), hello(8000));

    await nft('delete', 'table', 'inet', 'portcullis');
    assert.deepEqual(await backend.list(), []);
    await backend.apply([f], []);
    assert.deepEqual(await backend.list(), [f]);
    assert.deepEqual(await fromClient(30000), hello(8000));
  });

  it('counts transactions: none for nothing to do, one for a batch of 50 forwards', async () => {
    // A binary that does not exist proves an empty apply runs no nft command.
    const idle = createNftablesBackend({ netns: topo.node.name, nft: '/nonexistent/nft' });
    await idle.apply([], []);
    assert.equal(idle.transactions, 0);

    const many = Array.from({ length: 50 }, (_, i) =>
      forward(`tcp-${8000 + i}`, { nodePort: 31000 + i, port: 8000 + i, sources: i % 2 ? ['10.213.1.0/24'] : [], exposure: i % 2 ? 'private' : 'public' }),
    );
    await backend.apply(many, []);
    assert.equal(backend.transactions, 1);
    const observed = await backend.list();
    assert.deepEqual(observed, [...many].sort((a, b) => (a.id < b.id ? -1 : 1)));
    await backend.apply([], []);
    assert.equal(backend.transactions, 1);
    assert.deepEqual(await fromClient(31000), hello(8000));
    await backend.apply([], observed);
    assert.equal(backend.transactions, 2);
    assert.deepEqual(await backend.list(), []);
  });

  it('rejects a batch nft refuses as a whole, with nft\'s message, changing nothing', async () => {
    // Someone made our output chain a filter chain: adding the nat chain of that name fails.
    await nft('add', 'table', 'inet', 'portcullis');
    await nft('add', 'chain', 'inet', 'portcullis', 'output', '{ type filter hook output priority 0; }');
    const error = await backend.apply([forward('a'), forward('b', { nodePort: 30001 })], []).catch((e: unknown) => e);
    assert.ok(error instanceof ProviderError);
    assert.equal(error.transient, false);
    assert.match(error.message, /rejected, nothing changed: .*Operation not supported/);
    assert.deepEqual(await backend.list(), []);
    assert.doesNotMatch(await nft('list', 'table', 'inet', 'portcullis'), /prerouting/);
    assert.equal(backend.transactions, 0);
  });

  it('refuses forwards it could not read back exactly, before running nft', async () => {
    const offline = createNftablesBackend({ nft: '/nonexistent/nft' });
    for (const [f, message] of [
      [forward('a', { sources: ['10.213.1.7/24'] }), /source '10\.213\.1\.7\/24' is not a canonical CIDR/],
      [forward('a', { sources: ['10.2.0.0/16', '10.1.0.0/16'] }), /sorted/],
      [forward('a', { address: 'instance.example' }), /not an IP address/],
      [forward('a', { address: 'FD00::2' }), /not an IP address in canonical form/],
      [forward('a', { nodePort: 65535, size: 2 }), /1-65535/],
      [forward(`${'x'.repeat(120)}`), /ownership comment would be \d+ bytes/],
    ] as const) {
      await assert.rejects(offline.apply([f], []), (e: unknown) => e instanceof ProviderError && !e.transient && message.test(e.message));
    }
    await assert.rejects(offline.list(), (e: unknown) => e instanceof ProviderError && /ENOENT/.test(e.message));
  });

  it('reports IP forwarding switched off, and whether nft is usable', async () => {
    assert.deepEqual(await backend.problems(), []);
    await topo.node.sysctl('net.ipv4.ip_forward', '0');
    try {
      const problems = await backend.problems();
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /ip_forward is 0 in network namespace pc-\d+-\d+-n/);
    } finally {
      await topo.node.sysctl('net.ipv4.ip_forward', '1');
    }
    assert.deepEqual(await nftablesAvailable({ netns: topo.node.name }), { ok: true });
    const missing = await nftablesAvailable({ nft: '/nonexistent/nft' });
    assert.equal(missing.ok, false);
  });
});

describe('rebuildForward', () => {
  const f = forward('tcp-8100-8102', { port: 8100, size: 3, nodePort: 30100, sources: ['10.0.0.0/8', 'fd00::/8'] });
  const mark = { id: f.id, cluster: f.cluster, exposure: f.exposure };

  it('rebuilds a forward from its complete rules exactly', () => {
    assert.deepEqual(rebuildForward(mark, rulesOf(f)), f);
    assert.deepEqual(rebuildForward(mark, [...rulesOf(f)].reverse()), f);
  });

  it('counts only the leading intact ports when rules are missing, extra or unreadable', () => {
    const rules = rulesOf(f);
    const lastMasquerade = rules.map((r) => r.kind).lastIndexOf('masquerade');
    assert.equal(rebuildForward(mark, rules.filter((_, i) => i !== lastMasquerade)).size, 2);
    assert.equal(rebuildForward(mark, [...rules, rules[0]!]).size, 0);
    assert.equal(rebuildForward(mark, [...rules, undefined]).size, 0);
    const noteOfSecondPort = rules.findIndex((r) => r.kind === 'note' && r.nodePort === 30101);
    assert.equal(rebuildForward(mark, rules.filter((_, i) => i !== noteOfSecondPort)).size, 1);
  });
});
