import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertGolden } from '../helpers/golden.js';
import { reviewPlan } from './review-fixture.js';

const golden = fileURLToPath(new URL('./golden/plan-review.sarif.json', import.meta.url));

interface Sarif {
  version: string;
  runs: { tool: { driver: { name: string; rules: { id: string }[] } }; results: { ruleId: string; ruleIndex: number; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[] }[] }[];
}

describe('plan --format sarif between two real commits', () => {
  it('matches the golden SARIF log', async () => {
    const { status, out } = await reviewPlan('sarif');
    assertGolden(golden, out.replace(/("name": "portcullis",\s*"version": )"[^"]*"/, '$1"VERSION"'));
    assert.equal(status, 1);
  });

  it('is SARIF 2.1.0 with rule ids policy/rule and the offending line and column', async () => {
    const log = JSON.parse((await reviewPlan('sarif')).out) as Sarif;
    assert.equal(log.version, '2.1.0');
    const run = log.runs[0]!;
    assert.deepEqual(run.results.map((r) => `${r.ruleId} ${r.level} ${r.locations[0]!.physicalLocation.artifactLocation.uri}:${r.locations[0]!.physicalLocation.region.startLine}:${r.locations[0]!.physicalLocation.region.startColumn}`), [
      'deny-public-ports/public-port error clusters/api.yaml:5:23',
      'max-ports/too-many-ports warning clusters/web.yaml:1:1',
    ]);
    for (const r of run.results) assert.equal(run.tool.driver.rules[r.ruleIndex]!.id, r.ruleId);
  });
});
