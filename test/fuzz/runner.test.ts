// The bounded runner the fuzzers rely on: if its watchdog did not fire, a hang would pass as a slow case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PipelineRunner } from './runner.js';

const GOOD = { 'clusters/web.yaml': 'name: web\ncloud: node\nnode: {address: 10.0.0.2}\nresources: {ports: [80]}\n' };

describe('the bounded pipeline runner', () => {
  it('returns the desired state of a case within the bound', async () => {
    const runner = new PipelineRunner();
    try {
      const outcome = await runner.run(GOOD);
      assert.equal(outcome.kind, 'ok');
      assert.deepEqual(outcome.kind === 'ok' && outcome.desired.clusters.map((c) => c.name), ['web']);
    } finally {
      await runner.close();
    }
  });

  it('reports a case over the bound as a hang, ends that worker, and runs the next case in a new one', async () => {
    const runner = new PipelineRunner(20);
    try {
      const labels = Array.from({ length: 60_000 }, (_, i) => `  k${i}: v\n`).join('');
      const slow = await runner.run({ 'clusters/slow.yaml': `name: slow\ncloud: node\nnode: {address: 10.0.0.2}\nlabels:\n${labels}` });
      assert.equal(slow.kind, 'hang');
      assert.ok(slow.ms >= 20 && slow.ms < 5000, `${slow.ms} ms`);
      runner.boundMs = 10_000;
      const next = await runner.run(GOOD);
      assert.equal(next.kind, 'ok');
    } finally {
      await runner.close();
    }
  });
});
