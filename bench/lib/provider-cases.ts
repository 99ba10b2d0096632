// The providers bench/providers measures, each as the tests drive it: the real SDK client against the
// wire-level fake (or moto behind the counting proxy), nftables in network namespaces, userspace on
// 127.0.0.1. Each case counts its writes where they land: at the fake, the proxy, or nft transactions.
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { KubernetesProvider } from '../../agent/providers/kubernetes/index.js';
import { NodeProvider } from '../../agent/providers/node/index.js';
import { createNftablesBackend } from '../../agent/providers/node/nftables.js';
import { createUserspaceBackend } from '../../agent/providers/node/userspace.js';
import { startComputeFake } from '../../test/fakes/compute/server.js';
import { startKubeApiserver } from '../../test/fakes/kube-apiserver/index.js';
import { freePortRange } from '../../test/helpers/agent-fixture.js';
import { ADDRESSES, createTopology } from '../../test/helpers/netns.js';
import { awsProvider, makeVpc, runInstances, SETTINGS as AWS_SETTINGS, startWorld } from '../../test/providers/aws/world.js';
import { gcpProvider } from '../../test/providers/gcp/helpers.js';
import type { Counter, ProviderCase } from './provider-run.js';

export type CaseName = 'kubernetes-loadbalancer' | 'kubernetes-ingress' | 'aws' | 'gcp' | 'node-nftables' | 'node-userspace';
export const CASES: readonly CaseName[] = ['kubernetes-loadbalancer', 'kubernetes-ingress', 'aws', 'gcp', 'node-nftables', 'node-userspace'];

const body = (name: string, cloud: string, block: string, ports: string) => `name: ${name}\ncloud: ${cloud}\n${block}\nresources:\n  ports: ${ports}\n`;

export async function startCase(name: CaseName, clusters: number): Promise<ProviderCase> {
  switch (name) {
    case 'kubernetes-loadbalancer':
    case 'kubernetes-ingress':
      return kubernetesCase(name === 'kubernetes-ingress' ? 'ingress' : 'loadbalancer');
    case 'aws':
      return awsCase(clusters);
    case 'gcp':
      return gcpCase();
    case 'node-nftables':
    case 'node-userspace':
      return nodeCase(name === 'node-nftables' ? 'nftables' : 'userspace', clusters);
  }
}

async function kubernetesCase(mode: 'loadbalancer' | 'ingress'): Promise<ProviderCase> {
  const fake = await startKubeApiserver();
  fake.createNamespace('bench');
  const provider = new KubernetesProvider({ kubeConfig: fake.kubeConfig() });
  return {
    label: `kubernetes ${mode}`,
    cloud: 'kubernetes',
    provider,
    counter: { writes: () => fake.writes().length, requests: () => fake.requests.length, clear: () => fake.clearRequests() },
    manifest: (n, ports) => body(n, 'kubernetes', `kubernetes: {namespace: bench, selector: {app: ${n}}}`, ports),
    settings: `kubernetes:\n  ports: ${mode}\n  ingress: {class: nginx, host: ports.example.com}\n`,
    close: async () => {
      await provider.close();
      await fake.close();
    },
  };
}

async function awsCase(clusters: number): Promise<ProviderCase> {
  const world = await startWorld();
  try {
    // One instance per cluster, tagged Name=cN by the admin client (straight to moto, not counted).
    const vpc = await makeVpc(world, 'bench');
    const ids = await runInstances(world, vpc, clusters);
    for (const [i, id] of ids.entries()) await world.admin().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'Name', Value: `c${i}` }] }));
  } catch (err) {
    await world.stop();
    throw err;
  }
  const provider = awsProvider(world);
  return {
    label: 'aws (moto)',
    cloud: 'aws',
    provider,
    counter: { writes: () => world.proxy.totalWrites(), requests: () => world.proxy.requests.length, clear: () => world.proxy.clear() },
    manifest: (n, ports) => body(n, 'aws', `aws: {region: us-east-1, vpc: bench, instance_tags: {Name: ${n}}}`, ports),
    settings: AWS_SETTINGS,
    close: async () => {
      await provider.close();
      await world.stop();
    },
  };
}

async function gcpCase(): Promise<ProviderCase> {
  const fake = await startComputeFake();
  const provider = gcpProvider(fake);
  return {
    label: 'gcp (fake)',
    cloud: 'gcp',
    provider,
    counter: { writes: () => fake.writes().length, requests: () => fake.requests.length, clear: () => fake.resetCounts() },
    manifest: (n, ports) => body(n, 'gcp', 'gcp: {project: bench-project}', ports),
    close: async () => {
      await provider.close();
      await fake.close();
    },
  };
}

async function nodeCase(kind: 'nftables' | 'userspace', clusters: number): Promise<ProviderCase> {
  const net = kind === 'nftables' ? await createTopology() : undefined;
  // Three forwards per cluster at most (8080, 8443, 9090), with room to spare.
  const range = kind === 'nftables' ? { from: 20000, to: 29999 } : await freePortRange(clusters * 3 + 10);
  const backend = net ? createNftablesBackend({ netns: net.node.name }) : createUserspaceBackend({ listenHost: '127.0.0.1' });
  const provider = new NodeProvider(backend);
  let base = 0;
  const counter: Counter = { writes: () => backend.transactions - base, requests: () => undefined, clear: () => void (base = backend.transactions) };
  const address = net ? ADDRESSES.instance : '127.0.0.1';
  return {
    label: `node ${kind}`,
    cloud: 'node',
    provider,
    counter,
    manifest: (n, ports) => body(n, 'node', `node: {address: ${address}}`, ports),
    settings: `node: {port_range: ${range.from}-${range.to}}\n`,
    close: async () => {
      await provider.close();
      await net?.destroy();
    },
  };
}
