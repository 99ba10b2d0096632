import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { TempGitRepo } from '../helpers/repo.js';

// Two revisions of a config repo committed with the real git binary; `plan` reads both from git's objects.
describe('portcullis plan between two commits (e2e)', () => {
  const repo = new TempGitRepo();
  let base = '';
  let head = '';

  before(() => {
    base = repo.commit('base', {
      'config.yaml': 'node: {public_address: 127.0.0.1}\n',
      'clusters/ml.yaml': 'name: jupyter\ncloud: node\nnode: {address: 10.0.0.2}\nresources:\n  ports: [8888, "10020-10040", "udp:53"]\n',
      'clusters/web.yaml': 'name: web\ncloud: kubernetes\nkubernetes: {namespace: web}\nresources:\n  ports: ["+tcp:443"]\n',
      'clusters/old.yaml': 'name: old\ncloud: gcp\ngcp: {project: my-proj-1}\nresources:\n  ports: [22]\n',
    });
    head = repo.commit('head', {
      // 8888 closes, 10030-10050 overlaps: 10020-10029 close, 10041-10050 open; 53/udp goes public.
      'clusters/ml.yaml': 'name: jupyter\ncloud: node\nnode: {address: 10.0.0.2}\nresources:\n  ports: ["10030-10050", "+udp:53"]\n',
      'clusters/old.yaml': null,
      'clusters/new.yaml': 'name: batch\ncloud: aws\naws: {region: eu-west-1, instance_ids: [i-0123456789abcdef0]}\nresources:\n  ports: [{port: 8080, cidrs: [10.20.0.0/16]}]\n',
    });
    // Uncommitted garbage in the working tree must not matter when both revisions are named.
    repo.write({ 'clusters/web.yaml': 'name: [broken\n' });
  });
  after(() => repo.remove());

  it('prints the DESIGN.md JSON shape with every port change', () => {
    const result = runCli(['plan', '--repo', repo.dir, '--base', base, '--head', head, '--format', 'json']);
    assert.equal(result.status, 0, result.stderr);
    const plan = JSON.parse(result.stdout) as {
      summary: { open: number; close: number; change: number };
      changes: { action: string; cluster: string; cloud: string; protocol: string; ports: string[]; exposure: string; cidrs: string[]; before?: { exposure: string } }[];
      problems: unknown[];
    };
    const brief = plan.changes.map((c) => `${c.action} ${c.cluster} ${c.cloud} ${c.protocol} ${c.ports.join(',')} ${c.exposure}${c.before ? ` (was ${c.before.exposure})` : ''}`);
    assert.deepEqual(brief.sort(), [
      'change jupyter node udp 53 public (was private)',
      'close jupyter node tcp 8888,10020-10029 private',
      'close old gcp tcp 22 private',
      'open batch aws tcp 8080 private',
      'open jupyter node tcp 10041-10050 private',
    ]);
    assert.deepEqual(plan.summary, { open: 2, close: 2, change: 1 });
    assert.deepEqual(plan.problems, []);
    const batch = plan.changes.find((c) => c.cluster === 'batch');
    assert.deepEqual(batch?.cidrs, ['10.20.0.0/16']);
  });

  it('prints Terraform-style text ending with the Plan line', () => {
    const result = runCli(['plan', '--repo', repo.dir, '--base', base, '--head', head]);
    assert.equal(result.status, 0, result.stderr);
    const textLines = result.stdout.trimEnd().split('\n');
    assert.equal(textLines.at(-1), 'Plan: 2 to open, 2 to close, 1 to change.');
    assert.ok(textLines.some((l) => /^\s+- close\s+tcp\s+8888, ?10020-10029\b/.test(l)), result.stdout);
    assert.ok(textLines.some((l) => /^\s+\+ open\s+tcp\s+10041-10050\b/.test(l)), result.stdout);
    assert.ok(textLines.some((l) => /^\s+~ change\s+udp\s+53\b/.test(l)), result.stdout);
  });

  it('defaults to the working tree against HEAD and keeps a broken manifest\'s ports', () => {
    const result = runCli(['plan', '--repo', repo.dir, '--format', 'json']);
    assert.equal(result.status, 1, 'a broken manifest is a problem');
    const plan = JSON.parse(result.stdout) as { summary: object; changes: unknown[]; problems: { file: string; line: number; col: number; code: string }[] };
    assert.deepEqual(plan.summary, { open: 0, close: 0, change: 0 }, 'web keeps its last good ports: nothing closes');
    assert.deepEqual(
      plan.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.code}`),
      ['clusters/web.yaml:2:1 YAML_SYNTAX'],
    );
  });

  it('shows that removing a manifest closes its ports, against the files on disk', () => {
    repo.write({ 'clusters/web.yaml': null });
    try {
      const result = runCli(['plan', '--repo', repo.dir, '--format', 'json']);
      assert.equal(result.status, 0, result.stderr);
      const plan = JSON.parse(result.stdout) as { changes: { action: string; cluster: string; ports: string[]; exposure: string }[] };
      assert.deepEqual(plan.changes, [{ ...plan.changes[0], action: 'close', cluster: 'web', ports: ['443'], exposure: 'public' }]);
    } finally {
      repo.git('checkout', '--', 'clusters/web.yaml');
    }
  });

  it('plans a config repo that is a sub-directory of its git repo', () => {
    const mono = new TempGitRepo();
    try {
      const a = mono.commit('a', { 'infra/ports/clusters/x.yaml': 'name: x\ncloud: node\nnode: {address: 10.0.0.9}\nresources: {ports: 80}\n', 'README.md': 'hi\n' });
      const b = mono.commit('b', { 'infra/ports/clusters/x.yaml': 'name: x\ncloud: node\nnode: {address: 10.0.0.9}\nresources: {ports: [80, 81]}\n' });
      const result = runCli(['plan', '--repo', `${mono.dir}/infra/ports`, '--base', a, '--head', b, '--format', 'json']);
      assert.equal(result.status, 0, result.stderr);
      const plan = JSON.parse(result.stdout) as { summary: object; changes: { ports: string[] }[] };
      assert.deepEqual(plan.summary, { open: 1, close: 0, change: 0 });
      assert.deepEqual(plan.changes[0]?.ports, ['81']);
    } finally {
      mono.remove();
    }
  });

  it('says what to do about an unknown revision, without a stack trace', () => {
    const result = runCli(['plan', '--repo', repo.dir, '--base', 'no-such-branch', '--head', head]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^portcullis: unknown revision 'no-such-branch'/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});
