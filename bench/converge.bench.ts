// bench/converge: how fast portcullis turns a commit into an open port, and what a pass costs.
//   - commit → forwarded port answering (watch mode, nftables backend in a network namespace)
//   - a no-op pass over 1,000 node clusters, and a pass that changes one port
//   - nftables transactions per pass (aim: 0 on a no-op pass, 1 when anything changed)
// Needs root, nft and ip (the same as the tests). Run: node --import tsx bench/converge.bench.ts
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { Reconciler, type Source } from '../agent/engine/pass.js';
import type { Snapshot } from '../agent/model.js';
import { NodeProvider } from '../agent/providers/node/index.js';
import { createNftablesBackend } from '../agent/providers/node/nftables.js';
import { createUserspaceBackend } from '../agent/providers/node/userspace.js';
import type { NodeBackend } from '../agent/providers/node/backend.js';
import { createRenderer } from '../agent/render/index.js';
import { AgentProcess, eventually, freePort } from '../test/helpers/agent-process.js';
import { ADDRESSES, createTopology, serve, type Namespace } from '../test/helpers/netns.js';
import { TempGitRepo } from '../test/helpers/repo.js';

const silent = { info() {}, warn() {}, error() {} };
const manifest = (name: string, address: string, ports: string) => `name: ${name}\ncloud: node\nnode: {address: ${address}}\nresources:\n  ports: ${ports}\n`;

// A prober in the client namespace: tries to connect every 5 ms and prints the wall-clock time of the
// first success, so the measurement is not blurred by process start-up.
const PROBER = `
const [host, port] = process.argv.slice(1);
const net = require('node:net');
const attempt = () => net.connect({ host, port: Number(port) })
  .on('data', () => { process.stdout.write(String(Date.now())); process.exit(0); })
  .on('error', () => setTimeout(attempt, 5));
attempt();
setTimeout(() => process.exit(1), 30000);`;

function probe(ns: Namespace, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', PROBER, host, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error('the port never answered'))));
  });
}

async function commitToOpen(): Promise<number[]> {
  const net = await createTopology();
  const server = await serve(net.instance, 'tcp', [7001, 7002, 7003, 7004, 7005, 7006]);
  const repo = new TempGitRepo();
  repo.commit('base', { 'config.yaml': 'node: {port_range: 30000-30999}\n', 'clusters/keep.yaml': manifest('keep', ADDRESSES.instance, '[7000]') });
  const agent = new AgentProcess(['--repo', repo.dir, '--branch', 'main', '--node-backend', 'nftables', '--nft-netns', net.node.name, '--resync', '1h'], await freePort());
  const latencies: number[] = [];
  try {
    await eventually(async () => ((await agent.json<{ revision: string | null }>('/api/status')).revision ? true : undefined), 'the first pass');
    for (let i = 1; i <= 6; i++) {
      // The node port of a new forward is derived from its id and the range: compute it as the agent will.
      const files = { [`clusters/app${i}.yaml`]: manifest(`app${i}`, ADDRESSES.instance, `[${7000 + i}]`) };
      const started = Date.now();
      const head = repo.commit(`open ${7000 + i}`, files);
      const status = await eventually(async () => {
        const s = await agent.json<{ revision: string; clusters: { name: string; endpoints: { via?: string }[] }[] }>('/api/status');
        return s.revision === head ? s : undefined;
      }, 'the pass', 15_000, 5);
      const via = status.clusters.find((c) => c.name === `app${i}`)!.endpoints[0]!.via!;
      const answered = await probe(net.client, ADDRESSES.node, Number(via.split(':').at(-1)));
      if (i > 1) latencies.push(answered - started); // the first is a warm-up
    }
  } finally {
    await agent.stop();
    await server.close();
    await net.destroy();
    repo.remove();
  }
  return latencies;
}

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
    const noop = noops.sort((a, b) => a.ms - b.ms)[1]!;
    snapshot = { ...snapshot, revision: 'r2', files: new Map(snapshot.files).set('clusters/c0.yaml', manifest('c0', address, '[1999, "+tcp:443"]')) };
    const one = await time();
    return { createMs: create.ms, createTx: create.transactions, forwards: create.changes, noopMs: noop.ms, noopTx: noop.transactions, oneMs: one.ms, oneTx: one.transactions, oneChanges: one.changes };
  } finally {
    await backend.close();
    await net?.destroy();
  }
}

console.log(`bench/converge on ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
const latencies = await commitToOpen();
const sorted = [...latencies].sort((a, b) => a - b);
console.log(`commit → forwarded port answering (watch, nftables): median ${sorted[Math.floor(sorted.length / 2)]} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms over ${sorted.length} commits`);
for (const kind of ['nftables', 'userspace'] as const) {
  const c = await passCosts(kind, 1000);
  console.log(
    `${kind.padEnd(9)} 1,000 clusters / ${c.forwards} forwards: first pass ${c.createMs!.toFixed(0)} ms (${c.createTx} transaction), ` +
      `no-op pass ${c.noopMs!.toFixed(0)} ms (${c.noopTx} transactions), one port changed ${c.oneMs!.toFixed(0)} ms (${c.oneChanges} changes, ${c.oneTx} transaction)`,
  );
}
