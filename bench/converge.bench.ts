// bench/converge: what a pass of the node provider costs at 1,000 clusters (commit → open port latency is
// bench/latency; the other providers are bench/providers).
//   - the first pass, a no-op pass over 1,000 node clusters, and a pass that changes one port
//   - nftables transactions per pass (aim: 0 on a no-op pass, 1 when anything changed)
// Needs root, nft and ip (the same as the tests). Run: node --import tsx bench/converge.bench.ts
import { Reconciler, type Source } from '../agent/engine/pass.js';
import type { Snapshot } from '../agent/model.js';
import { NodeProvider } from '../agent/providers/node/index.js';
import { createNftablesBackend } from '../agent/providers/node/nftables.js';
import { createUserspaceBackend } from '../agent/providers/node/userspace.js';
import type { NodeBackend } from '../agent/providers/node/backend.js';
import { createRenderer } from '../agent/render/index.js';
import { ADDRESSES, createTopology } from '../test/helpers/netns.js';
import { announce, median } from './lib/machine.js';

const silent = { info() {}, warn() {}, error() {} };
const manifest = (name: string, address: string, ports: string) => `name: ${name}\ncloud: node\nnode: {address: ${address}}\nresources:\n  ports: ${ports}\n`;

async function passCosts(kind: 'nftables' | 'userspace', clusters: number): Promise<Record<string, number>> {
  const net = kind === 'nftables' ? await createTopology() : undefined;
  const backend: NodeBackend & { transactions: number } =
    kind === 'nftables' ? createNftablesBackend({ netns: net!.node.name }) : createUserspaceBackend({ listenHost: '127.0.0.1' });
  const files: Record<string, string> = { 'config.yaml': 'node: {port_range: 20000-29999}\n' };
  const address = kind === 'nftables' ? ADDRESSES.instance : '127.0.0.1';
  for (let i = 0; i < clusters; i++) files[`clusters/c${i}.yaml`] = manifest(`c${i}`, address, `[${1000 + (i % 500)}, "+tcp:443"]`);
  let snapshot: Snapshot = { revision: 'r1', files: new Map(Object.entries(files)), problems: [] };
  const source: Source = { snapshot: async () => snapshot };
  const reconciler = new Reconciler({ source, renderer: createRenderer(), providers: { node: new NodeProvider(backend) }, log: silent });
  const time = async () => {
    const before = backend.transactions;
    const t0 = performance.now();
    const report = await reconciler.pass(['bench' as never]);
    if (report.result !== 'converged') throw new Error(`pass ${report.result}: ${report.message}`);
    return { ms: performance.now() - t0, transactions: backend.transactions - before, changes: report.outcomes.length };
  };
  try {
    const create = await time();
    const noops = [await time(), await time(), await time()];
    const noopMs = median(noops.map((n) => n.ms));
    const noop = noops.find((n) => n.ms === noopMs)!;
    snapshot = { ...snapshot, revision: 'r2', files: new Map(snapshot.files).set('clusters/c0.yaml', manifest('c0', address, '[1999, "+tcp:443"]')) };
    const one = await time();
    return { createMs: create.ms, createTx: create.transactions, forwards: create.changes, noopMs: noop.ms, noopTx: noop.transactions, oneMs: one.ms, oneTx: one.transactions, oneChanges: one.changes };
  } finally {
    await backend.close();
    await net?.destroy();
  }
}

announce('bench/converge');
for (const kind of ['nftables', 'userspace'] as const) {
  const c = await passCosts(kind, 1000);
  console.log(
    `${kind.padEnd(9)} 1,000 clusters / ${c.forwards} forwards: first pass ${c.createMs!.toFixed(0)} ms (${c.createTx} transaction), ` +
      `no-op pass ${c.noopMs!.toFixed(0)} ms (${c.noopTx} transactions), one port changed ${c.oneMs!.toFixed(0)} ms (${c.oneChanges} changes, ${c.oneTx} transaction)`,
  );
}
