import type { Cluster, Exposure, JsonObject, Protocol, Resource, ResourceChange } from '../../model.js';
import type { ClusterProblem, Endpoint, Provider, ProviderScope } from '../provider.js';
import { allocateBlocks } from './allocate.js';
import type { NodeBackend, NodeForward } from './backend.js';

export type { NodeBackend, NodeForward } from './backend.js';

/** The rendered Forward (templates/node-forward.yml.j2), before a node port is allocated. */
interface RenderedForward {
  address: string;
  protocol: Protocol;
  from: number;
  to: number;
  exposure: Exposure;
  sources: string[];
}

const ANYONE = ['0.0.0.0/0', '::/0'];

/**
 * The node provider: AMS-style instance services. Each port spec of a `cloud: node` cluster becomes a
 * forward from node ports to `instance:port`, held by a backend (nftables rules, or the agent's sockets).
 */
export class NodeProvider implements Provider {
  readonly cloud = 'node' as const;

  constructor(readonly backend: NodeBackend) {}

  async observe(): Promise<Resource[]> {
    return (await this.backend.list()).map(toResource);
  }

  complete(desired: Resource[], actual: Resource[], scope: ProviderScope): { resources: Resource[]; problems: ClusterProblem[] } {
    const rendered = desired.map((r) => ({ resource: r, forward: r.body as unknown as RenderedForward }));
    const blockOf = (r: Resource) => ({ start: Number(r.body.node_port), size: Number(r.body.size) });
    const held = new Map(actual.map((r) => [r.id, blockOf(r)]));
    // Forwards of clusters not completed here (a cluster whose manifest does not load keeps what it holds,
    // one gone from Git may be kept by the guard) still hold their node ports through this pass.
    const completing = new Set(scope.clusters.map((c) => c.name));
    const reserved = actual.filter((r) => !completing.has(r.cluster)).map(blockOf);
    const blocks = allocateBlocks(
      rendered.map(({ resource, forward }) => ({ id: resource.id, size: forward.to - forward.from + 1 })),
      held,
      scope.settings.node.port_range,
      reserved,
    );
    const resources: Resource[] = [];
    const problems: ClusterProblem[] = [];
    for (const { resource, forward } of rendered) {
      const block = blocks.get(resource.id)!;
      if (!block.ok) {
        problems.push({ cluster: resource.cluster, message: `${resource.kind}/${resource.name}: ${block.reason}` });
        continue;
      }
      const sources = [...forward.sources].sort();
      const anyone = sources.length === ANYONE.length && ANYONE.every((s) => sources.includes(s));
      resources.push(
        toResource({
          id: resource.id,
          cluster: resource.cluster,
          protocol: forward.protocol,
          address: forward.address,
          port: forward.from,
          size: forward.to - forward.from + 1,
          nodePort: block.start,
          sources: anyone ? [] : sources,
          exposure: forward.exposure,
        }),
      );
    }
    return { resources, problems };
  }

  async applyBatch(changes: ResourceChange[]): Promise<void> {
    const add = changes.filter((c) => c.action !== 'deleted' && c.desired).map((c) => fromResource(c.desired!));
    const remove = changes.filter((c) => c.action !== 'created' && c.actual).map((c) => fromResource(c.actual!));
    await this.backend.apply(add, remove);
  }

  endpoints(cluster: Cluster, actual: Resource[], scope: ProviderScope): Endpoint[] {
    const publicAddress = scope.settings.node.public_address;
    const node = publicAddress ? hostPart(publicAddress) : '(node)';
    const endpoints: Endpoint[] = [];
    for (const f of runs(actual.filter((r) => r.cluster === cluster.name).map(fromResource))) {
      const ports = range(f.port, f.size);
      const nodePorts = range(f.nodePort, f.size);
      endpoints.push({ cluster: cluster.name, protocol: f.protocol, ports, exposure: 'private', address: `${hostPart(f.address)}:${ports}`, via: `${node}:${nodePorts}`, state: 'ready' });
      if (f.exposure === 'public') {
        endpoints.push({
          cluster: cluster.name,
          protocol: f.protocol,
          ports,
          exposure: 'public',
          address: `${node}:${nodePorts}`,
          state: 'ready',
          ...(publicAddress ? {} : { hint: 'set node.public_address to show the address clients use' }),
        });
      }
    }
    return endpoints;
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

/** Forwards of consecutive ports on consecutive node ports read as one range, as they were declared. */
function runs(forwards: NodeForward[]): NodeForward[] {
  const sorted = [...forwards].sort((a, b) => (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port));
  const out: NodeForward[] = [];
  for (const f of sorted) {
    const last = out.at(-1);
    const joins = last && last.protocol === f.protocol && last.address === f.address && last.exposure === f.exposure && last.port + last.size === f.port && last.nodePort + last.size === f.nodePort;
    if (joins) out[out.length - 1] = { ...last, size: last.size + f.size };
    else out.push({ ...f });
  }
  return out;
}

const range = (from: number, size: number): string => (size === 1 ? String(from) : `${from}-${from + size - 1}`);
const hostPart = (address: string): string => (address.includes(':') ? `[${address}]` : address);

function toResource(f: NodeForward): Resource {
  const name = f.id.split('/').at(-1)!;
  const body: JsonObject = { address: f.address, protocol: f.protocol, port: f.port, size: f.size, node_port: f.nodePort, sources: f.sources, exposure: f.exposure };
  return { id: f.id, cloud: 'node', cluster: f.cluster, kind: 'Forward', name, body };
}

function fromResource(r: Resource): NodeForward {
  const b = r.body as unknown as { address: string; protocol: Protocol; port: number; size: number; node_port: number; sources: string[]; exposure: Exposure };
  return { id: r.id, cluster: r.cluster, protocol: b.protocol, address: b.address, port: b.port, size: b.size, nodePort: b.node_port, sources: b.sources, exposure: b.exposure };
}
