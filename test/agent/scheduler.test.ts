import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassScheduler, type Trigger } from '../../agent/engine/scheduler.js';

describe('PassScheduler', () => {
  it('never runs two passes at once and coalesces a storm into one more pass', async () => {
    let running = 0;
    let maxRunning = 0;
    const passes: Trigger[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const scheduler = new PassScheduler(async (triggers) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      passes.push(triggers);
      if (passes.length === 1) await gate;
      running--;
    });
    const first = scheduler.request('startup');
    const storm = Array.from({ length: 100 }, (_, i) => scheduler.request(i % 2 ? 'webhook' : 'watch'));
    release();
    await Promise.all([first, ...storm]);
    assert.equal(maxRunning, 1);
    assert.equal(passes.length, 2, 'one pass for the first trigger, one for the hundred that came during it');
    assert.deepEqual(passes[1]!.sort(), ['watch', 'webhook']);
  });

  it('resolves a request only after a pass that started after it', async () => {
    const seen: number[] = [];
    let counter = 0;
    const scheduler = new PassScheduler(async () => {
      const n = ++counter;
      await new Promise((r) => setTimeout(r, 5));
      seen.push(n);
    });
    void scheduler.request('poll');
    await new Promise((r) => setTimeout(r, 1));
    await scheduler.request('api'); // arrives during pass 1: must wait for pass 2
    assert.deepEqual(seen, [1, 2]);
  });

  it('keeps going after a pass throws, and stops taking passes once stopped', async () => {
    let calls = 0;
    const scheduler = new PassScheduler(async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
    });
    await scheduler.request('startup');
    await scheduler.request('poll');
    assert.equal(calls, 2);
    await scheduler.stop();
    await scheduler.request('poll');
    assert.equal(calls, 2);
  });
});
