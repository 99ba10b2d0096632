// A whole agent pass without git: a mutable in-memory config repo, a Reconciler over one node provider,
// and small readers of what the pass left behind (node ports, endpoints, statuses).
import net from 'node:net';
import { Reconciler, type Log, type Source } from '../../agent/engine/pass.js';
import type { ConvergeOptions } from '../../agent/engine/converge.js';
import type { ClusterStatus } from '../../agent/engine/status.js';
import type { Snapshot } from '../../agent/model.js';
import { NodeProvider, type NodeBackend } from '../../agent/providers/node/index.js';
import { createRenderer } from '../../agent/render/index.js';
import { snapshotOf } from './repo.js';

/** A config repo in memory: every `write` is a new revision (`r1`, `r2`, ...), as a commit would be. */
export class MemoryRepo implements Source {
  private files: Record<string, string> = {};
  private count = 0;

  constructor(files: Record<string, string> = {}) {
    this.write(files);
  }

  get revision(): string {
    return `r${this.count}`;
  }

  /** Sets files (null deletes one) and makes a new revision. */
  write(files: Record<string, string | null>): this {
    for (const [path, text] of Object.entries(files)) {
      if (text === null) delete this.files[path];
      else this.files[path] = text;
    }
    this.count++;
    return this;
  }

  snapshot(): Promise<Snapshot> {
    return Promise.resolve(snapshotOf({ ...this.files }, this.revision));
  }
}

export const silentLog: Log = { info() {}, warn() {}, error() {} };

/** Retries without waiting, so a failing write costs no time. */
export const fastConverge: ConvergeOptions = { concurrency: 4, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 }, deps: { sleep: async () => {}, random: () => 0 } };

export interface NodeAgent {
  reconciler: Reconciler;
  provider: NodeProvider;
}

/** A Reconciler with the node provider over `backend`, reading `repo`: the agent of one process. */
export function nodeAgent(repo: Source, backend: NodeBackend, options: { allowMassClose?: boolean } = {}): NodeAgent {
  const provider = new NodeProvider(backend);
  const reconciler = new Reconciler({
    source: repo,
    renderer: createRenderer(),
    providers: { node: provider },
    log: silentLog,
    converge: fastConverge,
    ...(options.allowMassClose ? { allowMassClose: true } : {}),
  });
  return { reconciler, provider };
}

/** A `cloud: node` cluster manifest; `ports` go into `resources.ports` as YAML flow items. */
export function nodeManifest(name: string, address: string, ports: (number | string)[]): string {
  const items = ports.map((p) => (typeof p === 'number' ? String(p) : p.startsWith('{') ? p : JSON.stringify(p)));
  return `name: ${name}\ncloud: node\nnode:\n  address: ${address}\nresources:\n  ports: [${items.join(', ')}]\n`;
}

/** The node port of each forward the provider holds after the last pass, by forward name (`web-tcp-8000`). */
export function nodePorts(reconciler: Reconciler): Map<string, number> {
  const held = reconciler.held.get('node') ?? [];
  return new Map(held.map((r) => [r.name, Number(r.body.node_port)]));
}

/** The node port of one forward; fails the test when the provider holds no such forward. */
export function nodePortOf(reconciler: Reconciler, forwardName: string): number {
  const port = nodePorts(reconciler).get(forwardName);
  if (port === undefined) throw new Error(`no forward ${forwardName} is held; held: ${[...nodePorts(reconciler).keys()].join(', ') || 'none'}`);
  return port;
}

export function statusOf(reconciler: Reconciler, cluster: string): ClusterStatus {
  const status = reconciler.status.find((s) => s.name === cluster);
  if (!status) throw new Error(`no status for cluster ${cluster}; have: ${reconciler.status.map((s) => s.name).join(', ') || 'none'}`);
  return status;
}

export type Reply = { ok: true; reply: string } | { ok: false; error: string };

/** A TCP instance on 127.0.0.1 (an OS-chosen port) that greets each connection with `hello <port>`. */
export async function localInstance(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`hello ${port}`);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    // Each connection ends as soon as it is greeted, so closing the listener is enough.
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * `count` local instances whose ports are at least 2 apart: adjacent ports in one manifest merge into one
 * range (one forward), and tests that name forwards by port want one forward per port.
 */
export async function localInstances(count: number): Promise<{ port: number; close(): Promise<void> }[]> {
  const kept: Awaited<ReturnType<typeof localInstance>>[] = [];
  const spare: Awaited<ReturnType<typeof localInstance>>[] = [];
  while (kept.length < count) {
    const instance = await localInstance();
    if (kept.some((k) => Math.abs(k.port - instance.port) < 2)) spare.push(instance);
    else kept.push(instance);
  }
  await Promise.all(spare.map((s) => s.close()));
  return kept;
}

/** Connects to 127.0.0.1:port and reads until the far side ends: the greeting, or the error code. */
export function localConnect(port: number, timeoutMs = 1500): Promise<Reply> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (result: Reply) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('end', () => done({ ok: true, reply }));
    socket.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, error: error.code ?? error.message }));
  });
}

/**
 * `size` consecutive TCP ports on 127.0.0.1 that nothing listens on now, below the kernel's ephemeral
 * range so OS-chosen ports of concurrent tests do not land in it: a node.port_range for userspace tests.
 */
export async function freePortRange(size: number): Promise<{ from: number; to: number }> {
  for (let tries = 0; tries < 50; tries++) {
    const from = 20000 + Math.floor(Math.random() * (32000 - 20000 - size));
    const probes: net.Server[] = [];
    let free = true;
    for (let port = from; port < from + size && free; port++) {
      const probe = net.createServer();
      free = await new Promise<boolean>((resolve) => probe.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)));
      if (free) probes.push(probe);
    }
    await Promise.all(probes.map((p) => new Promise((resolve) => p.close(resolve))));
    if (free) return { from, to: from + size - 1 };
  }
  throw new Error(`no ${size} free consecutive TCP ports found on 127.0.0.1`);
}
