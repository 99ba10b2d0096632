import type { SettingsSource } from '../manifest/settings.js';
import type { Cloud, Cluster, DesiredState, Problem, Resource, ResourceChange, Settings, Snapshot, Violation } from '../model.js';
import type { Provider, ProviderScope } from '../providers/provider.js';
import type { Renderer } from '../render/index.js';
import { converge, DEFAULT_CONVERGE, isTransient, type ChangeOutcome, type ConvergeOptions } from './converge.js';
import { withRetry } from './retry.js';
import { admittedDesiredState, policyChainOf } from './desired.js';
import { auditLive } from '../policy/audit.js';
import type { LoaderOptions } from '../policy/loader.js';
import { guardCloses, type GuardVerdict } from './guard.js';
import { portsOf } from './ports-of.js';
import { withLastGood } from './last-good.js';
import { diffResources } from './resource-diff.js';
import type { Trigger } from './scheduler.js';
import { heldAfter, recordStatuses, type ProviderPlan } from './record.js';
import type { ClusterStatus } from './status.js';

/** Where a pass gets the config repo: fetches when it needs to, never yields a half-fetched tree. */
export interface Source {
  snapshot(): Promise<Snapshot>;
}

/** Why a pass did not converge: one reason per phase, as kustomize-controller names them. */
export type PassReason = 'SourceFailed' | 'ObserveFailed' | 'ConvergeFailed' | 'Guarded';

export interface PassReport {
  triggers: Trigger[];
  revision?: string;
  /**
   * converged: everything matches (some writes may have been needed); failed: something could not be done;
   * standby: a replica without the leader lease observed and diffed, and wrote nothing.
   */
  result: 'converged' | 'failed' | 'blocked' | 'standby';
  reasons: PassReason[];
  message?: string;
  outcomes: ChangeOutcome[];
  /** What a pass that may not write (standby) would have changed. */
  pending?: ResourceChange[];
  problems: Problem[];
  /** Admin-policy violations of the revision applied, every mode: `portcullis_policy_violations_total{policy,mode}` counts these. */
  violations: Violation[];
  /** Violations the live audit found in what providers hold, when an audit ran in this pass (see auditIntervalMs). */
  audit?: Violation[];
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
  /**
   * Called after load with the clouds the clusters use, before any provider is observed: an agent that
   * starts providers on demand adds them to `providers` here.
   */
  onClouds?: (clouds: ReadonlySet<Cloud>) => Promise<void>;
  /**
   * Whether this replica may write now (it holds the leader lease). Asked before the converge phase and,
   * through converge, right before every write: a lost lease stops writing at once. Default: always.
   */
  canWrite?: () => boolean;
  /** Called once per pass, after status is recorded, whatever happened: metrics hang here. */
  onPass?: (report: PassReport, reconciler: Reconciler) => void;
  /** Where module policies come from, and whether the config repo may hold them (`--allow-repo-policies`). */
  policies?: LoaderOptions;
  /** Run the admin policies over what providers hold at most this often (`--audit-interval`); never when absent. */
  auditIntervalMs?: number;
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
  private lastAuditAt = Number.NEGATIVE_INFINITY;
  private lastAuditFound: Violation[] | undefined;
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
    const report: PassReport = { triggers, result: 'converged', reasons: [], outcomes: [], problems: [], violations: [], startedAt: this.now(), durationMs: 0 };
    try {
      await this.run(report);
    } catch (err) {
      report.result = 'failed';
      report.message = `pass failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      report.durationMs = this.now() - report.startedAt;
      if (report.reasons.length > 0 && (report.result === 'converged' || report.result === 'standby')) report.result = 'failed';
      this.lastReport = report;
      const done = report.outcomes.filter((o) => o.ok);
      const count = (action: string) => done.filter((o) => o.change.action === action).length;
      this.options.log[report.result === 'converged' || report.result === 'standby' ? 'info' : 'warn'](
        {
          revision: report.revision,
          trigger: triggers.join(','),
          result: report.result,
          opened: count('created'),
          closed: count('deleted'),
          changed: count('configured'),
          reasons: report.reasons,
          changes: report.outcomes.map((o) => `${o.change.action} ${o.change.id}${o.ok ? '' : ' (failed)'}`),
          problems: report.problems.length,
          violations: report.violations.length,
          ...(report.audit ? { audited: report.audit.length } : {}),
          durationMs: report.durationMs,
        },
        report.message ?? `pass ${report.result}`,
      );
      this.options.onPass?.(report, this);
    }
    return report;
  }

  private async run(report: PassReport): Promise<void> {
    const snapshot = await this.fetch(report);
    if (!snapshot) return;
    const { desired, settings, clusters, resourcesOf } = await this.load(snapshot, report);
    await this.options.onClouds?.(new Set(clusters.map((c) => c.cloud)));
    const plans = await Promise.all(Object.values(this.options.providers).map((provider) => this.observeAndDiff(provider, snapshot.revision, desired, settings, clusters, resourcesOf)));
    await this.audit(snapshot, desired, plans, report);
    const verdict = this.guard(plans, settings, report);
    const outcomes = await this.converge(plans, verdict, report);
    this.record(snapshot.revision, desired, clusters, resourcesOf, plans, outcomes, verdict);
  }

  private async fetch(report: PassReport): Promise<Snapshot | undefined> {
    try {
      const snapshot = await this.options.source.snapshot();
      report.revision = snapshot.revision;
      return snapshot;
    } catch (err) {
      report.reasons.push('SourceFailed');
      report.message = `cannot read the config repo: ${err instanceof Error ? err.message : String(err)}; ports stay as they are`;
      return undefined;
    }
  }

  /** load, check, render; then what a broken manifest keeps from the last good state. */
  private async load(snapshot: Snapshot, report: PassReport) {
    const desired = await admittedDesiredState(snapshot, this.options.renderer, { ...this.desiredOptions(), purpose: 'apply' });
    report.violations = desired.violations ?? [];
    this.lastDesired = desired;
    report.problems = desired.problems;
    const settings = desired.settingsOk ? desired.settings : (this.lastSettings ?? desired.settings);
    const { clusters, kept } = withLastGood(
      [...this.lastGood.values()].map((g) => g.cluster),
      desired,
    );
    const resourcesOf = new Map<string, Resource[]>();
    for (const resource of desired.resources) {
      const list = resourcesOf.get(resource.cluster) ?? resourcesOf.set(resource.cluster, []).get(resource.cluster)!;
      list.push(resource);
    }
    for (const name of kept) resourcesOf.set(name, this.lastGood.get(name)?.resources ?? []);
    return { desired, settings, clusters, resourcesOf };
  }

  private desiredOptions() {
    return { ...(this.options.adminSettings ? { adminSettings: this.options.adminSettings } : {}), ...this.options.policies };
  }

  /** The admin policies over what the providers hold, every auditIntervalMs: a port opened by hand on an owned object is found. */
  private async audit(snapshot: Snapshot, desired: DesiredState, plans: ProviderPlan[], report: PassReport): Promise<void> {
    const every = this.options.auditIntervalMs;
    if (every === undefined || !desired.settingsOk || this.now() - this.lastAuditAt < every) return;
    this.lastAuditAt = this.now();
    const { chain } = await policyChainOf(snapshot, this.desiredOptions());
    report.audit = await auditLive(chain, plans.flatMap((p) => p.actual ?? []), desired.clusters, desired.settings, snapshot.revision);
    this.lastAuditFound = report.audit;
  }

  /** What the last live audit found; undefined before the first one. */
  get audited(): Violation[] | undefined {
    return this.lastAuditFound;
  }

  private async observeAndDiff(provider: Provider, revision: string, desired: DesiredState, settings: Settings, clusters: Cluster[], resourcesOf: Map<string, Resource[]>): Promise<ProviderPlan> {
    const cloud = provider.cloud;
    const scope: ProviderScope = {
      settings,
      revision,
      clusters: clusters.filter((c) => c.cloud === cloud),
      known: [...new Set((this.observed.get(cloud) ?? []).map((r) => r.cluster))],
    };
    // A throttled or timed-out read is tried again within the pass, as writes are: one 429 on a list call
    // should not cost a whole resync interval.
    const { retry, deps } = this.options.converge ?? DEFAULT_CONVERGE;
    const observed = await withRetry(() => provider.observe(scope), isTransient, { ...retry, attempts: Math.min(retry.attempts, 3) }, deps);
    if (!observed.ok) {
      const err = observed.error;
      return { cloud, provider, scope, error: `${cloud}: cannot observe: ${err instanceof Error ? err.message : String(err)}` };
    }
    const actual: Resource[] = observed.value;
    let wanted = scope.clusters.flatMap((c) => resourcesOf.get(c.name) ?? []);
    const clusterErrors = new Map<string, string>();
    if (provider.complete) {
      const completed = provider.complete(wanted, actual, scope);
      wanted = completed.resources;
      for (const p of completed.problems) clusterErrors.set(p.cluster, p.message);
    }
    const unread = unreadClusters(actual, scope, new Set(this.lastGood.keys()), desired);
    wanted = [...wanted, ...actual.filter((r) => unread.includes(r.cluster))];
    return { cloud, provider, scope, actual, changes: diffResources(wanted, actual), clusterErrors, unread };
  }

  private guard(plans: ProviderPlan[], settings: Settings, report: PassReport): GuardVerdict {
    const verdict = guardCloses(
      plans.flatMap((p) => p.changes ?? []),
      portsOf,
      settings.guard,
      this.options.allowMassClose,
    );
    if (!verdict.allowed) {
      report.result = 'blocked';
      report.reasons.push('Guarded');
      report.message = verdict.message;
    }
    return verdict;
  }

  private async converge(plans: ProviderPlan[], verdict: GuardVerdict, report: PassReport): Promise<Map<Cloud, ChangeOutcome[]>> {
    const outcomes = new Map<Cloud, ChangeOutcome[]>();
    const canWrite = this.options.canWrite;
    if (canWrite && !canWrite()) {
      if (report.result === 'converged') report.result = 'standby';
      report.pending = plans.flatMap((plan) => (plan.changes ?? []).filter((c) => c.action !== 'unchanged'));
    } else {
      await Promise.all(
        plans.map(async (plan) => {
          if (!plan.changes || !verdict.allowed) return;
          const done = await converge(plan.changes, plan.provider, plan.scope, this.options.converge ?? DEFAULT_CONVERGE, canWrite);
          outcomes.set(plan.cloud, done);
          report.outcomes.push(...done);
        }),
      );
    }
    if (report.outcomes.some((o) => !o.ok)) report.reasons.push('ConvergeFailed');
    const errors = plans.flatMap((p) => (p.error ? [p.error] : []));
    if (errors.length > 0) {
      report.reasons.push('ObserveFailed');
      report.message = [report.message, ...errors].filter(Boolean).join('; ');
    }
    return outcomes;
  }

  private record(revision: string, desired: DesiredState, clusters: Cluster[], resourcesOf: Map<string, Resource[]>, plans: ProviderPlan[], outcomes: Map<Cloud, ChangeOutcome[]>, verdict: GuardVerdict): void {
    if (desired.settingsOk) this.lastSettings = desired.settings;
    for (const cluster of desired.clusters) this.lastGood.set(cluster.name, { cluster, resources: resourcesOf.get(cluster.name) ?? [] });
    const live = new Set(clusters.map((c) => c.name));
    for (const name of this.lastGood.keys()) if (!live.has(name)) this.lastGood.delete(name);
    this.statuses = recordStatuses({ revision, desired, clusters, plans, outcomes, verdict, previous: this.statuses, now: this.now() });
    for (const plan of plans) if (plan.actual) this.observed.set(plan.cloud, heldAfter(plan.actual, outcomes.get(plan.cloud) ?? []));
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

export type { ResourceChange };
