// Every metric portcullis exports, in one place. Names follow Prometheus's rules: the `portcullis_`
// prefix, base units (seconds), `_total` on counters, `_info` on info gauges; state gauges are computed
// from current state at scrape time rather than kept up to date by increments.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PassReport, Reconciler } from './engine/pass.js';
import { openPortsOf } from './engine/ports-of.js';

export interface Metrics {
  registry: Registry;
  /** Records one pass; call from the reconciler's onPass. */
  recordPass(report: PassReport): void;
}

export function createMetrics(reconciler: () => Reconciler | undefined): Metrics {
  const registry = new Registry();

  const passes = new Counter({
    name: 'portcullis_passes_total',
    help: 'Passes run, by what triggered them and how they ended (converged, failed, blocked).',
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
  new Gauge({
    name: 'portcullis_open_ports',
    help: 'Ports open in resources portcullis holds, by cluster, cloud, protocol and exposure (a range counts each port).',
    labelNames: ['cluster', 'cloud', 'protocol', 'exposure'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const r = reconciler();
      if (!r) return;
      const totals = new Map<string, { labels: { cluster: string; cloud: string; protocol: string; exposure: string }; count: number }>();
      for (const [cloud, resources] of r.held) {
        for (const resource of resources) {
          for (const open of openPortsOf(resource)) {
            const labels = { cluster: resource.cluster, cloud, protocol: open.protocol, exposure: open.exposure };
            const key = `${labels.cluster}\0${cloud}\0${open.protocol}\0${open.exposure}`;
            const entry = totals.get(key) ?? totals.set(key, { labels, count: 0 }).get(key)!;
            entry.count += open.count;
          }
        }
      }
      for (const { labels, count } of totals.values()) this.set(labels, count);
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

  return {
    registry,
    recordPass(report) {
      for (const trigger of report.triggers) passes.inc({ trigger, result: report.result });
      passDuration.observe(report.durationMs / 1000);
      for (const o of report.outcomes) changes.inc({ cloud: o.change.cloud, action: o.change.action, result: o.ok ? 'ok' : 'error' });
      if (report.result === 'converged') lastSuccess.set((report.startedAt + report.durationMs) / 1000);
    },
  };
}
