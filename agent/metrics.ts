// Every metric portcullis exports, in one place. Names follow Prometheus's rules: the `portcullis_`
// prefix, base units (seconds), `_total` on counters, `_info` on info gauges; state gauges are computed
// from current state at scrape time rather than kept up to date by increments.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PassReport, Reconciler } from './engine/pass.js';
import { openPortsOf } from './engine/ports-of.js';
import type { Cloud } from './model.js';

/** One admin-policy finding, as the policy engine puts it on the pass report. */
export interface ViolationRecord {
  policy: string;
  mode: string;
}

export type RequestResult = 'ok' | 'error';
export type FetchResult = 'ok' | 'error';
/** What became of one webhook delivery. */
export type WebhookResult = 'triggered' | 'ignored' | 'unauthorized' | 'too_large' | 'bad_request' | 'disabled';

export interface Metrics {
  registry: Registry;
  /** Records one pass; call from the reconciler's onPass. */
  recordPass(report: PassReport): void;
  /** One request to a provider's API (an observe, one write, one batch), with how long it took. */
  observeRequest(provider: Cloud, operation: string, result: RequestResult, seconds: number): void;
  /** One `git fetch` (or the first clone) of a remote config repo. */
  observeFetch(result: FetchResult, seconds: number): void;
  /** Admin-policy violations found by a pass. */
  recordViolations(violations: readonly ViolationRecord[]): void;
  observeWebhook(provider: 'github' | 'gitlab', result: WebhookResult): void;
  /** Whether this replica may write: it holds the leader lease, or leader election is off. */
  setLeader(leader: boolean): void;
}

/** ssh, telnet, docker, etcd, mysql, rdp, postgres, vnc, redis, elasticsearch, kubelet, memcached, mongodb: never meant for the internet. */
export const SENSITIVE_TCP_PORTS = [22, 23, 2375, 2379, 3306, 3389, 5432, 5900, 6379, 9200, 10250, 11211, 27017];

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(reconciler: () => Reconciler | undefined): Metrics {
  const registry = new Registry();

  const passes = new Counter({
    name: 'portcullis_passes_total',
    help: 'Passes run, by what triggered them and how they ended (converged, failed, blocked, standby).',
    labelNames: ['trigger', 'result'] as const,
    registers: [registry],
  });
  const passDuration = new Histogram({
    name: 'portcullis_pass_duration_seconds',
    help: 'Time one pass took, from fetch to recorded status.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const changes = new Counter({
    name: 'portcullis_changes_total',
    help: 'Changes applied to providers, by cloud, action (created, configured, deleted) and result (ok, error).',
    labelNames: ['cloud', 'action', 'result'] as const,
    registers: [registry],
  });
  const driftCorrected = new Counter({
    name: 'portcullis_drift_corrected_total',
    help:
      'Changes applied successfully to resources whose desired state from Git was the same as at the previous pass, ' +
      'when that pass converged: the live state had moved away (someone edited, added or deleted it by hand). By cloud and action.',
    labelNames: ['cloud', 'action'] as const,
    registers: [registry],
  });
  const requests = new Counter({
    name: 'portcullis_provider_requests_total',
    help: 'Requests to provider APIs (observe, create, update, delete, batch), by provider, operation and result (ok, error); retries count each attempt.',
    labelNames: ['provider', 'operation', 'result'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'portcullis_provider_request_duration_seconds',
    help: 'Latency of requests to provider APIs, by provider and operation.',
    labelNames: ['provider', 'operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const fetches = new Counter({
    name: 'portcullis_git_fetches_total',
    help: 'Fetches (and first clones) of a remote config repo, by result (ok, error).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const fetchDuration = new Histogram({
    name: 'portcullis_git_fetch_duration_seconds',
    help: 'Time one fetch (or first clone) of a remote config repo took, failed ones included.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const violations = new Counter({
    name: 'portcullis_policy_violations_total',
    help: 'Admin-policy violations found by passes, by policy and mode (enforce, warn, ...).',
    labelNames: ['policy', 'mode'] as const,
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'portcullis_webhook_deliveries_total',
    help: 'Webhook deliveries, by provider (github, gitlab) and result (triggered, ignored, unauthorized, too_large, bad_request, disabled).',
    labelNames: ['provider', 'result'] as const,
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'portcullis_leader',
    help: 'Whether this replica may write (1): it holds the leader lease, or leader election is off. 0 on a standby.',
    registers: [registry],
  });
  leader.set(1);

  new Gauge({
    name: 'portcullis_open_ports',
    help: 'Ports open in resources portcullis holds, by cluster, cloud, protocol and exposure (a range counts each port).',
    labelNames: ['cluster', 'cloud', 'protocol', 'exposure'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, count } of openPortTotals(reconciler())) this.set(labels, count);
    },
  });
  new Gauge({
    name: 'portcullis_public_ports',
    help: 'Ports open to anywhere (0.0.0.0/0 or ::/0) in resources portcullis holds, by cluster, cloud and protocol (a range counts each port).',
    labelNames: ['cluster', 'cloud', 'protocol'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, count } of openPortTotals(reconciler())) {
        if (labels.exposure === 'public') this.set({ cluster: labels.cluster, cloud: labels.cloud, protocol: labels.protocol }, count);
      }
    },
  });
  new Gauge({
    name: 'portcullis_public_sensitive_ports',
    help: `Well-known sensitive ports (${SENSITIVE_TCP_PORTS.join(', ')}; tcp) that a cluster exposes to anywhere, by cluster, cloud, protocol and port (value 1).`,
    labelNames: ['cluster', 'cloud', 'protocol', 'port'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of reconciler()?.status ?? []) {
        for (const e of c.endpoints) {
          if (e.exposure !== 'public' || e.protocol !== 'tcp') continue;
          const [from, to] = e.ports.split('-').map(Number) as [number, number | undefined];
          for (const port of SENSITIVE_TCP_PORTS) if (port >= from && port <= (to ?? from)) this.set({ cluster: c.name, cloud: c.cloud, protocol: e.protocol, port: String(port) }, 1);
        }
      }
    },
  });
  new Gauge({
    name: 'portcullis_applied_revision_info',
    help: 'The config revision of the last pass that read the repo (value 1).',
    labelNames: ['revision'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const revision = reconciler()?.report?.revision;
      if (revision) this.set({ revision }, 1);
    },
  });
  new Gauge({
    name: 'portcullis_manifest_problems',
    help: 'Problems found in the config repo by the last pass, by code.',
    labelNames: ['code'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const p of reconciler()?.report?.problems ?? []) counts.set(p.code, (counts.get(p.code) ?? 0) + 1);
      for (const [code, n] of counts) this.set({ code }, n);
    },
  });
  new Gauge({
    name: 'portcullis_manifests_with_problems',
    help: 'Files of the config repo with at least one problem at the last pass.',
    registers: [registry],
    collect() {
      this.set(new Set((reconciler()?.report?.problems ?? []).map((p) => p.at.file)).size);
    },
  });
  new Gauge({
    name: 'portcullis_clusters',
    help: 'Clusters by state (synced, progressing, failed, kept, blocked, unavailable).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const state of ['synced', 'progressing', 'failed', 'kept', 'blocked', 'unavailable']) this.set({ state }, 0);
      for (const s of reconciler()?.status ?? []) this.inc({ state: s.state });
    },
  });
  const lastSuccess = new Gauge({
    name: 'portcullis_last_successful_pass_timestamp_seconds',
    help: 'When the last pass that converged ended, in seconds since the epoch.',
    registers: [registry],
  });

  const recordViolations = (list: readonly ViolationRecord[]) => {
    for (const v of list) violations.inc({ policy: v.policy, mode: v.mode });
  };
  // Desired bodies by resource id at the previous pass, and whether that pass converged: the baseline
  // drift is measured against.
  let previous: { desired: Map<string, string>; converged: boolean } | undefined;

  return {
    registry,
    recordPass(report) {
      for (const trigger of report.triggers) passes.inc({ trigger, result: report.result });
      passDuration.observe(report.durationMs / 1000);
      for (const o of report.outcomes) changes.inc({ cloud: o.change.cloud, action: o.change.action, result: o.ok ? 'ok' : 'error' });
      if (report.result === 'converged') lastSuccess.set((report.startedAt + report.durationMs) / 1000);
      recordViolations(report.violations);

      const desired = desiredBodies(reconciler());
      if (previous?.converged) {
        for (const o of report.outcomes) {
          if (o.ok && previous.desired.get(o.change.id) === desired.get(o.change.id)) driftCorrected.inc({ cloud: o.change.cloud, action: o.change.action });
        }
      }
      if (report.revision !== undefined) previous = { desired, converged: report.result === 'converged' };
    },
    observeRequest(provider, operation, result, seconds) {
      requests.inc({ provider, operation, result });
      requestDuration.observe({ provider, operation }, seconds);
    },
    observeFetch(result, seconds) {
      fetches.inc({ result });
      fetchDuration.observe(seconds);
    },
    recordViolations,
    observeWebhook(provider, result) {
      webhooks.inc({ provider, result });
    },
    setLeader(isLeader) {
      leader.set(isLeader ? 1 : 0);
    },
  };
}

interface PortTotal {
  labels: { cluster: string; cloud: string; protocol: string; exposure: string };
  count: number;
}

/** Open ports summed per (cluster, cloud, protocol, exposure): a range adds its size, not one series per port. */
function openPortTotals(r: Reconciler | undefined): PortTotal[] {
  const totals = new Map<string, PortTotal>();
  for (const [cloud, resources] of r?.held ?? []) {
    for (const resource of resources) {
      for (const open of openPortsOf(resource)) {
        const labels = { cluster: resource.cluster, cloud, protocol: open.protocol, exposure: open.exposure };
        const key = `${labels.cluster}\0${cloud}\0${open.protocol}\0${open.exposure}`;
        const entry = totals.get(key) ?? totals.set(key, { labels, count: 0 }).get(key)!;
        entry.count += open.count;
      }
    }
  }
  return [...totals.values()];
}

function desiredBodies(r: Reconciler | undefined): Map<string, string> {
  return new Map((r?.desired?.resources ?? []).map((res) => [res.id, JSON.stringify(res.body)]));
}
