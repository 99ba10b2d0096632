import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { PLAN_COMMENT_MARKER } from '../../agent/engine/plan-markdown.js';
import { runCli } from '../helpers/cli.js';
import { TempGitRepo } from '../helpers/repo.js';

// The review path as a user meets it: the real command line over real commits, and the CI workflow we ship.
const node = (name: string, ports: string, extra = '') => `name: ${name}\ncloud: node\nnode: {address: 10.0.0.2}\n${extra}resources:\n  ports: ${ports}\n`;

describe('pull-request review (e2e)', () => {
  const repo = new TempGitRepo();
  after(() => repo.remove());
  const base = repo.commit('base', {
    // Order matters: a public database port is denied before the narrowing policy could make it acceptable.
    'config.yaml': 'admin_policy:\n  - deny-public-ports\n  - {name: require-public-cidrs, cidrs: [203.0.113.0/24], narrow: true}\n  - {name: add-labels, labels: {team: platform}}\n',
    'clusters/web.yaml': node('web', '[8888]'),
  });
  repo.git('update-ref', 'refs/remotes/origin/main', base);
  const head = repo.commit('head', { 'clusters/web.yaml': node('web', '[8888, "+tcp:443"]'), 'clusters/db.yaml': node('db', '["+tcp:5432"]') });

  it('plan --format json carries the mutation (443 narrowed by a policy) and the violations; exit 1 on the denial', () => {
    const result = runCli(['plan', '--repo', repo.dir, '--base', base, '--head', head, '--format', 'json']);
    assert.equal(result.status, 1, result.stderr);
    const plan = JSON.parse(result.stdout) as { summary: object; changes: { cluster: string; ports: string[]; exposure: string; cidrs: string[] }[]; problems: { code: string }[]; violations: { policy: string; rule: string; mode: string; cluster: string; port: string; file: string; line: number }[] };
    assert.deepEqual(plan.summary, { open: 1, close: 0, change: 0 });
    assert.deepEqual(plan.changes.map((c) => `${c.cluster} ${c.ports.join(',')} ${c.exposure} ${c.cidrs.join(',')}`), ['web 443 public 203.0.113.0/24']);
    assert.deepEqual(plan.violations.map((v) => `${v.policy}/${v.rule} ${v.mode} ${v.cluster} ${v.port} ${v.file}:${v.line}`), ['deny-public-ports/public-port enforce db 5432 clusters/db.yaml:5']);
    assert.deepEqual(plan.problems.map((p) => p.code), ['POLICY_DENIED']);
  });

  it('render shows what the policies changed: labels added, a public port narrowed', () => {
    const result = runCli(['render', '--repo', repo.dir, '--rev', head, '--cluster', 'web', '--format', 'json']);
    assert.equal(result.status, 0, result.stderr);
    const resources = JSON.parse(result.stdout) as { body: { port?: number; from?: number; sources: string[]; labels: Record<string, string> } }[];
    const public443 = resources.find((r) => r.body.from === 443)!;
    assert.deepEqual(public443.body.sources, ['203.0.113.0/24']);
    assert.equal(public443.body.labels.team, 'platform');
  });

  it('an enforce denial: exit 1, the violation in text and markdown, the cluster keeps its ports', () => {
    const denied = repo.commit('deny', { 'config.yaml': 'admin_policy: deny-public-ports\n', 'clusters/web.yaml': node('web', '["+tcp:22"]') });
    const text = runCli(['plan', '--repo', repo.dir, '--base', head, '--head', denied]);
    assert.equal(text.status, 1);
    assert.match(text.stderr, /clusters\/web\.yaml:5:11: \[deny-public-ports\/public-port\] port 22\/tcp of cluster web is open to anywhere/);
    assert.match(text.stderr, /note: cluster 'web' keeps its current ports until its manifest is fixed/);
    const markdown = runCli(['plan', '--repo', repo.dir, '--base', head, '--head', denied, '--format', 'markdown']);
    assert.equal(markdown.status, 1);
    assert.match(markdown.stdout, /\| ❌ denied \| `deny-public-ports\/public-port` \| web \|/);
  });

  it('validate refuses a policy module committed to the repo unless --allow-repo-policies', () => {
    const rev = repo.commit('repo policy', {
      'config.yaml': 'admin_policy:\n  - {module: ./policies/no-udp.mjs}\n',
      'policies/no-udp.mjs': "export function validateAndMutate(r) { if (r.cluster.ports.some((p) => p.protocol === 'udp')) throw new Error('no UDP here'); return r; }\n",
      'clusters/web.yaml': node('web', '["udp:53"]'),
      'clusters/db.yaml': null,
    });
    const refused = runCli(['validate', '--repo', repo.dir, '--rev', rev]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /config\.yaml:2:5: admin policy \.\/policies\/no-udp\.mjs: module policies\/no-udp\.mjs is inside the config repo/);
    const allowed = runCli(['validate', '--repo', repo.dir, '--rev', rev, '--allow-repo-policies']);
    assert.equal(allowed.status, 1);
    assert.match(allowed.stderr, /clusters\/web\.yaml:1:1: \[no-udp\/rejected\] no UDP here/);
  });
});

describe('the CI workflow in deploy/github', () => {
  const file = fileURLToPath(new URL('../../deploy/github/portcullis-plan.yml', import.meta.url));
  const workflow = parse(readFileSync(file, 'utf8')) as { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, { steps: { name?: string; uses?: string; run?: string; with?: Record<string, string> }[] }> };
  const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);

  it('runs on pull requests with the permissions to comment and upload SARIF', () => {
    assert.ok('pull_request' in workflow.on);
    assert.equal(workflow.permissions['pull-requests'], 'write');
    assert.equal(workflow.permissions['security-events'], 'write');
    assert.ok(steps.some((s) => s.uses?.startsWith('github/codeql-action/upload-sarif@')));
    const script = steps.find((s) => s.uses?.startsWith('actions/github-script@'))!.with!.script!;
    assert.ok(script.includes(`'${PLAN_COMMENT_MARKER}'`), 'finds its comment by the marker plan --format markdown writes');
    assert.match(script, /updateComment[\s\S]*createComment/);
  });

  it('its portcullis commands run as written against a repo with origin/main', (t) => {
    const repo = new TempGitRepo();
    t.after(() => repo.remove());
    repo.git('update-ref', 'refs/remotes/origin/main', repo.commit('base', { 'clusters/web.yaml': node('web', '[8888]') }));
    repo.commit('head', { 'clusters/web.yaml': node('web', '[8888, "+tcp:443"]') });
    const commands = steps.flatMap((s) => (s.run ?? '').split('\n')).map((l) => l.trim()).filter((l) => l.startsWith('npx portcullis '));
    assert.deepEqual(commands.map((c) => c.split(' ').find((w) => w.startsWith('markdown') || w.startsWith('sarif')) ?? c.match(/--format (\w+)/)?.[1]), ['markdown', 'sarif']);
    for (const command of commands) {
      const args = command
        .replace('npx portcullis ', '')
        .replace('"$CONFIG_DIR"', repo.dir)
        .replace('${{ github.base_ref }}', 'main')
        .replace(/\s*>.*$/, '')
        .split(/\s+/);
      const result = runCli(args);
      assert.equal(result.status, 0, `${command}: ${result.stderr}`);
      if (args.includes('markdown')) assert.ok(result.stdout.startsWith(`${PLAN_COMMENT_MARKER}\n`));
      else assert.equal((JSON.parse(result.stdout) as { version: string }).version, '2.1.0');
    }
  });
});
