import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { desiredState } from './engine/desired.js';
import { Reconciler, type PassReport } from './engine/pass.js';
import { type Trigger } from './engine/scheduler.js';
import type { SettingsSource } from './manifest/settings.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Cloud, NodeBackend as NodeBackendSetting } from './model.js';
import { instrumentProvider } from './providers/instrument.js';
import { NodeProvider, type NodeBackend } from './providers/node/index.js';
import { acquireHostLock } from './providers/node/host-lock.js';
import { createNftablesBackend, nftablesAvailable } from './providers/node/nftables.js';
import { createUserspaceBackend } from './providers/node/userspace.js';
import type { Provider } from './providers/provider.js';
import type { LoaderOptions } from './policy/loader.js';
import { createRenderer } from './render/index.js';
import { openRepoSource, type RepoSource } from './source/repo-source.js';

export interface AgentOptions {
  repo: string;
  branch?: string;
  path?: string;
  cacheDir?: string;
  adminSettings?: SettingsSource;
  templates?: string;
  allowMassClose?: boolean;
  /** Clouds this agent serves from the start; clusters on others are shown as unavailable. Default: each cloud as manifests name it. */
  clouds?: Cloud[];
  nodeBackend?: NodeBackendSetting;
  /** Where the userspace backend listens. */
  nodeListen?: string;
  /** Run nft in this network namespace (an agent managing a namespace it does not run in). */
  nftNetns?: string;
  /** Called when a provider sees someone change what portcullis holds (a watch event). */
  onDrift?: (cloud: Cloud, why: string) => void;
  /** Whether this replica may write now (leader election); default always. */
  canWrite?: () => boolean;
  /** Observe and diff only, never write (plan --live, audit): takes no host lock, so it runs beside the agent. */
  readOnly?: boolean;
  /** Admin policies: module loading (`--allow-repo-policies`) and the live audit interval (`--audit-interval`). */
  policies?: LoaderOptions;
  auditIntervalMs?: number;
  log: Logger;
}

/** Everything one agent process needs, wired once: the source, the providers, the reconciler, its metrics. */
export interface Agent {
  source: RepoSource;
  reconciler: Reconciler;
  metrics: Metrics;
  providers: Partial<Record<Cloud, Provider>>;
  pass(triggers: Trigger[]): Promise<PassReport>;
  close(): Promise<void>;
}

export const DEFAULT_CACHE_DIR = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'portcullis');

export async function createAgent(options: AgentOptions): Promise<Agent> {
  let reconciler: Reconciler | undefined;
  const metrics = createMetrics(() => reconciler);
  const source = await openRepoSource({
    repo: options.repo,
    cacheDir: options.cacheDir ?? DEFAULT_CACHE_DIR,
    onFetch: (result, seconds) => metrics.observeFetch(result, seconds),
    ...(options.branch ? { branch: options.branch } : {}),
    ...(options.path ? { path: options.path } : {}),
  });
  const renderer = createRenderer({ templatesDir: options.templates });
  const providers: Partial<Record<Cloud, Provider>> = {};
  const stopWatches: (() => void)[] = [];
  const start = async (cloud: Cloud): Promise<Provider> => {
    const provider = instrumentProvider(await make(cloud), metrics.observeRequest);
    const onDrift = options.onDrift;
    const stop = onDrift && provider.watch?.((why) => onDrift(cloud, why));
    if (stop) stopWatches.push(stop);
    return provider;
  };
  const make = async (cloud: Cloud): Promise<Provider> => {
    switch (cloud) {
      case 'node':
        return new NodeProvider(await chooseNodeBackend(options, source));
      // Each cloud SDK takes a second or more to import: only an agent that serves the cloud pays for it.
      case 'kubernetes':
        return new (await import('./providers/kubernetes/index.js')).KubernetesProvider();
      case 'aws':
        return (await import('./providers/aws/index.js')).createAwsProvider();
      case 'gcp':
        return (await import('./providers/gcp/index.js')).createGcpProvider();
    }
  };
  // Named clouds are served from the start, so what they hold is closed even when Git no longer names
  // the cloud. Without --clouds, a provider starts when a manifest first names its cloud.
  for (const cloud of options.clouds ?? []) providers[cloud] = await start(cloud);
  const onClouds = options.clouds
    ? undefined
    : async (wanted: ReadonlySet<Cloud>) => {
        for (const cloud of wanted) if (!providers[cloud]) providers[cloud] = await start(cloud);
      };

  reconciler = new Reconciler({
    source,
    renderer,
    providers,
    ...(options.adminSettings ? { adminSettings: options.adminSettings } : {}),
    allowMassClose: options.allowMassClose ?? false,
    log: options.log,
    ...(onClouds ? { onClouds } : {}),
    ...(options.readOnly ? { canWrite: () => false } : options.canWrite ? { canWrite: options.canWrite } : {}),
    ...(options.policies ? { policies: options.policies } : {}),
    ...(options.auditIntervalMs !== undefined ? { auditIntervalMs: options.auditIntervalMs } : {}),
    onPass: (report) => metrics.recordPass(report),
  });
  const ready = reconciler;
  return {
    source,
    reconciler: ready,
    metrics,
    providers,
    pass: (triggers) => ready.pass(triggers),
    close: async () => {
      for (const stop of stopWatches) stop();
      await Promise.all(Object.values(providers).map((p) => p.close?.()));
    },
  };
}

/** `node.backend` from the flag, else from the repo's settings at start; `auto` takes nftables when it can. */
async function chooseNodeBackend(options: AgentOptions, source: RepoSource): Promise<NodeBackend> {
  let wanted = options.nodeBackend;
  if (!wanted) {
    const snapshot = await source.snapshot().catch(() => undefined);
    wanted = snapshot ? desiredState(snapshot, createRenderer({ templatesDir: options.templates }), options.adminSettings ? { adminSettings: options.adminSettings } : {}).settings.node.backend : 'auto';
  }
  const userspace = () => createUserspaceBackend(options.nodeListen ? { listenHost: options.nodeListen } : {});
  if (wanted === 'userspace') return userspace();
  const nftOptions = options.nftNetns ? { netns: options.nftNetns } : {};
  const available = await nftablesAvailable(nftOptions);
  if (available.ok) {
    const where = options.nftNetns ? ` in network namespace ${options.nftNetns}` : '';
    if (!options.readOnly) acquireHostLock(`nftables-${options.nftNetns ?? 'host'}-portcullis`, `the nftables table inet portcullis${where}`);
    return createNftablesBackend(nftOptions);
  }
  if (wanted === 'nftables') throw new Error(`node.backend is nftables but nftables cannot be used here: ${available.reason}`);
  options.log.info({ reason: available.reason }, 'node.backend auto: nftables is not available, forwarding in userspace');
  return userspace();
}
