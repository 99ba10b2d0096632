// Path traversal and links: cluster names and other fields that look like paths, file names a crafted git
// tree can carry, and symbolic links in a directory repo and committed to git. Nothing outside the repo is
// ever read (a secret planted outside must appear nowhere), and each attempt is a located problem.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { desiredState } from '../../agent/engine/desired.js';
import { problemLine } from '../../agent/manifest/format-problem.js';
import type { Snapshot } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { locateGit, readRevision } from '../../agent/source/git-revision.js';
import { readDirectory } from '../../agent/source/snapshot.js';
import { assertLocated, Tally } from '../fuzz/lib.js';
import { snapshotOf, TempGitRepo } from '../helpers/repo.js';

const renderer = createRenderer();
const SECRET = 'name: stolen\ncloud: node\nnode: {address: 10.66.66.66}\nresources: {ports: ["+22"]}\n# top-secret-marker\n';
const GOOD = 'name: good\ncloud: node\nnode: {address: 10.0.0.3}\nresources: {ports: [80]}\n';

/** Nothing of the planted secret made it into the snapshot or into any message. */
function assertNothingFromOutside(snapshot: Snapshot): void {
  for (const [path, text] of snapshot.files) assert.ok(!text.includes('top-secret-marker'), `${path} holds the file from outside the repo`);
  for (const problem of snapshot.problems) assert.ok(!problem.message.includes('top-secret-marker'));
}

function problemsOf(snapshot: Snapshot): [string, string, number, number][] {
  return snapshot.problems.map((p) => [p.code, p.at.file, p.at.line, p.at.col]);
}

function counted(t: TestContext, check: () => Promise<void> | void): Promise<void> {
  const tally = new Tally();
  tally.tried++;
  return Promise.resolve()
    .then(check)
    .catch((error: unknown) => {
      tally.failed++;
      throw error;
    })
    .finally(() => tally.report(t));
}

describe('hostile: path traversal in names', () => {
  const names = ['../x', 'a/b', '..', '.', '/etc/passwd', 'x/../../y', 'C:\\x', '%2e%2e', '~root', 'a\u0000b'];
  for (const name of names) {
    it(`cluster name ${JSON.stringify(name)} is a located schema error at the name`, (t) =>
      counted(t, () => {
        const files = { 'clusters/x.yaml': `cloud: node\nname: ${JSON.stringify(name)}\nnode: {address: 10.0.0.2}\nresources: {ports: [80]}\n` };
        const desired = desiredState(snapshotOf(files), renderer);
        assertLocated(desired, files);
        assert.deepEqual(desired.clusters, []);
        assert.ok(
          desired.problems.some((p) => p.code === 'SCHEMA' && p.at.line === 2 && p.at.col === 7 && /'name' is not valid/.test(p.message)),
          desired.problems.map(problemLine).join('\n'),
        );
      }));
  }

  it('a namespace, a GCP network and a target tag that traverse are located schema errors; an AWS group name is only a name', (t) =>
    counted(t, () => {
      const files = {
        'clusters/k.yaml': 'name: k\ncloud: kubernetes\nkubernetes: {namespace: ../kube-system}\nresources: {ports: [80]}\n',
        'clusters/g.yaml': 'name: g\ncloud: gcp\ngcp: {project: my-project, network: ../../x, target_tags: [a/b]}\nresources: {ports: [80]}\n',
        'clusters/a.yaml': 'name: a\ncloud: aws\naws: {region: us-east-1, security_group: ../../etc/passwd, instance_tags: {Name: a}}\nresources: {ports: [80]}\n',
      };
      const desired = desiredState(snapshotOf(files), renderer);
      assertLocated(desired, files);
      assert.deepEqual(
        desired.problems.map((p) => [p.at.file, p.at.line, p.code]),
        [
          ['clusters/g.yaml', 3, 'SCHEMA'],
          ['clusters/g.yaml', 3, 'SCHEMA'],
          ['clusters/k.yaml', 3, 'SCHEMA'],
        ],
      );
      // The group name is data sent to EC2 as a name, never used as a path: it renders verbatim.
      assert.equal(desired.resources.find((r) => r.cluster === 'a')?.body.name, '../../etc/passwd');
    }));
});

describe('hostile: file names a crafted git tree carries', () => {
  let repo: TempGitRepo;
  let outside: string;
  before(() => {
    outside = mkdtempSync(join(tmpdir(), 'portcullis-outside-'));
    writeFileSync(join(outside, 'evil.yaml'), SECRET);
    repo = new TempGitRepo();
    repo.commit('base', { 'clusters/good.yaml': GOOD });
    // git mktree takes what `git add` refuses: a `..` entry, a name with a line break.
    const blob = (text: string) => execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.dir, input: text, encoding: 'utf8' }).trim();
    const mktree = (entries: string) => execFileSync('git', ['mktree', '-z'], { cwd: repo.dir, input: entries, encoding: 'utf8' }).trim();
    const up = mktree(`100644 blob ${blob('name: up\ncloud: node\nnode: {address: 10.0.0.4}\n')}\tup.yaml\x00`);
    const clusters = mktree(`100644 blob ${blob(GOOD)}\tgood.yaml\x00040000 tree ${up}\t..\x00100644 blob ${blob('name: nl\ncloud: node\nnode: {address: 10.0.0.5}\n')}\tnl\nfake.yaml:1:1: forged.yaml\x00`);
    const root = mktree(`040000 tree ${clusters}\tclusters\x00`);
    const commit = repo.git('commit-tree', root, '-p', 'HEAD', '-m', 'crafted');
    repo.git('update-ref', 'refs/heads/main', commit);
  });
  after(() => {
    repo.remove();
    rmSync(outside, { recursive: true, force: true });
  });

  it('are read from git objects only, and reported as located problems instead of loaded', (t) =>
    counted(t, async () => {
      const snapshot = await readRevision((await locateGit(repo.dir))!, 'HEAD');
      assertNothingFromOutside(snapshot);
      const desired = desiredState(snapshot, renderer);
      assertLocated(desired, Object.fromEntries(snapshot.files));
      assert.deepEqual(
        desired.clusters.map((c) => c.name),
        ['good'],
      );
      const odd = desired.problems.filter((p) => p.code === 'FILE_UNREADABLE').map((p) => p.at.file);
      assert.deepEqual(odd.sort(), ['clusters/../up.yaml', 'clusters/nl\nfake.yaml:1:1: forged.yaml']);
      // Printed, the line break is escaped: the file name cannot forge a second problem line.
      for (const problem of desired.problems) assert.equal(problemLine(problem).split('\n').length, 1);
    }));
});

describe('hostile: symbolic links in a directory repo', () => {
  let dir: string;
  let outside: string;
  let snapshot: Snapshot;
  before(async () => {
    outside = mkdtempSync(join(tmpdir(), 'portcullis-outside-'));
    writeFileSync(join(outside, 'secret.yaml'), SECRET);
    mkdirSync(join(outside, 'more'));
    writeFileSync(join(outside, 'more', 'x.yaml'), SECRET);
    dir = mkdtempSync(join(tmpdir(), 'portcullis-repo-'));
    mkdirSync(join(dir, 'clusters', 'sub'), { recursive: true });
    mkdirSync(join(dir, 'inside-dir'));
    writeFileSync(join(dir, 'clusters', 'good.yaml'), GOOD);
    writeFileSync(join(dir, 'inside-dir', 'y.yaml'), GOOD.replace('good', 'indir'));
    symlinkSync(join(outside, 'secret.yaml'), join(dir, 'clusters', 'absolute.yaml'));
    symlinkSync('../../../' + outside.split('/').pop() + '/secret.yaml', join(dir, 'clusters', 'sub', 'relative.yaml'));
    symlinkSync(join(outside, 'more'), join(dir, 'clusters', 'outside-dir'));
    symlinkSync(join(dir, 'inside-dir'), join(dir, 'clusters', 'inside-dir'));
    symlinkSync(join(dir, 'inside-dir'), join(dir, 'clusters', 'dir.yaml'));
    symlinkSync('loop.yaml', join(dir, 'clusters', 'loop.yaml'));
    symlinkSync('good.yaml', join(dir, 'clusters', 'alias.yaml'));
    execFileSync('mkfifo', [join(dir, 'clusters', 'fifo.yaml')]);
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    symlinkSync('../pipe', join(dir, 'clusters', 'to-fifo.yaml'));
    symlinkSync(join(outside, 'secret.yaml'), join(dir, 'config.yaml'));
    snapshot = await readDirectory(dir);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('nothing outside the repo is read', (t) => counted(t, () => assertNothingFromOutside(snapshot)));

  it('each link out of the repo, each link to a directory and each file that is not a file is a located problem', (t) =>
    counted(t, () => {
      assert.deepEqual(
        problemsOf(snapshot).sort(),
        [
          ['FILE_UNREADABLE', 'clusters/absolute.yaml', 1, 1],
          ['FILE_UNREADABLE', 'clusters/dir.yaml', 1, 1],
          ['FILE_UNREADABLE', 'clusters/fifo.yaml', 1, 1],
          ['FILE_UNREADABLE', 'clusters/inside-dir', 1, 1],
          ['FILE_UNREADABLE', 'clusters/loop.yaml', 1, 1],
          ['FILE_UNREADABLE', 'clusters/outside-dir', 1, 1],
          ['FILE_UNREADABLE', 'clusters/sub/relative.yaml', 1, 1],
          ['FILE_UNREADABLE', 'clusters/to-fifo.yaml', 1, 1],
          ['FILE_UNREADABLE', 'config.yaml', 1, 1],
        ] as [string, string, number, number][],
      );
      const messages = Object.fromEntries(snapshot.problems.map((p) => [p.at.file, p.message]));
      assert.match(messages['clusters/absolute.yaml']!, /points outside the config repo/);
      assert.match(messages['clusters/outside-dir']!, /symbolic link to a directory: it is not followed/);
      assert.match(messages['clusters/to-fifo.yaml']!, /not a regular file/);
    }));

  it('a link to a file inside the repo is read; the clusters the good files define load', (t) =>
    counted(t, () => {
      assert.deepEqual([...snapshot.files.keys()].sort(), ['clusters/alias.yaml', 'clusters/good.yaml']);
      const desired = desiredState(snapshot, renderer);
      assert.ok(desired.problems.some((p) => p.code === 'DUPLICATE_CLUSTER' && p.at.file === 'clusters/good.yaml'), 'the alias defines good a second time');
    }));
});

describe('hostile: symbolic links committed to git', () => {
  let repo: TempGitRepo;
  let outside: string;
  before(() => {
    outside = mkdtempSync(join(tmpdir(), 'portcullis-outside-'));
    writeFileSync(join(outside, 'secret.yaml'), SECRET);
    repo = new TempGitRepo();
    repo.write({ 'clusters/good.yaml': GOOD });
    symlinkSync(join(outside, 'secret.yaml'), join(repo.dir, 'clusters', 'absolute.yaml'));
    symlinkSync('../../etc/passwd.yaml', join(repo.dir, 'clusters', 'relative.yaml'));
    symlinkSync(outside, join(repo.dir, 'clusters', 'outside-dir'));
    symlinkSync(join(outside, 'secret.yaml'), join(repo.dir, 'config.yaml'));
    repo.commit('links');
  });
  after(() => {
    repo.remove();
    rmSync(outside, { recursive: true, force: true });
  });

  it('are never followed: each .yaml link is a located problem, and nothing outside is read', (t) =>
    counted(t, async () => {
      const snapshot = await readRevision((await locateGit(repo.dir))!, 'HEAD');
      assertNothingFromOutside(snapshot);
      assert.deepEqual([...snapshot.files.keys()], ['clusters/good.yaml']);
      assert.deepEqual(problemsOf(snapshot).sort(), [
        ['FILE_UNREADABLE', 'clusters/absolute.yaml', 1, 1],
        ['FILE_UNREADABLE', 'clusters/relative.yaml', 1, 1],
        ['FILE_UNREADABLE', 'config.yaml', 1, 1],
      ]);
      // A committed link to a directory is a blob like any link: git never lists what it points to.
      assert.ok(![...snapshot.files.keys()].some((path) => path.startsWith('clusters/outside-dir')));
    }));
});
