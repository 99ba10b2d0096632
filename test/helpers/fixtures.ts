import type { Cluster, Exposure, PortSpec, Position, Protocol, Settings } from '../../agent/model.js';

// Cluster and Settings values built directly, for tests of the pure phases.

/** Every Settings field at its documented default: the loader's own defaults, a fresh object each call. */
export { defaultSettings } from '../../agent/manifest/settings.js';

export const position = (file = 'clusters/test.yaml', line = 1, col = 1): Position => ({ file, line, col });

/** A port spec: `spec(8888)`, `spec(10020, 10040)`, `spec(53, 53, { protocol: 'udp', cidrs: [...] })`. Private by default. */
export function spec(from: number, to = from, options: { protocol?: Protocol; exposure?: Exposure; cidrs?: string[]; names?: string[]; line?: number } = {}): PortSpec {
  return {
    protocol: options.protocol ?? 'tcp',
    from,
    to,
    exposure: options.exposure ?? 'private',
    cidrs: options.cidrs ?? [],
    names: options.names ?? [],
    at: position('clusters/test.yaml', options.line ?? 1),
  };
}

export const publicSpec = (from: number, to = from, options: Parameters<typeof spec>[2] = {}): PortSpec => spec(from, to, { ...options, exposure: 'public' });

type Of<C extends Cluster['cloud']> = Extract<Cluster, { cloud: C }>;
interface Common {
  labels?: Record<string, string>;
  ports?: PortSpec[];
}

const base = (name: string, common: Common) => ({ name, labels: common.labels ?? {}, ports: common.ports ?? [], at: position() });

export function kubernetesCluster(name: string, common: Common = {}, target: Partial<Of<'kubernetes'>['kubernetes']> = {}): Of<'kubernetes'> {
  return { ...base(name, common), cloud: 'kubernetes', kubernetes: { namespace: 'default', selector: { 'portcullis.dev/cluster': name }, ...target } };
}

export function awsCluster(name: string, common: Common = {}, target: Partial<Of<'aws'>['aws']> = {}): Of<'aws'> {
  return { ...base(name, common), cloud: 'aws', aws: { region: 'us-east-1', instance_tags: { Name: name }, ...target } };
}

export function gcpCluster(name: string, common: Common = {}, target: Partial<Of<'gcp'>['gcp']> = {}): Of<'gcp'> {
  return { ...base(name, common), cloud: 'gcp', gcp: { project: 'my-project', target_tags: [`portcullis-${name}`], ...target } };
}

export function nodeCluster(name: string, common: Common = {}, target: Partial<Of<'node'>['node']> = {}): Of<'node'> {
  return { ...base(name, common), cloud: 'node', node: { address: '192.168.100.2', ...target } };
}
