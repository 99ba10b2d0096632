import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBetween } from '../../agent/engine/diff.js';
import { planJson } from '../../agent/engine/plan-json.js';
import type { Problem } from '../../agent/model.js';
import { at, nodeCluster, port } from './helpers.js';

const problem: Problem = { code: 'PORT_SYNTAX', severity: 'error', message: 'not a port', at: at('clusters/web.yaml', 3, 5), cluster: 'web' };

function samplePlan() {
  const base = [nodeCluster('ml', [port('tcp:22', { at: at('clusters/ml.yaml', 4, 3) }), port('tcp:443', { at: at('clusters/ml.yaml', 5, 3) })])];
  const head = [nodeCluster('ml', [port('+tcp:443', { at: at('clusters/ml.yaml', 5, 3) }), port('udp:53', { cidrs: ['10.0.0.0/8'], at: at('clusters/ml.yaml', 6, 3) })], { address: '10.0.0.9' })];
  return planBetween({ revision: 'abc', clusters: base }, { revision: 'def', clusters: head }, [problem]);
}

describe('planJson', () => {
  const text = planJson(samplePlan());

  it('prints the DESIGN.md shape', () => {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['summary', 'base', 'head', 'changes', 'problems']);
    assert.deepEqual(parsed.summary, { open: 1, close: 1, change: 1 });
    assert.equal(parsed.base, 'abc');
    assert.equal(parsed.head, 'def');
    assert.deepEqual(parsed.changes, [
      { action: 'close', cluster: 'ml', cloud: 'node', protocol: 'tcp', ports: ['22'], exposure: 'private', cidrs: [], at: { file: 'clusters/ml.yaml', line: 4, col: 3 } },
      { action: 'open', cluster: 'ml', cloud: 'node', protocol: 'udp', ports: ['53'], exposure: 'private', cidrs: ['10.0.0.0/8'], at: { file: 'clusters/ml.yaml', line: 6, col: 3 } },
      {
        action: 'change',
        cluster: 'ml',
        cloud: 'node',
        protocol: 'tcp',
        ports: ['443'],
        exposure: 'public',
        cidrs: [],
        before: { exposure: 'private', cidrs: [] },
        at: { file: 'clusters/ml.yaml', line: 5, col: 3 },
      },
    ]);
    assert.deepEqual(parsed.problems, [{ code: 'PORT_SYNTAX', severity: 'error', message: 'not a port', file: 'clusters/web.yaml', line: 3, col: 5, cluster: 'web' }]);
  });

  it('keeps a stable key order, 2-space indent and a final newline', () => {
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.startsWith('{\n  "summary": {\n    "open": 1,\n    "close": 1,\n    "change": 1\n  },\n  "base": "abc",'));
    const change = (JSON.parse(text) as { changes: object[] }).changes[2]!;
    assert.deepEqual(Object.keys(change), ['action', 'cluster', 'cloud', 'protocol', 'ports', 'exposure', 'cidrs', 'before', 'at']);
    assert.equal(planJson(samplePlan()), text, 'the same plan prints the same bytes');
  });

  it('includes the reason of a target change', () => {
    const base = [nodeCluster('ml', [port('tcp:22')], { address: '10.0.0.2' })];
    const head = [nodeCluster('ml', [port('tcp:22')], { address: '10.0.0.3' })];
    const parsed = JSON.parse(planJson(planBetween({ revision: 'a', clusters: base }, { revision: 'b', clusters: head }))) as { changes: { reason?: string }[] };
    assert.equal(parsed.changes[0]?.reason, 'node.address 10.0.0.2 → 10.0.0.3');
  });

  it('prints empty lists when nothing changes', () => {
    const parsed = JSON.parse(planJson(planBetween({ revision: 'a', clusters: [] }, { revision: 'b', clusters: [] }))) as Record<string, unknown>;
    assert.deepEqual(parsed, { summary: { open: 0, close: 0, change: 0 }, base: 'a', head: 'b', changes: [], problems: [] });
  });
});
