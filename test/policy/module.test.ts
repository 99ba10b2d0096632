import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { admittedDesiredState } from '../../agent/engine/desired.js';
import { problemLine } from '../../agent/manifest/format-problem.js';
import { createRenderer } from '../../agent/render/index.js';
import { locateGit, readDirectory, readRevision } from '../../agent/source/index.js';
import { snapshotOf, TempGitRepo } from '../helpers/repo.js';
import { lines, nodeCluster } from './helpers.js';

const renderer = createRenderer();
/** The admin's own --config file: the one place that may name code on the agent's machine. */
const ADMIN_FILE = '/etc/portcullis/config.yaml';
const admin = (text: string) => ({ adminSettings: { file: ADMIN_FILE, text } });
const example = fileURLToPath(new URL('../../policies/examples/require-owner-label.mjs', import.meta.url));

describe('custom module policies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-policy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the example module (absolute path, with settings) rejects and mutates', async () => {
    const config = `admin_policy:\n  - {module: ${example}, owners: [ml]}\n`;
    const state = await admittedDesiredState(
      snapshotOf({ 'clusters/a.yaml': nodeCluster('a', '[80]'), 'clusters/b.yaml': nodeCluster('b', '[80]', 'labels: {owner: ml}\n'), 'clusters/c.yaml': nodeCluster('c', '[80]', 'labels: {owner: web}\n') }),
      renderer,
      admin(config),
    );
    assert.deepEqual(lines(state.violations), [
      '[require-owner-label/missing-owner] cluster a has no owner label: add labels: {owner: TEAM} (clusters/a.yaml:1)',
      "[require-owner-label/unknown-owner] owner 'web' is not one of ml (clusters/c.yaml:1)",
    ]);
    assert.deepEqual(state.clusters.map((c) => c.name), ['b']);
    assert.equal((state.resources[0]!.body.labels as Record<string, string>)['policy.example.com/owner-checked'], 'true');
  });

  it('an async module is awaited, and runs in order with built-ins', async () => {
    const file = join(dir, 'narrow.mjs');
    // Sees the label add-labels put before it; makes every port private.
    writeFileSync(file, `export async function validateAndMutate(request) {\n  await new Promise((r) => setTimeout(r, 5));\n  if (request.cluster.labels.team !== 'platform') throw new Error('ran before add-labels');\n  return { ...request, cluster: { ...request.cluster, ports: request.cluster.ports.map((p) => ({ ...p, exposure: 'private' })) } };\n}\n`);
    const config = `admin_policy:\n  - {name: add-labels, labels: {team: platform}}\n  - ${file}\n  - deny-public-ports\n`;
    const state = await admittedDesiredState(snapshotOf({ 'clusters/a.yaml': nodeCluster('a', '["+tcp:22"]') }), renderer, admin(config));
    assert.deepEqual(state.violations, [], 'deny-public-ports ran after the module made 22 private');
    assert.equal(state.clusters[0]!.ports[0]!.exposure, 'private');
    assert.equal(state.resources[0]!.body.exposure, 'private');
  });

  it('a module without validateAndMutate, or missing, is a problem that fails closed', async () => {
    const file = join(dir, 'empty.mjs');
    writeFileSync(file, 'export const nothing = 1;\n');
    const state = await admittedDesiredState(snapshotOf({ 'clusters/a.yaml': nodeCluster('a', '[80]') }), renderer, admin(`admin_policy: [${file}, ${join(dir, 'gone.mjs')}]\n`));
    assert.deepEqual(state.problems.map((p) => p.message.replaceAll(dir, 'DIR')), [
      'admin policy DIR/empty.mjs: it does not export a function validateAndMutate(request, settings)',
      'admin policy DIR/gone.mjs: module DIR/gone.mjs cannot be read: no such file, or not readable by the agent',
    ]);
    assert.equal(state.settingsOk, false);
    assert.deepEqual(state.clusters, []);
  });
});

describe('policy modules named as packages', () => {
  it('are resolved as portcullis resolves its dependencies: a missing one, and one without the function, are problems', async () => {
    const config = 'admin_policy:\n  - {module: portcullis-no-such-policy}\n  - {module: yaml}\n';
    const state = await admittedDesiredState(snapshotOf({ 'clusters/a.yaml': nodeCluster('a', '[80]') }), renderer, admin(config));
    assert.deepEqual(state.problems.map(problemLine), [
      `${ADMIN_FILE}:2:5: admin policy portcullis-no-such-policy: package 'portcullis-no-such-policy' is not installed where portcullis can import it (npm install it next to portcullis)`,
      `${ADMIN_FILE}:3:5: admin policy yaml: it does not export a function validateAndMutate(request, settings)`,
    ]);
  });
});

describe('the trusted-path rule: policy files inside the config repo', () => {
  const repo = new TempGitRepo();
  after(() => repo.remove());
  const denyAll = "export function validateAndMutate(r) { throw new Error('committed version says no'); }\n";
  const allowAll = 'export function validateAndMutate(r) { return r; }\n';
  const commit = repo.commit('policy in the repo', {
    'config.yaml': 'admin_policy:\n  - {module: ./policies/gate.mjs}\n',
    'policies/gate.mjs': denyAll,
    'clusters/a.yaml': nodeCluster('a', '[80]'),
  });

  it('is refused without --allow-repo-policies, by relative path from the repo or absolute path from the admin', async () => {
    const snapshot = await readRevision((await locateGit(repo.dir))!, commit);
    const state = await admittedDesiredState(snapshot, renderer, { repoDir: repo.dir });
    assert.equal(state.problems.length, 1);
    assert.match(problemLine(state.problems[0]!), /^config\.yaml:2:5: admin policy \.\/policies\/gate\.mjs: module policies\/gate\.mjs is inside the config repo, and policies there are refused.*--allow-repo-policies$/);
    assert.deepEqual(state.clusters, []);
    // Named by the admin by absolute path, it is still a file anyone who can commit may change.
    const withoutRepoPolicy = { ...snapshot, files: new Map([...snapshot.files].filter(([f]) => f !== 'config.yaml')) };
    const again = await admittedDesiredState(withoutRepoPolicy, renderer, { repoDir: repo.dir, ...admin(`admin_policy: ${join(repo.dir, 'policies/gate.mjs')}\n`) });
    assert.match(again.problems[0]!.message, /is inside the config repo/);
  });

  it('with the flag, is read from the revision evaluated, not from the files on disk', async () => {
    repo.write({ 'policies/gate.mjs': allowAll }); // an uncommitted edit that would allow everything
    const loc = (await locateGit(repo.dir))!;
    const atCommit = await admittedDesiredState(await readRevision(loc, commit), renderer, { repoDir: repo.dir, allowRepoPolicies: true });
    assert.deepEqual(lines(atCommit.violations), ['[gate/rejected] committed version says no (clusters/a.yaml:1)']);
    const onDisk = await admittedDesiredState(await readDirectory(repo.dir), renderer, { repoDir: repo.dir, allowRepoPolicies: true });
    assert.deepEqual(onDisk.violations, []);
    assert.deepEqual(onDisk.clusters.map((c) => c.name), ['a']);
  });
});
