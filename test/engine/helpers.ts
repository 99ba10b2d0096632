import type { Cluster, Exposure, PortSpec, Position, Protocol, Resource } from '../../agent/model.js';

export function at(file: string, line = 1, col = 1): Position {
  return { file, line, col };
}

/** A port spec from the short form `tcp:8888`, `udp:10-20`, `+tcp:443` (public). */
export function port(text: string, options: { cidrs?: string[]; at?: Position } = {}): PortSpec {
  const match = /^(\+?)(tcp|udp):(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) throw new Error(`bad port in a test: ${text}`);
  const from = Number(match[3]);
  const exposure: Exposure = match[1] === '+' ? 'public' : 'private';
  return { protocol: match[2] as Protocol, from, to: match[4] === undefined ? from : Number(match[4]), exposure, cidrs: options.cidrs ?? [], names: [], at: options.at ?? at('clusters/test.yaml', 5, 3) };
}

export function nodeCluster(name: string, ports: PortSpec[], options: { address?: string; file?: string } = {}): Cluster {
  return { name, cloud: 'node', node: { address: options.address ?? '10.0.0.2' }, labels: {}, ports, at: at(options.file ?? `clusters/${name}.yaml`) };
}

export function kubernetesCluster(name: string, ports: PortSpec[], options: { namespace?: string; selector?: Record<string, string> } = {}): Cluster {
  return {
    name,
    cloud: 'kubernetes',
    kubernetes: { namespace: options.namespace ?? 'default', selector: options.selector ?? { 'portcullis.dev/cluster': name } },
    labels: {},
    ports,
    at: at(`clusters/${name}.yaml`),
  };
}

export function awsCluster(name: string, ports: PortSpec[], region = 'us-east-1'): Cluster {
  return { name, cloud: 'aws', aws: { region, instance_ids: ['i-0123'] }, labels: {}, ports, at: at(`clusters/${name}.yaml`) };
}

export function resource(id: string, body: Resource['body']): Resource {
  const [cloud, cluster, kind, name] = id.split('/') as [Resource['cloud'], string, string, string];
  return { id, cloud, cluster, kind, name, body };
}
