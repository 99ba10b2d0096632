// The write gate inside converge: leadership is asked right before every write and every retry, so a
// lease lost in the middle of a pass stops the writes still to come.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { converge } from '../../agent/engine/converge.js';
import type { ResourceChange } from '../../agent/model.js';
import { ProviderError, type Provider, type ProviderScope } from '../../agent/providers/provider.js';
import { fastConverge } from '../helpers/agent-fixture.js';

const change = (name: string, action: ResourceChange['action'] = 'created'): ResourceChange => ({ action, id: `node/web/Forward/${name}`, cloud: 'node', cluster: 'web', kind: 'Forward', name });
const scope = {} as ProviderScope;

describe('converge asks canWrite before every write', () => {
  it('one change at a time: the writes after the lease is lost are skipped and say why', async () => {
    const written: string[] = [];
    let leader = true;
    const provider: Provider = {
      cloud: 'node',
      observe: async () => [],
      endpoints: () => [],
      apply: async (c) => {
        written.push(c.name);
        leader = false; // the lease is lost while this write is in flight
      },
    };
    const outcomes = await converge([change('a'), change('b'), change('c', 'deleted')], provider, scope, { ...fastConverge, concurrency: 1 }, () => leader);
    assert.deepEqual(written, ['a']);
    assert.deepEqual(
      outcomes.map((o) => [o.change.name, o.ok, o.attempts]),
      [
        ['a', true, 1],
        ['b', false, 1],
        ['c', false, 1],
      ],
    );
    assert.equal(outcomes[1]!.error, 'Forward/b create failed: this replica lost the leader lease: another one writes now');
  });

  it('a retry after a transient failure is not sent once the lease is gone', async () => {
    let calls = 0;
    let leader = true;
    const provider: Provider = {
      cloud: 'node',
      observe: async () => [],
      endpoints: () => [],
      applyBatch: async () => {
        calls++;
        leader = false;
        throw new ProviderError('throttled', true);
      },
    };
    const outcomes = await converge([change('a'), change('b')], provider, scope, fastConverge, () => leader);
    assert.equal(calls, 1, 'no retry without the lease');
    assert.deepEqual(outcomes.map((o) => o.ok), [false, false]);
  });
});
