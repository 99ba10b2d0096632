import type { Cloud, Cluster, DesiredState, Resource } from '../model.js';
import type { Provider, ProviderScope } from '../providers/provider.js';
import type { ChangeOutcome } from './converge.js';
import type { GuardVerdict } from './guard.js';
import type { ResourceChange } from '../model.js';
import { describePort, describeTarget, type ClusterState, type ClusterStatus } from './status.js';

/** One provider's part of a pass: what it was asked, what it held, what had to change. */
export interface ProviderPlan {
  cloud: Cloud;
  provider: Provider;
  scope: ProviderScope;
  /** Why the provider could not be observed; then nothing else is set. */
  error?: string;
  actual?: Resource[];
  changes?: ResourceChange[];
  /** Clusters the provider could not serve as asked (no free node ports…). */
  clusterErrors?: Map<string, string>;
  /** Clusters it holds that no loadable manifest names while some manifest is broken: kept as they are. */
  unread?: string[];
}

export interface RecordInput {
  revision: string;
  desired: DesiredState;
  /** Every cluster the pass acted on: fresh ones and those kept at their last good state. */
  clusters: Cluster[];
  plans: ProviderPlan[];
  outcomes: ReadonlyMap<Cloud, ChangeOutcome[]>;
  verdict: GuardVerdict;
  previous: ReadonlyMap<string, ClusterStatus>;
  now: number;
}

/** Each cluster's status after a pass. Pure: the pass's findings in, the statuses out. */
export function recordStatuses(input: RecordInput): Map<string, ClusterStatus> {
  const { desired, plans, verdict, previous, now } = input;
  const fresh = new Set(desired.clusters.map((c) => c.name));
  const next = new Map<string, ClusterStatus>();
  // Each plan's resources, outcomes and pending changes by cluster, indexed once: looking them up per
  // cluster in the whole lists made a pass quadratic (1,000 node clusters spent seconds here).
  const indexes = new Map(plans.map((p) => [p.cloud, indexPlan(p, input.outcomes.get(p.cloud) ?? [])]));
  for (const cluster of input.clusters) {
    const plan = plans.find((p) => p.cloud === cluster.cloud);
    const index = indexes.get(cluster.cloud);
    const before = previous.get(cluster.name);
    let state: ClusterState = 'synced';
    let lastError: string | undefined;
    let revision = before?.revision;
    let heldNow: Resource[] = [];
    if (!plan) {
      state = 'unavailable';
      lastError = `no ${cluster.cloud} provider runs in this agent`;
    } else if (plan.error) {
      state = 'failed';
      lastError = plan.error;
    } else {
      const outcomes = index?.outcomes.get(cluster.name) ?? [];
      const failed = outcomes.filter((o) => !o.ok);
      heldNow = heldAfter(index?.actual.get(cluster.name) ?? [], outcomes).filter((r) => r.cluster === cluster.name);
      const pending = index?.pending.has(cluster.name) ?? false;
      if (!verdict.allowed && pending) {
        state = 'blocked';
        lastError = verdict.message;
      } else if (failed.length > 0) {
        state = 'progressing';
        lastError = failed.map((o) => o.error).join('; ');
      } else if (plan.clusterErrors?.has(cluster.name)) {
        state = 'failed';
        lastError = plan.clusterErrors.get(cluster.name);
      } else if (!fresh.has(cluster.name)) {
        state = 'kept';
        lastError = desired.problems.find((p) => p.cluster === cluster.name || (p.cluster === undefined && p.at.file === cluster.at.file))?.message ?? 'manifest has errors: keeping its last good ports';
      } else {
        revision = input.revision;
      }
    }
    next.set(cluster.name, {
      name: cluster.name,
      cloud: cluster.cloud,
      target: describeTarget(cluster),
      ports: cluster.ports.map(describePort),
      state,
      ...(revision ? { revision } : {}),
      ...(lastError ? { lastError } : {}),
      endpoints: plan && !plan.error ? plan.provider.endpoints(cluster, heldNow, plan.scope) : (before?.endpoints ?? []),
      updatedAt: now,
    });
  }
  const broken = [...new Set(desired.problems.filter((p) => p.severity === 'error').map((p) => p.at.file))];
  for (const plan of plans) {
    for (const name of plan.unread ?? []) {
      const before = previous.get(name);
      next.set(name, {
        name,
        cloud: plan.cloud,
        target: before?.target ?? '(unknown)',
        ports: before?.ports ?? [],
        state: 'kept',
        ...(before?.revision ? { revision: before.revision } : {}),
        lastError: `no manifest that loads names this cluster, and ${broken.join(', ') || 'its manifest'} has errors: keeping the ports it holds until they load`,
        endpoints: before?.endpoints ?? [],
        updatedAt: now,
      });
    }
  }
  // A cluster gone from Git whose close the guard refused still has open ports: it stays visible, as blocked.
  if (!verdict.allowed) {
    const refused = new Set(plans.flatMap((p) => p.changes ?? []).filter((c) => c.action === 'deleted').map((c) => c.cluster));
    for (const name of refused) {
      const before = previous.get(name);
      if (next.has(name) || !before) continue;
      next.set(name, { ...before, state: 'blocked', ...(verdict.message ? { lastError: verdict.message } : {}), updatedAt: now });
    }
  }
  return next;
}

interface PlanIndex {
  actual: Map<string, Resource[]>;
  outcomes: Map<string, ChangeOutcome[]>;
  /** Clusters with a change other than `unchanged`. */
  pending: Set<string>;
}

function indexPlan(plan: ProviderPlan, outcomes: readonly ChangeOutcome[]): PlanIndex {
  return {
    actual: groupBy(plan.actual ?? [], (r) => r.cluster),
    outcomes: groupBy(outcomes, (o) => o.change.cluster),
    pending: new Set((plan.changes ?? []).filter((c) => c.action !== 'unchanged').map((c) => c.cluster)),
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** What a provider holds after the pass: the observed resources with the successful changes applied. */
export function heldAfter(actual: readonly Resource[], outcomes: readonly ChangeOutcome[]): Resource[] {
  const held = new Map(actual.map((r) => [r.id, r]));
  for (const { change, ok } of outcomes) {
    if (!ok) continue;
    if (change.action === 'deleted') held.delete(change.id);
    else if (change.desired) held.set(change.id, change.desired);
  }
  return [...held.values()];
}
