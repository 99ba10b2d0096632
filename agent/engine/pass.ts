import type { SettingsSource } from '../manifest/settings.js';
import type { Cloud, Cluster, DesiredState, Problem, Resource, ResourceChange, Settings, Snapshot } from '../model.js';
import type { Provider, ProviderScope } from '../providers/provider.js';
import type { Renderer } from '../render/index.js';
import { converge, DEFAULT_CONVERGE, type ChangeOutcome, type ConvergeOptions } from './converge.js';
import { desiredState } from './desired.js';
import { guardCloses } from './guard.js';
import { portsOf } from './ports-of.js';
import { withLastGood } from './last-good.js';
import { diffResources } from './resource-diff.js';
import type { Trigger } from './scheduler.js';
import { describePort, describeTarget, type ClusterState, type ClusterStatus } from './status.js';

/** Where a pass gets the config repo: fetches when it needs to, never yields a half-fetched tree. */
export interface Source {
  snapshot(): Promise<Snapshot>;
}

/** Why a pass did not converge: one reason per phase, as kustomize-controller names them. */
export type PassReason = 'SourceFailed' | 'ObserveFailed' | 'ConvergeFailed' | 'Guarded';

export interface PassReport {
  triggers: Trigger[];
  revision?: string;
  /** converged: everything matches (some writes may have been needed); failed: something could not be done. */
  result: 'converged' | 'failed' | 'blocked';
  reasons: PassReason[];
  message?: string;
  outcomes: ChangeOutcome[];
  problems: Problem[];
  startedAt: number;
  durationMs: number;
}

export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ReconcilerOptions {
  source: Source;
  renderer: Renderer;
  providers: Partial<Record<Cloud, Provider>>;
  adminSettings?: SettingsSource;
  allowMassClose?: boolean;
  converge?: ConvergeOptions;
  log: Log;
  now?: () => number;
  /** Called once per pass, after status is recorded, whatever happened: metrics hang here. */
  onPass?: (report: PassReport, reconciler: Reconciler) => void;
}

interface GoodCluster {
  cluster: Cluster;
  resources: Resource[];
}

/**
 * One pass: fetch → load → check → render → observe → diff → guard → converge → record. Level-triggered:
 * it compares the whole desired state with the whole observed state, so whatever was missed before is
 * healed now. The scheduler guarantees passes never overlap.
 */
export class Reconciler {
  /** Each cluster's last desired state that loaded cleanly: what a broken manifest keeps. */
  private lastGood = new Map<string, GoodCluster>();
  private lastSettings: Settings | undefined;
  private statuses = new Map<string, ClusterStatus>();
  private observed = new Map<Cloud, Resource[]>();
  private lastReport: PassReport | undefined;
  private lastDesired: DesiredState | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
  }

  get status(): ClusterStatus[] {
    return [...this.statuses.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get report(): PassReport | undefined {
    return this.lastReport;
  }

  get desired(): DesiredState | undefined {
    return this.lastDesired;
  }

  /** What each provider held at the end of the last pass (after its writes). */
  get held(): ReadonlyMap<Cloud, Resource[]> {
    return this.observed;
  }

  async pass(triggers: Trigger[]): Promise<PassReport> {
    const report: PassReport = { triggers, result: 'converged', reasons: [], outcomes: [], problems: [], startedAt: this.now(), durationMs: 0 };
    try {
      await this.run(report);
    } catch (err) {
      report.result = 'failed';
      report.message = `pass failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      report.durationMs = this.now() - report.startedAt;
      if (report.reasons.length > 0 && report.result === 'converged') report.result = 'failed';
      this.lastReport = report;
      this.options.log[report.result === 'converged' ? 'info' : 'warn'](
        {
          revision: report.revision,
          triggers,
          result: report.result,
          reasons: report.reasons,
          changes: report.outcomes.map((o) => `${o.change.action} ${o.change.id}${o.ok ? '' : ' (failed)'}`),
          problems: report.problems.length,
          durationMs: report.durationMs,
        },
        report.message ?? `pass ${report.result}`,
      );
      this.options.onPass?.(report, this);
    }
    return report;
  }

  private async run(report: PassReport): Promise<void> {
    // fetch
    let snapshot: Snapshot;
    try {
      snapshot = await this.options.source.snapshot();
    } catch (err) {
      report.reasons.push('SourceFailed');
      report.message = `cannot read the config repo: ${err instanceof Error ? err.message : String(err)}; ports stay as they are`;
      return;
    }
    report.revision = snapshot.revision;

    // load, check, render
    const desired = desiredState(snapshot, this.options.renderer, this.options.adminSettings ? { adminSettings: this.options.adminSettings } : {});
    this.lastDesired = desired;
    report.problems = desired.problems;
    const settings = desired.settingsOk ? desired.settings : (this.lastSettings ?? desired.settings);
    const previous = [...this.lastGood.values()].map((g) => g.cluster);
    const { clusters, kept } = withLastGood(previous, desired);
    const fresh = new Map(desired.clusters.map((c) => [c.name, c]));
    const resourcesOf = new Map<string, Resource[]>();
    for (const resource of desired.resources) {
      const list = resourcesOf.get(resource.cluster) ?? resourcesOf.set(resource.cluster, []).get(resource.cluster)!;
      list.push(resource);
    }
    for (const name of kept) resourcesOf.set(name, this.lastGood.get(name)?.resources ?? []);

    // observe, diff (per provider, concurrently)
    const hasGoodState = new Set(this.lastGood.keys());
    const clouds = new Set<Cloud>(Object.keys(this.options.providers) as Cloud[]);
    const plans = await Promise.all(
      [...clouds].map(async (cloud) => {
        const provider = this.options.providers[cloud]!;
        const scope: ProviderScope = {
          settings,
          revision: snapshot.revision,
          clusters: clusters.filter((c) => c.cloud === cloud),
          known: [...new Set((this.observed.get(cloud) ?? []).map((r) => r.cluster))],
        };
        let actual: Resource[];
        try {
          actual = await provider.observe(scope);
        } catch (err) {
          return { cloud, provider, scope, error: `${cloud}: cannot observe: ${err instanceof Error ? err.message : String(err)}` };
        }
        let wanted = scope.clusters.flatMap((c) => resourcesOf.get(c.name) ?? []);
        const clusterErrors = new Map<string, string>();
        if (provider.complete) {
          const completed = provider.complete(wanted, actual, scope);
          wanted = completed.resources;
          for (const p of completed.problems) clusterErrors.set(p.cluster, p.message);
        }
        const unread = unreadClusters(actual, scope, hasGoodState, desired);
        wanted = [...wanted, ...actual.filter((r) => unread.includes(r.cluster))];
        return { cloud, provider, scope, actual, changes: diffResources(wanted, actual), clusterErrors, unread };
      }),
    );

    // guard
    const allChanges = plans.flatMap((p) => p.changes ?? []);
    const verdict = guardCloses(allChanges, portsOf, settings.guard, this.options.allowMassClose);
    if (!verdict.allowed) {
      report.result = 'blocked';
      report.reasons.push('Guarded');
      report.message = verdict.message;
    }

    // converge
    const outcomesByCloud = new Map<Cloud, ChangeOutcome[]>();
    await Promise.all(
      plans.map(async (plan) => {
        if (!plan.changes || !verdict.allowed) return;
        const outcomes = await converge(plan.changes, plan.provider, plan.scope, this.options.converge ?? DEFAULT_CONVERGE);
        outcomesByCloud.set(plan.cloud, outcomes);
        report.outcomes.push(...outcomes);
      }),
    );
    if (report.outcomes.some((o) => !o.ok)) report.reasons.push('ConvergeFailed');
    if (plans.some((p) => p.error)) report.reasons.push('ObserveFailed');
    const errors = plans.flatMap((p) => (p.error ? [p.error] : []));
    if (errors.length > 0) report.message = [report.message, ...errors].filter(Boolean).join('; ');

    // record
    if (desired.settingsOk) this.lastSettings = desired.settings;
    for (const cluster of desired.clusters) this.lastGood.set(cluster.name, { cluster, resources: resourcesOf.get(cluster.name) ?? [] });
    const live = new Set(clusters.map((c) => c.name));
    for (const name of this.lastGood.keys()) if (!live.has(name)) this.lastGood.delete(name);

    const problemsOf = (name: string) => desired.problems.filter((p) => p.cluster === name || (this.lastGood.get(name)?.cluster.at.file === p.at.file && p.cluster === undefined));
    const nextStatuses = new Map<string, ClusterStatus>();
    for (const cluster of clusters) {
      const plan = plans.find((p) => p.cloud === cluster.cloud);
      const previousStatus = this.statuses.get(cluster.name);
      let state: ClusterState = 'synced';
      let lastError: string | undefined;
      let revision = previousStatus?.revision;
      let heldNow: Resource[] = [];
      if (!plan) {
        state = 'unavailable';
        lastError = `no ${cluster.cloud} provider runs in this agent`;
      } else if (plan.error) {
        state = 'failed';
        lastError = plan.error;
      } else {
        const outcomes = (outcomesByCloud.get(cluster.cloud) ?? []).filter((o) => o.change.cluster === cluster.name);
        const failed = outcomes.filter((o) => !o.ok);
        heldNow = heldAfter(plan.actual ?? [], outcomes).filter((r) => r.cluster === cluster.name);
        const pending = (plan.changes ?? []).some((c) => c.cluster === cluster.name && c.action !== 'unchanged');
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
          lastError = problemsOf(cluster.name)[0]?.message ?? 'manifest has errors: keeping its last good ports';
        } else {
          revision = snapshot.revision;
        }
      }
      nextStatuses.set(cluster.name, {
        name: cluster.name,
        cloud: cluster.cloud,
        target: describeTarget(cluster),
        ports: cluster.ports.map(describePort),
        state,
        ...(revision ? { revision } : {}),
        ...(lastError ? { lastError } : {}),
        endpoints: plan && !plan.error ? plan.provider.endpoints(cluster, heldNow, plan.scope) : (previousStatus?.endpoints ?? []),
        updatedAt: this.now(),
      });
    }
    for (const plan of plans) {
      for (const name of plan.unread ?? []) {
        const previousStatus = this.statuses.get(name);
        const broken = [...new Set(desired.problems.filter((p) => p.severity === 'error').map((p) => p.at.file))];
        nextStatuses.set(name, {
          name,
          cloud: plan.cloud,
          target: previousStatus?.target ?? '(unknown)',
          ports: previousStatus?.ports ?? [],
          state: 'kept',
          ...(previousStatus?.revision ? { revision: previousStatus.revision } : {}),
          lastError: `no manifest that loads names this cluster, and ${broken.join(', ') || 'its manifest'} has errors: keeping the ports it holds until they load`,
          endpoints: previousStatus?.endpoints ?? [],
          updatedAt: this.now(),
        });
      }
    }
    // A cluster gone from Git whose close the guard refused still has open ports: it stays visible, as blocked.
    if (!verdict.allowed) {
      for (const name of new Set(allChanges.filter((c) => c.action === 'deleted').map((c) => c.cluster))) {
        const previousStatus = this.statuses.get(name);
        if (nextStatuses.has(name) || !previousStatus) continue;
        nextStatuses.set(name, { ...previousStatus, state: 'blocked', ...(verdict.message ? { lastError: verdict.message } : {}), updatedAt: this.now() });
      }
    }
    this.statuses = nextStatuses;
    for (const plan of plans) if (plan.actual) this.observed.set(plan.cloud, heldAfter(plan.actual, outcomesByCloud.get(plan.cloud) ?? []));
  }
}

/**
 * Clusters a provider holds that no manifest of this revision defines, while some manifest (or the
 * settings) failed to load and this agent has no last good state for them, as after a restart: the broken
 * file may well be theirs, and a typo is not an intent to close, so they keep what they hold.
 */
function unreadClusters(actual: readonly Resource[], scope: ProviderScope, hasGoodState: ReadonlySet<string>, desired: DesiredState): string[] {
  const asked = new Set(scope.clusters.map((c) => c.name));
  const unsure = (name: string) => !desired.settingsOk || desired.brokenFiles.length > 0 || desired.brokenClusters.includes(name);
  return [...new Set(actual.map((r) => r.cluster))].filter((name) => !asked.has(name) && !hasGoodState.has(name) && unsure(name)).sort();
}

/** What a provider holds after the pass: the observed resources with the successful changes applied. */
function heldAfter(actual: readonly Resource[], outcomes: readonly ChangeOutcome[]): Resource[] {
  const held = new Map(actual.map((r) => [r.id, r]));
  for (const { change, ok } of outcomes) {
    if (!ok) continue;
    if (change.action === 'deleted') held.delete(change.id);
    else if (change.desired) held.set(change.id, change.desired);
  }
  return [...held.values()];
}

export type { ResourceChange };
