import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusTable } from '../../agent/commands/status.js';
import { parseDuration } from '../../agent/commands/run.js';
import { parseListen } from '../../agent/server/http.js';
import type { ClusterStatus } from '../../agent/engine/status.js';

describe('status table', () => {
  const clusters: ClusterStatus[] = [
    {
      name: 'jupyter',
      cloud: 'node',
      target: '10.0.0.2',
      ports: ['tcp/8888', '+tcp/80'],
      state: 'synced',
      endpoints: [
        { cluster: 'jupyter', protocol: 'tcp', ports: '8888', exposure: 'private', address: '10.0.0.2:8888', via: '(node):10001', state: 'ready' },
        { cluster: 'jupyter', protocol: 'tcp', ports: '80', exposure: 'public', address: '203.0.113.9:10002', state: 'ready' },
      ],
      updatedAt: 0,
    },
    { name: 'web', cloud: 'kubernetes', target: 'prod/web', ports: [], state: 'kept', endpoints: [], updatedAt: 0 },
  ];

  it('prints kubectl-style columns, endpoints only when asked', () => {
    assert.equal(
      statusTable(clusters, false),
      ['CLUSTER   CLOUD        ADDRESS    STATE    PORTS', 'jupyter   node         10.0.0.2   synced   tcp/8888,+tcp/80', 'web       kubernetes   prod/web   kept     <none>', ''].join('\n'),
    );
    const wide = statusTable(clusters, true).split('\n');
    assert.match(wide[0]!, /PORTS\s+ENDPOINTS$/);
    assert.match(wide[1]!, /10\.0\.0\.2:8888\/tcp \(via \(node\):10001\),203\.0\.113\.9:10002\/tcp$/);
    assert.match(wide[2]!, /<none>\s+<none>$/);
  });
});

describe('flag parsing', () => {
  it('reads durations and refuses nonsense', () => {
    assert.equal(parseDuration('30s', '--interval'), 30_000);
    assert.equal(parseDuration('5m', '--interval'), 300_000);
    assert.equal(parseDuration('250ms', '--interval'), 250);
    assert.equal(parseDuration('2', '--interval'), 2000);
    assert.throws(() => parseDuration('soon', '--interval'), /--interval soon: expected a duration such as 30s/);
    assert.throws(() => parseDuration('1ms', '--interval'), /too short/);
  });

  it('reads listen addresses', () => {
    assert.deepEqual(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseListen(':9464'), { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(parseListen('9464'), { host: '0.0.0.0', port: 9464 });
    assert.throws(() => parseListen('localhost'), /expected HOST:PORT/);
  });
});
