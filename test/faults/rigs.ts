// One rig per provider for the fault matrix: the real SDK client against its wire-level server (the
// Kubernetes fake, moto behind the counting proxy, the Compute fake), faults injected on one kind of
// call at a time, and an inventory of everything in that world that looks like ours, so a leaked or
// duplicated object shows up whoever made it.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reconciler } from '../../agent/engine/pass.js';
import { KubernetesProvider } from '../../agent/providers/kubernetes/index.js';
import { NodeProvider } from '../../agent/providers/node/index.js';
import { createNftablesBackend } from '../../agent/providers/node/nftables.js';
import { createRenderer } from '../../agent/render/index.js';
import { startComputeFake, type ComputeFake } from '../fakes/compute/server.js';
import { startKubeApiserver, type FakeKube, type JsonObject } from '../fakes/kube-apiserver/index.js';
import { fastConverge, nodeManifest, silentLog, type MemoryRepo } from '../helpers/agent-fixture.js';
import { ADDRESSES, createTopology, type Topology } from '../helpers/netns.js';
import { awsManifest, awsProvider, makeVpc, runInstances, SETTINGS as AWS_SETTINGS, startWorld, type World } from '../providers/aws/world.js';
import { awsInventory, kubernetesInventory } from './inventory.js';
import { gcpManifest, gcpProvider } from '../providers/gcp/helpers.js';

/** throttle: 429 / RequestLimitExceeded; error: a 5xx; timeout: no answer before the client's deadline (the request still takes effect later); lost: carried out, answered with a 5xx. */
export type FaultKind = 'throttle' | 'error' | 'timeout' | 'lost';

/** A kind of call, as a fault can aim at it (derived from the requests of a clean run). */
export interface Operation {
  name: string;
  write: boolean;
}

export interface Rig {
  name: string;
  kinds: FaultKind[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** An empty world, ready for a scenario's clusters. */
  reset(clusters: string[]): Promise<void>;
  manifest(cluster: string, ports: number[]): string;
  settings: string;
  /** A fresh agent (new provider, nothing remembered), as after a restart. */
  reconciler(repo: MemoryRepo): Reconciler;
  /** Start counting calls afresh. */
  clearCalls(): void;
  /** The kinds of call made since clearCalls. */
  calls(): Operation[];
  inject(operation: Operation, kind: FaultKind, times: number): void;
  /** Every call fails, for as long as it lasts. */
  outage(on: boolean): void;
  clearFaults(): void;
  /** One line per object (and per rule) in the world that looks like ours; duplicates repeat. */
  inventory(): Promise<string[]>;
}

const REQUEST_TIMEOUT_MS = 250;
const SLOW_MS = 600;

export function kubernetesRig(): Rig {
  let fake: FakeKube;
  const opOf = (method: string, path: string): Operation | undefined => {
    const m = /\/(services|ingresses)(\/[^/]+)?$/.exec(path);
    return m ? { name: `${method} ${m[1]}${m[2] ? '/{name}' : ''}`, write: method !== 'GET' } : undefined;
  };
  const pathOf = (op: Operation) => {
    const [, resource] = op.name.split(' ') as [string, string];
    return new RegExp(`/${resource.replace('/{name}', '/[^/]+')}$`);
  };
  return {
    name: 'kubernetes',
    kinds: ['throttle', 'error', 'timeout'],
    settings: 'kubernetes:\n  ports: loadbalancer\n',
    async start() {
      fake = await startKubeApiserver();
    },
    async stop() {
      await fake?.close();
    },
    async reset() {
      for (const kind of ['Service', 'Ingress'] as const) for (const o of fake.list(kind, 'ml')) fake.remove(kind, 'ml', (o.metadata as JsonObject).name as string);
      if (!fake.get('Namespace', undefined, 'ml')) fake.createNamespace('ml');
      fake.clearFaults();
      fake.clearRequests();
    },
    manifest: (name, ports) => `name: ${name}\ncloud: kubernetes\nkubernetes: {namespace: ml, selector: {app: ${name}}}\nresources:\n  ports: [${ports.join(', ')}]\n`,
    reconciler: (repo) =>
      new Reconciler({ source: repo, renderer: createRenderer(), providers: { kubernetes: new KubernetesProvider({ kubeConfig: fake.kubeConfig(), requestTimeoutMs: REQUEST_TIMEOUT_MS }) }, log: silentLog, converge: fastConverge }),
    clearCalls: () => fake.clearRequests(),
    calls: () => unique(fake.requests.flatMap((r) => opOf(r.method, r.path) ?? [])),
    inject(op, kind, times) {
      const method = op.name.split(' ')[0]!;
      if (kind === 'timeout') fake.inject({ method, path: pathOf(op), delayMs: SLOW_MS, times });
      else fake.inject({ method, path: pathOf(op), status: kind === 'throttle' ? 429 : 500, ...(kind === 'throttle' ? { retryAfter: 0 } : {}), times });
    },
    outage(on) {
      if (on) fake.inject({ status: 503, times: Infinity });
      else fake.clearFaults();
    },
    clearFaults: () => fake.clearFaults(),
    inventory: async () => kubernetesInventory(fake, 'ml'),
  };
}

export function awsRig(): Rig {
  let world: World;
  let instances: string[] = [];
  return {
    name: 'aws',
    kinds: ['throttle', 'error', 'timeout'],
    settings: AWS_SETTINGS,
    async start() {
      world = await startWorld();
    },
    async stop() {
      await world?.stop();
    },
    async reset(clusters) {
      await world.moto.reset();
      world.proxy.clear();
      const vpc = await makeVpc(world, 'shared');
      instances = [];
      for (const name of clusters) instances.push(...(await runInstances(world, vpc, 1, { Name: name })));
    },
    manifest: (name, ports) => awsManifest(name, { vpc: 'shared', instance_tags: { Name: name } }, ports),
    reconciler: (repo) =>
      new Reconciler({ source: repo, renderer: createRenderer(), providers: { aws: awsProvider(world, { requestTimeoutMs: REQUEST_TIMEOUT_MS }) }, log: silentLog, converge: fastConverge }),
    clearCalls: () => world.proxy.clear(),
    calls: () => unique(world.proxy.requests.map((r) => ({ name: r.action, write: !/^Describe/.test(r.action) }))),
    inject(op, kind, times) {
      const fault = kind === 'throttle' ? { kind: 'throttle' as const } : kind === 'timeout' ? { kind: 'delay' as const, ms: SLOW_MS } : { kind: 'server-error' as const, status: 503 };
      world.proxy.inject(op.name, fault, times);
    },
    outage(on) {
      if (on) world.proxy.inject('*', { kind: 'server-error', status: 503 }, Infinity);
      else world.proxy.clear();
    },
    clearFaults: () => world.proxy.clear(),
    inventory: () => awsInventory(world, instances),
  };
}

export function gcpRig(): Rig {
  let fake: ComputeFake;
  const PROJECT = 'proj-one';
  const opOf = (method: string, path: string): Operation | undefined => {
    const m = /\/(global\/firewalls|global\/operations|aggregated\/instances)(\/[^/]+)?(\/wait)?$/.exec(path);
    return m ? { name: `${method} ${m[1]}${m[2] ? '/{name}' : ''}${m[3] ?? ''}`, write: method !== 'GET' && !m[3] } : undefined;
  };
  return {
    name: 'gcp',
    kinds: ['throttle', 'error', 'lost'],
    settings: '',
    async start() {
      fake = await startComputeFake();
    },
    async stop() {
      await fake?.close();
    },
    async reset() {
      await fake?.close();
      fake = await startComputeFake();
    },
    manifest: (name, ports) => gcpManifest(name, ports, { project: PROJECT }),
    reconciler: (repo) => new Reconciler({ source: repo, renderer: createRenderer(), providers: { gcp: gcpProvider(fake) }, log: silentLog, converge: fastConverge }),
    clearCalls: () => void (fake.requests.length = 0),
    calls: () => unique(fake.requests.flatMap((r) => opOf(r.method, r.path) ?? [])),
    inject(op, kind, times) {
      const [method, rest] = op.name.split(' ') as [string, string];
      const path = new RegExp(`/${rest.replace('/{name}', '/[^/]+')}$`);
      fake.failNext(method, path, kind === 'throttle' ? 429 : 503, times, { afterEffect: kind === 'lost' });
    },
    outage(on) {
      if (on) fake.failNext('*', /./, 503, Infinity);
      else fake.clearFaults();
    },
    clearFaults: () => fake.clearFaults(),
    async inventory() {
      return fake.firewalls(PROJECT).map((f) => `${f.name} ${JSON.stringify([f.allowed, f.sourceRanges, f.targetTags])}`);
    },
  };
}

// An `nft` in front of the real one: it logs each call as `list` or `apply` (a batch from a file) and,
// while a fault file says so, fails it the way a busy kernel does (transient) — after running it, for a
// lost answer. The backend runs it inside the node namespace, as it would run nft.
const NFT_SHIM = `#!/bin/bash
dir=$(dirname "$0")
op=list
for a in "$@"; do [ "$a" = "-f" ] && op=apply; done
echo "$op" >> "$dir/calls"
for f in "$dir/fault-$op" "$dir/fault-all"; do
  [ -f "$f" ] || continue
  read -r kind left < "$f"
  [ "$left" -gt 0 ] || continue
  echo "$kind $((left - 1))" > "$f"
  [ "$kind" = lost ] && nft "$@" > /dev/null 2>&1
  echo "Error: Could not process rule: Resource temporarily unavailable" >&2
  exit 1
done
exec nft "$@"
`;

export function nftablesRig(): Rig {
  let topo: Topology;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-nft-shim-'));
  const shim = join(dir, 'nft');
  const clearFaults = () => {
    for (const f of ['fault-list', 'fault-apply', 'fault-all']) rmSync(join(dir, f), { force: true });
  };
  const backends: { close(): Promise<void> }[] = [];
  return {
    name: 'nftables',
    kinds: ['error', 'lost'],
    settings: 'node: {port_range: 45000-45999}\n',
    async start() {
      writeFileSync(shim, NFT_SHIM);
      chmodSync(shim, 0o755);
      topo = await createTopology();
    },
    async stop() {
      await Promise.all(backends.map((b) => b.close()));
      await topo?.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
    async reset() {
      clearFaults();
      await topo.node.nft(['delete', 'table', 'inet', 'portcullis']).catch(() => undefined);
      await topo.node.nft(['delete', 'table', 'ip', 'portcullis']).catch(() => undefined);
      await topo.node.nft(['delete', 'table', 'ip6', 'portcullis']).catch(() => undefined);
    },
    manifest: (name, ports) => nodeManifest(name, ADDRESSES.instance, ports),
    reconciler(repo) {
      const backend = createNftablesBackend({ netns: topo.node.name, nft: shim });
      backends.push(backend);
      return new Reconciler({ source: repo, renderer: createRenderer(), providers: { node: new NodeProvider(backend) }, log: silentLog, converge: fastConverge });
    },
    clearCalls: () => writeFileSync(join(dir, 'calls'), ''),
    calls: () => unique(readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean).map((name) => ({ name, write: name === 'apply' }))),
    inject: (op, kind, times) => writeFileSync(join(dir, `fault-${op.name}`), `${kind} ${times}\n`),
    outage(on) {
      if (on) writeFileSync(join(dir, 'fault-all'), 'error 1000000\n');
      else clearFaults();
    },
    clearFaults,
    async inventory() {
      const out = await topo.node.nft(['-j', 'list', 'ruleset']);
      const items = (JSON.parse(out) as { nftables: { rule?: { family: string; table: string; chain: string; comment?: string; expr: unknown[] } }[] }).nftables;
      return items.flatMap((i) => (i.rule ? [`${i.rule.family} ${i.rule.table} ${i.rule.chain} ${i.rule.comment ?? ''} ${JSON.stringify(i.rule.expr)}`] : []));
    },
  };
}

function unique(ops: Operation[]): Operation[] {
  const seen = new Map<string, Operation>();
  for (const op of ops) if (!seen.has(op.name)) seen.set(op.name, op);
  return [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
