import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatChange } from '../../agent/engine/change-line.js';
import { planBetween } from '../../agent/engine/diff.js';
import { planText, shortRevision } from '../../agent/engine/plan-text.js';
import type { Plan, PortChange, Problem } from '../../agent/model.js';
import { at, awsCluster, nodeCluster, port } from './helpers.js';

const ML = 'clusters/ml.yaml';

/** A plan that shows every kind of line: close with sources, opens, an exposure change, a target change, a cloud move. */
function representativePlan(problems: Problem[] = []): Plan {
  const base = [
    nodeCluster('jupyter', [port('udp:53', { cidrs: ['10.0.0.0/8'], at: at(ML, 8, 9) }), port('tcp:443', { at: at(ML, 7, 9) }), port('tcp:8888', { at: at(ML, 6, 9) })], { file: ML }),
    nodeCluster('old', [port('tcp:22', { at: at('clusters/old.yaml', 4, 12) })]),
  ];
  const head = [
    nodeCluster(
      'jupyter',
      [port('tcp:8888', { at: at(ML, 6, 9) }), port('+tcp:10020-10040', { at: at(ML, 11, 9) }), port('+tcp:443', { at: at(ML, 12, 9) }), port('tcp:9000', { at: at(ML, 13, 9), cidrs: ['10.1.0.0/16', '10.2.0.0/16'] })],
      { address: '10.0.0.3', file: ML },
    ),
    awsCluster('old', [port('tcp:22', { at: at('clusters/old.yaml', 4, 12) })]),
  ];
  return planBetween({ revision: '1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d', clusters: base }, { revision: '5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e', clusters: head }, problems);
}

describe('planText', () => {
  it('renders a representative plan', () => {
    const problems: Problem[] = [
      { code: 'YAML_SYNTAX', severity: 'error', message: 'a flow sequence is not closed: add `]`', at: at('clusters/web.yaml', 2, 7), cluster: 'web' },
      { code: 'UNKNOWN_KEY', severity: 'warning', message: 'unknown key `prots`', at: at('clusters/db.yaml', 5, 3) },
    ];
    assert.equal(
      planText(representativePlan(problems)),
      [
        'portcullis plan: 1a2b3c4 → 5d6e7f8',
        '',
        '  # jupyter (node)',
        '  - close  udp 53             private  from 10.0.0.0/8  (clusters/ml.yaml:8:9)',
        '  + open   tcp 9000           private  from 10.1.0.0/16,10.2.0.0/16  (clusters/ml.yaml:13:9)',
        '  + open   tcp 10020-10040    PUBLIC  (clusters/ml.yaml:11:9)',
        '  ~ change tcp 443            private → PUBLIC  (clusters/ml.yaml:12:9)',
        '  ~ change tcp 8888           private  node.address 10.0.0.2 → 10.0.0.3  (clusters/ml.yaml:6:9)',
        '',
        '  # old (node)',
        '  - close  tcp 22             private  (clusters/old.yaml:4:12)',
        '',
        '  # old (aws)',
        '  + open   tcp 22             private  (clusters/old.yaml:4:12)',
        '',
        'Problems:',
        '  clusters/web.yaml:2:7: a flow sequence is not closed: add `]`',
        '  clusters/db.yaml:5:3: warning: unknown key `prots`',
        '',
        'Plan: 3 to open, 2 to close, 2 to change.',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing changes, and still ends with the Plan line', () => {
    const cluster = nodeCluster('ml', [port('tcp:22')]);
    const plan = planBetween({ revision: 'working-tree', clusters: [cluster] }, { revision: 'working-tree', clusters: [cluster] });
    assert.equal(planText(plan), 'portcullis plan: working-tree → working-tree\n\nNo changes: the ports match.\n\nPlan: 0 to open, 0 to close, 0 to change.\n');
  });

  it('lists problems after the no-change line', () => {
    const plan = planBetween({ revision: '(none)', clusters: [] }, { revision: 'working-tree', clusters: [] }, [
      { code: 'SCHEMA', severity: 'error', message: 'missing `name`', at: at('clusters/x.yaml', 1, 1) },
    ]);
    assert.equal(planText(plan), 'portcullis plan: (none) → working-tree\n\nNo changes: the ports match.\n\nProblems:\n  clusters/x.yaml:1:1: missing `name`\n\nPlan: 0 to open, 0 to close, 0 to change.\n');
  });
});

describe('shortRevision', () => {
  it('shortens git ids only', () => {
    assert.equal(shortRevision('1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d'), '1a2b3c4');
    assert.equal(shortRevision('working-tree'), 'working-tree');
    assert.equal(shortRevision('main'), 'main');
    assert.equal(shortRevision('(none)'), '(none)');
  });
});

describe('formatChange', () => {
  const base: PortChange = { action: 'open', cluster: 'ml', cloud: 'node', protocol: 'tcp', ports: ['80'], exposure: 'private', cidrs: [] };

  it('is the plan line without its indent', () => {
    assert.equal(formatChange(base), '+ open   tcp 80             private');
    const line = planText(representativePlan()).split('\n').find((l) => l.includes('10020-10040'));
    const change = representativePlan().changes.find((c) => c.ports.includes('10020-10040'));
    assert.ok(change);
    assert.equal(line, `  ${formatChange(change)}`);
  });

  it('keeps a gap after a port list longer than its column', () => {
    assert.equal(formatChange({ ...base, ports: ['80', '443', '8000-8999'] }), '+ open   tcp 80, 443, 8000-8999 private');
  });

  it('shows both sides when the sources change', () => {
    const narrowed: PortChange = { ...base, action: 'change', cidrs: ['10.0.0.0/8'], before: { exposure: 'private', cidrs: [] } };
    assert.equal(formatChange(narrowed), '~ change tcp 80             private → private  from 10.0.0.0/8');
    const opened: PortChange = { ...base, action: 'change', exposure: 'public', before: { exposure: 'private', cidrs: ['10.0.0.0/8'] } };
    assert.equal(formatChange(opened), '~ change tcp 80             private  from 10.0.0.0/8 → PUBLIC');
  });

  it('writes public exposure in capitals for every action', () => {
    for (const action of ['open', 'close'] as const) assert.match(formatChange({ ...base, action, exposure: 'public' }), /\bPUBLIC$/);
  });
});
