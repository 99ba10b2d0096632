import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Log } from '../engine/pass.js';
import { LeaseElector, type LeaseElectorOptions } from './lease.js';

export { LEASE_DEFAULTS, LeaseElector, type LeaseElectorOptions } from './lease.js';

export interface LeaderElection {
  isLeader(): boolean;
  /** Stops renewing and hands the lease over. */
  stop(): Promise<void>;
}

export interface LeaderElectionOptions {
  /** Default: POD_NAMESPACE, else the service account's namespace, else `default`. */
  namespace?: string;
  /** Default `portcullis`. */
  name?: string;
  log: Log;
  onChange(leader: boolean): void;
  kubeConfig?: KubeConfig;
  timing?: Pick<LeaseElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Who this replica is: its pod name (unique in the namespace), else the host name plus a random suffix, so two processes on one host never share an identity. */
export function leaderIdentity(): string {
  return process.env.POD_NAME || `${hostname()}_${randomUUID().slice(0, 8)}`;
}

function defaultNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

/** Leader election for `run --leader-elect`: the kubeconfig in the pod (or KUBECONFIG), a Lease in the agent's namespace. */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const kubeConfig = options.kubeConfig ?? new KubeConfig();
  if (!options.kubeConfig) kubeConfig.loadFromDefault();
  const namespace = options.namespace ?? defaultNamespace();
  const name = options.name ?? 'portcullis';
  const identity = leaderIdentity();
  let lastError = '';
  const elector = new LeaseElector(kubeConfig, {
    namespace,
    name,
    identity,
    ...options.timing,
    onChange: (leader) => {
      options.log.info({ leader, identity, lease: `${namespace}/${name}` }, leader ? 'leader election: this replica leads and writes' : 'leader election: standby, not writing');
      options.onChange(leader);
    },
    onError: (err) => {
      // One line per distinct failure, not one per retry period.
      if (err.message === lastError) return;
      lastError = err.message;
      options.log.warn({ identity, lease: `${namespace}/${name}`, error: err.message }, 'leader election: cannot reach the Lease; check the API server and the Role allowing leases get/create/update');
    },
  });
  // Standby until the Lease says otherwise: the metric and status must not claim leadership meanwhile.
  options.onChange(false);
  elector.start();
  return { isLeader: () => elector.isLeader(), stop: () => elector.stop() };
}
