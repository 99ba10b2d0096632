// The alert rules and the Grafana dashboard: promtool checks and unit-tests the rules, parses every
// dashboard query, and every metric either names must be one the agent exports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createMetrics } from '../../agent/metrics.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const rules = join(root, 'deploy/prometheus/portcullis-rules.yaml');
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/portcullis.json'), 'utf8')) as {
  uid: string;
  title: string;
  panels: { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string }[] }[];
};

function promtool(args: string[], cwd = root): { status: number; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool cannot run (${result.error.message}): install Debian's prometheus package (.ci/run does)`);
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/** Metric families the agent exports, by name. */
const exported = async () => new Set((await createMetrics(() => undefined).registry.getMetricsAsJSON()).map((m) => m.name));
const metricNames = (expr: string) => [...expr.matchAll(/\bportcullis_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const check = promtool(['check', 'rules', rules]);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /SUCCESS: 5 rules found/);
  });

  it('pass their unit tests (promtool test rules): each alert fires when it should and not otherwise', () => {
    const test = promtool(['test', 'rules', 'portcullis-rules.test.yaml'], join(root, 'deploy/prometheus'));
    assert.equal(test.status, 0, test.output);
    assert.match(test.output, /SUCCESS/);
  });

  it('cover the five failure modes, on metrics the agent exports', async () => {
    const doc = parse(readFileSync(rules, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const all = doc.groups.flatMap((g) => g.rules);
    assert.deepEqual(all.map((r) => r.alert), ['PortcullisPassesFailing', 'PortcullisSyncStale', 'PortcullisPublicSensitivePort', 'PortcullisDriftRepeating', 'PortcullisWebhookFailures']);
    const names = await exported();
    for (const rule of all) for (const name of metricNames(rule.expr)) assert.ok(names.has(name), `${rule.alert} uses ${name}, which the agent does not export`);
  });
});

describe('Grafana dashboard', () => {
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('has a uid, unique panel ids, and panels that do not overlap', () => {
    assert.equal(dashboard.uid, 'portcullis');
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`;
          assert.equal(cells.get(key), undefined, `${p.title} overlaps ${cells.get(key)} at ${key}`);
          cells.set(key, p.title);
        }
      }
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} is wider than the grid`);
    }
  });

  it('shows open ports by cluster and exposure, public ports, pass results and latency, drift, errors and the revision', () => {
    const uses = (metric: string) => queries.some((q) => q.expr.includes(metric));
    for (const metric of ['portcullis_open_ports', 'portcullis_public_ports', 'portcullis_passes_total', 'portcullis_pass_duration_seconds_bucket', 'portcullis_drift_corrected_total', 'portcullis_provider_requests_total', 'portcullis_git_fetches_total', 'portcullis_applied_revision_info']) {
      assert.ok(uses(metric), `no panel shows ${metric}`);
    }
    assert.ok(queries.some((q) => /sum by \(cluster, exposure\) \(portcullis_open_ports/.test(q.expr)));
  });

  it('queries only metrics the agent exports, in PromQL that Prometheus parses', async () => {
    const names = await exported();
    for (const q of queries) for (const name of metricNames(q.expr)) assert.ok(names.has(name), `panel "${q.panel}" uses ${name}, which the agent does not export`);
    // promtool parses recording rules: one per query, with Grafana's variables filled in.
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-dashboard-'));
    try {
      const file = join(dir, 'queries.yaml');
      const recorded = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', 'portcullis') }));
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: recorded }] }));
      const check = promtool(['check', 'rules', file]);
      assert.equal(check.status, 0, check.output);
      assert.match(check.output, new RegExp(`SUCCESS: ${queries.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
