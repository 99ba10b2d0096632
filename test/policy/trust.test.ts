// What the watched repo's config.yaml may make the agent run. Anyone who can commit writes that file, so
// it must never reach code elsewhere on the agent's machine, nor send cluster data in clear to another host.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { admittedDesiredState } from '../../agent/engine/desired.js';
import { createRenderer } from '../../agent/render/index.js';
import { snapshotOf } from '../helpers/repo.js';
import { nodeCluster } from './helpers.js';

describe('policies the config repo may name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-trust-'));
  const repoDir = join(dir, 'repo');
  mkdirSync(repoDir);
  // A module outside the repo that records that it ran: it must never be imported from the repo's word.
  const evil = join(dir, 'evil.mjs');
  const ran = join(dir, 'ran');
  writeFileSync(evil, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(ran)}, 'imported');\nexport function validateAndMutate(r) { return r; }\n`);
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fromRepo = async (entry: string, allowRepoPolicies = false) =>
    admittedDesiredState(snapshotOf({ 'config.yaml': `admin_policy:\n  - ${entry}\n`, 'clusters/a.yaml': nodeCluster('a', '[80]') }), createRenderer(), { repoDir, ...(allowRepoPolicies ? { allowRepoPolicies } : {}) });

  for (const [what, entry] of [
    ['a ../ path out of the repo', '{module: ../evil.mjs}'],
    ['an absolute path', `{module: ${evil}}`],
    ['a bare absolute path', evil],
    ['a package name', '{module: yaml}'],
  ] as const) {
    it(`refuses ${what}, even with --allow-repo-policies, and trusts no cluster`, async () => {
      const state = await fromRepo(entry, true);
      assert.equal(state.problems.length, 1, JSON.stringify(state.problems));
      assert.match(state.problems[0]!.message, /only the admin's --config file may name a module|leaves the config repo/);
      assert.equal(state.problems[0]!.at.file, 'config.yaml');
      assert.deepEqual(state.clusters, [], 'a policy that cannot be loaded fails closed');
      assert.equal(existsSync(ran), false, 'the module outside the repo was never imported');
    });
  }

  it('refuses plain http to another host, and takes https or this machine', async () => {
    const clear = await fromRepo('http://policy.example.com/admit');
    assert.match(clear.problems[0]?.message ?? '', /must be https/);
    for (const ok of ['https://policy.example.com/admit', 'http://127.0.0.1:1/admit']) {
      const state = await fromRepo(`{url: "${ok}", timeout: 0.2}`);
      assert.doesNotMatch(state.problems.map((p) => p.message).join('\n'), /must be https/, ok);
    }
  });

  it('lets the admin name a module anywhere on the machine', async () => {
    const state = await admittedDesiredState(snapshotOf({ 'clusters/a.yaml': nodeCluster('a', '[80]') }), createRenderer(), { repoDir, adminSettings: { file: '/etc/portcullis/config.yaml', text: `admin_policy: ${evil}\n` } });
    assert.deepEqual(state.problems, []);
    assert.deepEqual(state.clusters.map((c) => c.name), ['a']);
    assert.equal(existsSync(ran), true);
  });
});
