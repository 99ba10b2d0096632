import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffResources, isEqualJson } from '../../agent/engine/resource-diff.js';
import { resource } from './helpers.js';

describe('diffResources', () => {
  it('finds created, deleted, configured and unchanged resources', () => {
    const desired = [
      resource('node/ml/Forward/tcp-8888', { from: 8888, to: 8888 }),
      resource('node/ml/Forward/tcp-22', { from: 22, to: 22, address: '10.0.0.3' }),
      resource('node/ml/Forward/udp-53', { from: 53, to: 53 }),
    ];
    const actual = [
      resource('node/ml/Forward/udp-53', { from: 53, to: 53 }),
      resource('node/ml/Forward/tcp-22', { from: 22, to: 22, address: '10.0.0.2' }),
      resource('node/old/Forward/tcp-80', { from: 80, to: 80 }),
    ];
    const changes = diffResources(desired, actual);
    assert.deepEqual(
      changes.map((c) => `${c.action} ${c.id}`),
      ['deleted node/old/Forward/tcp-80', 'created node/ml/Forward/tcp-8888', 'configured node/ml/Forward/tcp-22', 'unchanged node/ml/Forward/udp-53'],
    );
    const [deleted, created, configured] = changes;
    assert.equal(deleted?.desired, undefined);
    assert.equal(deleted?.actual, actual[2]);
    assert.deepEqual([deleted?.cloud, deleted?.cluster, deleted?.kind, deleted?.name], ['node', 'old', 'Forward', 'tcp-80']);
    assert.equal(created?.actual, undefined);
    assert.equal(created?.desired, desired[0]);
    assert.equal(configured?.desired, desired[1]);
    assert.equal(configured?.actual, actual[1]);
  });

  it('ignores key order in bodies', () => {
    const desired = [resource('aws/ml/SecurityGroup/sg', { name: 'sg', rules: [{ from_port: 22, to_port: 22, cidrs: ['0.0.0.0/0'] }], tags: { a: '1', b: '2' } })];
    const actual = [resource('aws/ml/SecurityGroup/sg', { tags: { b: '2', a: '1' }, rules: [{ cidrs: ['0.0.0.0/0'], to_port: 22, from_port: 22 }], name: 'sg' })];
    assert.deepEqual(diffResources(desired, actual).map((c) => c.action), ['unchanged']);
  });

  it('sorts each action by id', () => {
    const ids = ['node/c/F/x', 'node/a/F/x', 'node/b/F/x'];
    const changes = diffResources(ids.map((id) => resource(id, {})), []);
    assert.deepEqual(changes.map((c) => c.id), ['node/a/F/x', 'node/b/F/x', 'node/c/F/x']);
    const gone = diffResources([], ids.map((id) => resource(id, {})));
    assert.deepEqual(gone.map((c) => `${c.action} ${c.id}`), ['deleted node/a/F/x', 'deleted node/b/F/x', 'deleted node/c/F/x']);
  });

  it('diffs 50,000 resources quickly', () => {
    const make = (i: number, port: number) => resource(`gcp/c${i % 100}/FirewallRule/r${i}`, { allowed: [{ protocol: 'tcp', ports: [String(port)] }], name: `r${i}` });
    const desired = Array.from({ length: 50_000 }, (_, i) => make(i, i % 7 === 0 ? 1 : 2));
    const actual = Array.from({ length: 50_000 }, (_, i) => make(i + 10, 2)).reverse();
    const started = performance.now();
    const changes = diffResources(desired, actual);
    const elapsed = performance.now() - started;
    const count = (action: string) => changes.filter((c) => c.action === action).length;
    assert.equal(count('created'), 10);
    assert.equal(count('deleted'), 10);
    assert.equal(count('configured') + count('unchanged'), 49_990);
    assert.ok(count('configured') > 7000);
    assert.ok(elapsed < 1500, `took ${elapsed} ms`);
  });
});

describe('isEqualJson', () => {
  it('compares objects without regard to key order and arrays in order', () => {
    assert.ok(isEqualJson({ a: 1, b: [1, 2, { c: null }] }, { b: [1, 2, { c: null }], a: 1 }));
    assert.ok(!isEqualJson([1, 2], [2, 1]));
    assert.ok(!isEqualJson({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!isEqualJson({ a: 1, c: 2 }, { a: 1, b: 2 }));
    assert.ok(!isEqualJson({ a: [] }, { a: {} }));
    assert.ok(!isEqualJson({ a: '1' }, { a: 1 }));
    assert.ok(!isEqualJson(null, {}));
    assert.ok(isEqualJson('x', 'x'));
  });

  it('treats a key holding undefined as absent, as JSON does', () => {
    assert.ok(isEqualJson({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(!isEqualJson({ a: undefined }, { a: null }));
  });
});
