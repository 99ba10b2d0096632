import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBetween } from '../../agent/engine/diff.js';
import type { Cluster, PortChange } from '../../agent/model.js';
import { at, awsCluster, kubernetesCluster, nodeCluster, port } from './helpers.js';

function plan(base: Cluster[], head: Cluster[]) {
  return planBetween({ revision: 'a', clusters: base }, { revision: 'b', clusters: head });
}

/** `action protocol ports exposure[ from cidrs][ (was …)][ : reason]`, enough to read a plan at a glance. */
function brief(changes: PortChange[]): string[] {
  return changes.map((c) => {
    const from = c.cidrs.length > 0 ? ` from ${c.cidrs.join(',')}` : '';
    const was = c.before && !c.reason ? ` (was ${c.before.exposure}${c.before.cidrs.length > 0 ? ` from ${c.before.cidrs.join(',')}` : ''})` : '';
    const reason = c.reason ? ` : ${c.reason}` : '';
    return `${c.cluster} ${c.cloud} ${c.action} ${c.protocol} ${c.ports.join(',')} ${c.exposure}${from}${was}${reason}`;
  });
}

describe('planBetween', () => {
  it('opens, closes and changes ports of one cluster', () => {
    const base = nodeCluster('ml', [port('tcp:22'), port('tcp:443'), port('udp:53')]);
    const head = nodeCluster('ml', [port('tcp:22'), port('+tcp:443'), port('tcp:8888')]);
    assert.deepEqual(brief(plan([base], [head]).changes), [
      'ml node close udp 53 private',
      'ml node open tcp 8888 private',
      'ml node change tcp 443 public (was private)',
    ]);
  });

  it('splits overlapping ranges at their boundaries', () => {
    const base = nodeCluster('ml', [port('tcp:10-20')]);
    const head = nodeCluster('ml', [port('tcp:15-25')]);
    assert.deepEqual(brief(plan([base], [head]).changes), ['ml node close tcp 10-14 private', 'ml node open tcp 21-25 private']);
  });

  it('changes only the part of a range whose exposure changed', () => {
    const base = nodeCluster('ml', [port('tcp:1000-2000')]);
    const head = nodeCluster('ml', [port('tcp:1000-1099'), port('+tcp:1100-1199'), port('tcp:1200-2000')]);
    const changes = plan([base], [head]).changes;
    assert.deepEqual(brief(changes), ['ml node change tcp 1100-1199 public (was private)']);
    assert.deepEqual(changes[0]?.before, { exposure: 'private', cidrs: [] });
  });

  it('reports narrowing the sources of a port as a change', () => {
    const base = nodeCluster('ml', [port('udp:53')]);
    const head = nodeCluster('ml', [port('udp:53', { cidrs: ['10.0.0.0/8'] })]);
    assert.deepEqual(brief(plan([base], [head]).changes), ['ml node change udp 53 private from 10.0.0.0/8 (was private)']);
  });

  it('merges neighbouring segments that change the same way and groups equal changes', () => {
    // Two base ranges with equal keys that head drops: one close entry with both ranges, ascending.
    const base = nodeCluster('ml', [port('tcp:5000-5009', { at: at('clusters/ml.yaml', 7) }), port('tcp:5010-5019'), port('tcp:80'), port('tcp:9000')]);
    const head = nodeCluster('ml', [port('tcp:9000')]);
    const changes = plan([base], [head]).changes;
    assert.deepEqual(brief(changes), ['ml node close tcp 80,5000-5019 private']);
    assert.deepEqual(changes[0]?.at, at('clusters/test.yaml', 5, 3), 'the position of the first (lowest) range');
  });

  it('keeps changes with different keys apart', () => {
    const base = nodeCluster('ml', [port('tcp:80'), port('+tcp:81'), port('tcp:82', { cidrs: ['10.0.0.0/8'] })]);
    const changes = plan([base], []).changes;
    assert.deepEqual(brief(changes), ['ml node close tcp 80 private', 'ml node close tcp 81 public', 'ml node close tcp 82 private from 10.0.0.0/8']);
  });

  it('positions opens and changes at head, closes at base', () => {
    const base = nodeCluster('ml', [port('tcp:80', { at: at('clusters/ml.yaml', 3) }), port('tcp:443', { at: at('clusters/ml.yaml', 4) })]);
    const head = nodeCluster('ml', [port('+tcp:443', { at: at('clusters/ml.yaml', 9) }), port('tcp:8080', { at: at('clusters/ml.yaml', 10) })]);
    const lines = plan([base], [head]).changes.map((c) => `${c.action} ${c.at?.line}`);
    assert.deepEqual(lines, ['close 3', 'open 10', 'change 9']);
  });

  it('closes everything on the old cloud and opens everything on the new one when a cluster moves', () => {
    const base = nodeCluster('ml', [port('tcp:22'), port('+tcp:443')]);
    const head = awsCluster('ml', [port('tcp:22'), port('+tcp:443')]);
    assert.deepEqual(brief(plan([base], [head]).changes), [
      'ml node close tcp 22 private',
      'ml node close tcp 443 public',
      'ml aws open tcp 22 private',
      'ml aws open tcp 443 public',
    ]);
  });

  it('changes the kept ports of a cluster whose target changed, saying why', () => {
    const base = nodeCluster('ml', [port('tcp:8888'), port('tcp:22')], { address: '10.0.0.2' });
    const head = nodeCluster('ml', [port('tcp:8888'), port('+tcp:22'), port('tcp:9000')], { address: '10.0.0.3' });
    const changes = plan([base], [head]).changes;
    assert.deepEqual(brief(changes), [
      'ml node open tcp 9000 private',
      'ml node change tcp 22 public (was private)',
      'ml node change tcp 8888 private : node.address 10.0.0.2 → 10.0.0.3',
    ]);
    assert.deepEqual(changes[2]?.before, { exposure: 'private', cidrs: [] }, 'exposure and before are equal');
  });

  it('names every target field that changed, maps compared without regard to key order', () => {
    const base = kubernetesCluster('web', [port('tcp:80')], { namespace: 'web', selector: { app: 'web', tier: 'front' } });
    const same = kubernetesCluster('web', [port('tcp:80')], { namespace: 'web', selector: { tier: 'front', app: 'web' } });
    assert.deepEqual(plan([base], [same]).changes, []);
    const moved = kubernetesCluster('web', [port('tcp:80')], { namespace: 'web2', selector: { app: 'web2' } });
    assert.deepEqual(plan([base], [moved]).changes.map((c) => c.reason), ['kubernetes.namespace web → web2, kubernetes.selector app=web,tier=front → app=web2']);
  });

  it('opens every port of a new cluster and closes every port of a removed one', () => {
    const gone = nodeCluster('old', [port('tcp:22'), port('udp:53')]);
    const added = kubernetesCluster('web', [port('+tcp:443')]);
    const result = plan([gone], [added]);
    assert.deepEqual(brief(result.changes), ['old node close tcp 22 private', 'old node close udp 53 private', 'web kubernetes open tcp 443 public']);
    assert.deepEqual(result.summary, { open: 1, close: 2, change: 0 });
  });

  it('orders by cluster, then close/open/change, then protocol, then first port', () => {
    const base = [nodeCluster('b', [port('udp:5'), port('tcp:7'), port('tcp:3')]), nodeCluster('a', [port('tcp:1')])];
    const head = [nodeCluster('b', [port('+tcp:3'), port('tcp:100'), port('udp:99')]), nodeCluster('a', [port('tcp:2')])];
    const result = plan(base, head);
    assert.deepEqual(brief(result.changes), [
      'a node close tcp 1 private',
      'a node open tcp 2 private',
      'b node close tcp 7 private',
      'b node close udp 5 private',
      'b node open tcp 100 private',
      'b node open udp 99 private',
      'b node change tcp 3 public (was private)',
    ]);
    assert.deepEqual(result.summary, { open: 3, close: 3, change: 1 });
    assert.equal(result.base, 'a');
    assert.equal(result.head, 'b');
  });

  it('has no changes when nothing moved, and carries the problems it is given', () => {
    const cluster = nodeCluster('ml', [port('tcp:1-65535'), port('udp:53')]);
    const problem = { code: 'SCHEMA' as const, severity: 'error' as const, message: 'x', at: at('clusters/y.yaml', 2, 1) };
    const result = planBetween({ revision: 'a', clusters: [cluster] }, { revision: 'b', clusters: [cluster] }, [problem]);
    assert.deepEqual(result.changes, []);
    assert.deepEqual(result.summary, { open: 0, close: 0, change: 0 });
    assert.deepEqual(result.problems, [problem]);
  });

  it('handles whole-port-space ranges without expanding them', () => {
    const many = Array.from({ length: 2000 }, (_, i) => port(`tcp:${i * 30 + 1}-${i * 30 + 20}`));
    const base = [nodeCluster('big', [port('tcp:1-65535'), port('udp:1-65535')]), nodeCluster('many', many)];
    const head = [nodeCluster('big', [port('tcp:1-1023'), port('+tcp:1024-65535')]), nodeCluster('many', [port('tcp:1-65535')])];
    const started = performance.now();
    const result = plan(base, head);
    const elapsed = performance.now() - started;
    assert.deepEqual(brief(result.changes.filter((c) => c.cluster === 'big')), ['big node close udp 1-65535 private', 'big node change tcp 1024-65535 public (was private)']);
    const opened = result.changes.find((c) => c.cluster === 'many');
    assert.equal(opened?.ports.length, 2000, 'the gaps between the 2000 ranges open');
    assert.equal(opened?.ports[0], '21-30');
    assert.equal(opened?.ports.at(-1), '59991-65535');
    assert.ok(elapsed < 500, `took ${elapsed} ms`);
  });

  it('keeps the first range when a side has overlapping specs', () => {
    const base = nodeCluster('ml', []);
    const head = nodeCluster('ml', [port('tcp:10-20'), port('+tcp:15-30')]);
    assert.deepEqual(brief(plan([base], [head]).changes), ['ml node open tcp 10-20 private', 'ml node open tcp 21-30 public']);
  });
});
