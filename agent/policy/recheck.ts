import { parsePorts } from '../manifest/ports.js';
import type { Cluster, PortSpec } from '../model.js';
import { CLOUDS } from '../model.js';

/**
 * A cluster a policy returned, checked again as if it had been written in a manifest: a policy (above
 * all a module or a REST server) may return anything. The ports go through the same grammar as a
 * manifest's (so they are normalised and merged again), and name and cloud may not change: a policy
 * narrows or labels a cluster, it does not move it.
 */
export function recheckCluster(original: Cluster, returned: unknown): { cluster: Cluster } | { error: string } {
  if (!isMap(returned)) return { error: 'returned a cluster that is not a map' };
  if (returned.name !== original.name) return { error: `renamed cluster ${original.name} to ${JSON.stringify(returned.name)}: policies may not rename clusters` };
  if (returned.cloud !== original.cloud || !(CLOUDS as readonly unknown[]).includes(returned.cloud)) {
    return { error: `moved cluster ${original.name} from cloud ${original.cloud} to ${JSON.stringify(returned.cloud)}: policies may not change a cluster's cloud` };
  }
  if (!isMap(returned.labels) || !Object.values(returned.labels).every((v) => typeof v === 'string')) return { error: 'returned labels that are not a map of strings' };
  if (!Array.isArray(returned.ports)) return { error: 'returned ports that are not a list' };
  const entries: Record<string, unknown>[] = [];
  const positions: PortSpec['at'][] = [];
  for (const spec of returned.ports as unknown[]) {
    if (!isMap(spec)) return { error: `returned a port spec that is not a map: ${JSON.stringify(spec)}` };
    const names = Array.isArray(spec.names) && spec.names.length > 0 ? spec.names : [undefined];
    // A merged spec may carry several service names: one entry per name merges back into one spec.
    for (const name of names) {
      entries.push({
        port: spec.from === spec.to ? spec.from : `${String(spec.from)}-${String(spec.to)}`,
        protocol: spec.protocol,
        public: spec.exposure === 'public' ? true : spec.exposure === 'private' ? false : spec.exposure,
        cidrs: spec.cidrs ?? [],
        ...(name !== undefined ? { name } : {}),
      });
      positions.push(isPosition(spec.at) ? spec.at : original.at);
    }
  }
  const parsed = parsePorts(entries, (path) => positions[path[0] as number] ?? original.at, original.name);
  if (parsed.problems.length > 0) return { error: `returned ports that are not valid: ${parsed.problems.map((p) => p.message).join('; ')}` };
  const target = (returned as Record<string, unknown>)[original.cloud];
  if (!isMap(target)) return { error: `returned a cluster without its ${original.cloud} block` };
  // Everything else (the cloud block, labels) is taken as returned: the renderer and the rendered-object schemas check it.
  const cluster = { name: original.name, cloud: original.cloud, labels: { ...(returned.labels as Record<string, string>) }, ports: parsed.ports, at: original.at, [original.cloud]: target };
  return { cluster: cluster as unknown as Cluster };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPosition(value: unknown): value is PortSpec['at'] {
  return isMap(value) && typeof value.file === 'string' && typeof value.line === 'number' && typeof value.col === 'number';
}
