import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { converge, isTransient } from '../../agent/engine/converge.js';
import { guardCloses } from '../../agent/engine/guard.js';
import { portsOf } from '../../agent/engine/ports-of.js';
import { backoffDelay, mapLimit, type RetryDeps } from '../../agent/engine/retry.js';
import type { Resource, ResourceChange } from '../../agent/model.js';
import { ProviderError, type Provider, type ProviderScope } from '../../agent/providers/provider.js';
import { defaultSettings } from '../../agent/manifest/settings.js';

const forward = (name: string, size = 1): Resource => ({ id: `node/c/Forward/${name}`, cloud: 'node', cluster: 'c', kind: 'Forward', name, body: { size, protocol: 'tcp', exposure: 'private' } });
const change = (action: ResourceChange['action'], r: Resource, actual?: Resource): ResourceChange => ({
  action,
  id: r.id,
  cloud: r.cloud,
  cluster: r.cluster,
  kind: r.kind,
  name: r.name,
  ...(action !== 'deleted' ? { desired: r } : {}),
  ...(action !== 'created' ? { actual: actual ?? r } : {}),
});
const scope: ProviderScope = { settings: defaultSettings(), revision: 'test', clusters: [], known: [] };
const instant: RetryDeps = { sleep: async () => {}, random: () => 0.5 };
const options = { concurrency: 3, retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 100 }, deps: instant };

function recordingProvider(fail: (change: ResourceChange, attempt: number) => Error | undefined): Provider & { calls: string[]; inFlight: number; maxInFlight: number } {
  const attempts = new Map<string, number>();
  const p = {
    cloud: 'node' as const,
    calls: [] as string[],
    inFlight: 0,
    maxInFlight: 0,
    observe: async () => [],
    endpoints: () => [],
    async apply(c: ResourceChange) {
      const n = (attempts.get(c.id) ?? 0) + 1;
      attempts.set(c.id, n);
      p.inFlight++;
      p.maxInFlight = Math.max(p.maxInFlight, p.inFlight);
      await new Promise((r) => setTimeout(r, 2));
      p.inFlight--;
      p.calls.push(`${c.action} ${c.name}`);
      const err = fail(c, n);
      if (err) throw err;
    },
  };
  return p;
}

describe('converge', () => {
  it('opens before it closes, never writes unchanged resources, and bounds concurrency', async () => {
    const provider = recordingProvider(() => undefined);
    const changes = [change('deleted', forward('a')), change('unchanged', forward('b')), ...['c', 'd', 'e', 'f', 'g'].map((n) => change('created', forward(n))), change('configured', forward('h'))];
    const outcomes = await converge(changes, provider, scope, options);
    assert.equal(outcomes.length, 7);
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(provider.calls.at(-1), 'deleted a');
    assert.ok(!provider.calls.some((c) => c.endsWith(' b')));
    assert.ok(provider.maxInFlight <= 3 && provider.maxInFlight > 1, `max in flight ${provider.maxInFlight}`);
  });

  it('retries transient failures and isolates permanent ones', async () => {
    const provider = recordingProvider((c, attempt) => {
      if (c.name === 'flaky' && attempt < 3) return new ProviderError('429 Too Many Requests', true);
      if (c.name === 'bad') return new ProviderError('403 Forbidden', false);
      return undefined;
    });
    const outcomes = await converge([change('created', forward('flaky')), change('created', forward('bad')), change('created', forward('fine'))], provider, scope, options);
    const byName = Object.fromEntries(outcomes.map((o) => [o.change.name, o]));
    assert.deepEqual([byName.flaky?.ok, byName.flaky?.attempts], [true, 3]);
    assert.deepEqual([byName.bad?.ok, byName.bad?.attempts], [false, 1]);
    assert.equal(byName.bad?.error, 'Forward/bad create failed: 403 Forbidden');
    assert.equal(byName.fine?.ok, true);
  });

  it('gives up after the attempts run out', async () => {
    const provider = recordingProvider(() => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const [outcome] = await converge([change('created', forward('x'))], provider, scope, options);
    assert.deepEqual([outcome?.ok, outcome?.attempts], [false, 4]);
  });

  it('applies a batch in one call and retries it whole', async () => {
    let calls = 0;
    const provider: Provider = {
      cloud: 'node',
      observe: async () => [],
      endpoints: () => [],
      applyBatch: async (changes) => {
        calls++;
        assert.equal(changes.length, 2);
        if (calls === 1) throw new ProviderError('resource busy', true);
      },
    };
    const outcomes = await converge([change('created', forward('a')), change('deleted', forward('b')), change('unchanged', forward('c'))], provider, scope, options);
    assert.equal(calls, 2);
    assert.ok(outcomes.every((o) => o.ok && o.attempts === 2));
    assert.deepEqual(await converge([change('unchanged', forward('c'))], provider, scope, options), []);
    assert.equal(calls, 2, 'a pass with nothing to change makes no call');
  });
});

describe('retry helpers', () => {
  it('backs off exponentially with full jitter, capped', () => {
    const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(1, policy, () => 1), 100);
    assert.equal(backoffDelay(3, policy, () => 1), 400);
    assert.equal(backoffDelay(8, policy, () => 1), 1000);
    assert.equal(backoffDelay(3, policy, () => 0), 0);
  });

  it('mapLimit keeps results in input order', async () => {
    const out = await mapLimit([30, 10, 20], 2, async (ms, i) => {
      await new Promise((r) => setTimeout(r, ms));
      return i;
    });
    assert.deepEqual(out, [0, 1, 2]);
  });

  it('classifies errors', () => {
    assert.equal(isTransient(new ProviderError('x', true)), true);
    assert.equal(isTransient(new ProviderError('x', false)), false);
    assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })), true);
    assert.equal(isTransient(new Error('bad request')), false);
  });
});

describe('guardCloses', () => {
  const guard = defaultSettings().guard;
  const open = (n: number) => Array.from({ length: n }, (_, i) => forward(`p${i}`));

  it('refuses to close every open port', () => {
    const verdict = guardCloses(open(3).map((r) => change('deleted', r)), portsOf, guard);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /would close all 3 open ports/);
    assert.equal(guardCloses(open(3).map((r) => change('deleted', r)), portsOf, guard, true).allowed, true);
    assert.equal(guardCloses(open(3).map((r) => change('deleted', r)), portsOf, { ...guard, allow_mass_close: true }).allowed, true);
  });

  it('refuses more than the share, counting ports in ranges and shrinking resources', () => {
    const resources = open(10);
    const closeFour = [...resources.slice(0, 4).map((r) => change('deleted', r)), ...resources.slice(4).map((r) => change('unchanged', r))];
    assert.deepEqual(guardCloses(closeFour, portsOf, guard), { allowed: true, open: 10, closing: 4 });
    const shrink = change('configured', forward('p5', 1), forward('p5', 3));
    const closeSeven = [...resources.slice(0, 5).map((r) => change('deleted', r)), shrink, ...resources.slice(6).map((r) => change('unchanged', r))];
    const verdict = guardCloses(closeSeven, portsOf, guard);
    assert.deepEqual([verdict.allowed, verdict.open, verdict.closing], [false, 12, 7]);
    assert.match(verdict.message!, /close 7 of 12 open ports \(58%, more than guard.max_close_share 50%\)/);
    const exactlyHalf = [...resources.slice(0, 5).map((r) => change('deleted', r)), ...resources.slice(5).map((r) => change('unchanged', r))];
    assert.equal(guardCloses(exactlyHalf, portsOf, guard).allowed, true, 'half is not more than half');
  });
});
