import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isRemote, openRepoSource, redactUrl } from '../../agent/source/repo-source.js';
import { readDirectory, SourceError } from '../../agent/source/index.js';
import { TempGitRepo } from '../helpers/repo.js';

const cluster = (name: string, port: number) => `name: ${name}\ncloud: node\nnode: {address: 10.0.0.1}\nresources: {ports: ${port}}\n`;

describe('remote sources (a real git remote over file://)', () => {
  const origin = new TempGitRepo();
  const cache = mkdtempSync(join(tmpdir(), 'portcullis-cache-'));
  after(() => {
    origin.remove();
    rmSync(cache, { recursive: true, force: true });
  });

  it('clones into the cache, fetches new commits before each snapshot, and never checks files out', async () => {
    const first = origin.commit('one', { 'clusters/a.yaml': cluster('a', 80) });
    const source = await openRepoSource({ repo: `file://${origin.dir}`, branch: 'main', cacheDir: cache });
    const one = await source.snapshot();
    assert.equal(one.revision, first);
    assert.deepEqual([...one.files.keys()], ['clusters/a.yaml']);

    const second = origin.commit('two', { 'clusters/b.yaml': cluster('b', 81) });
    const two = await source.snapshot();
    assert.equal(two.revision, second);
    assert.deepEqual([...two.files.keys()].sort(), ['clusters/a.yaml', 'clusters/b.yaml']);
    assert.equal(source.watchPaths.length, 0, 'a remote is polled, not watched');
  });

  it('reads a config repo inside a monorepo with path', async () => {
    const mono = new TempGitRepo();
    try {
      const head = mono.commit('x', { 'infra/ports/clusters/x.yaml': cluster('x', 90), 'clusters/not-this.yaml': cluster('y', 91) });
      const source = await openRepoSource({ repo: `file://${mono.dir}`, branch: 'main', cacheDir: cache, path: 'infra/ports' });
      const snapshot = await source.snapshot();
      assert.equal(snapshot.revision, head);
      assert.deepEqual([...snapshot.files.keys()], ['clusters/x.yaml']);
    } finally {
      mono.remove();
    }
  });

  it('reports an unreachable remote as a SourceError without leaking credentials', async () => {
    const source = await openRepoSource({ repo: 'file:///nonexistent/portcullis-repo', branch: 'main', cacheDir: cache });
    await assert.rejects(source.snapshot(), (err: unknown) => err instanceof SourceError && /cannot clone file:\/\/\/nonexistent/.test(err.message));
    assert.equal(redactUrl('cannot fetch https://bot:s3cr3t@git.example.com/org/repo.git: 403'), 'cannot fetch https://***@git.example.com/org/repo.git: 403');
  });

  it('keeps working from the last fetched revision once the remote comes back', async () => {
    const source = await openRepoSource({ repo: `file://${origin.dir}`, branch: 'main', cacheDir: cache });
    const good = await source.snapshot();
    const moved = `${origin.dir}.away`;
    rmSync(moved, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.rename(origin.dir, moved));
    try {
      await assert.rejects(source.snapshot(), /cannot fetch/);
    } finally {
      await import('node:fs/promises').then((fs) => fs.rename(moved, origin.dir));
    }
    assert.equal((await source.snapshot()).revision, good.revision);
  });

  it('tells URLs from directories', () => {
    for (const url of ['https://github.com/o/r.git', 'ssh://git@host/r', 'git@github.com:o/r.git', 'file:///srv/r']) assert.equal(isRemote(url), true, url);
    for (const dir of ['.', '/srv/config', 'examples/config-repo', 'C:dir']) assert.equal(isRemote(dir), false, dir);
  });
});

describe('local sources', () => {
  it('follows a branch of a local repository, ignoring the working tree', async () => {
    const repo = new TempGitRepo();
    try {
      const head = repo.commit('one', { 'clusters/a.yaml': cluster('a', 80) });
      repo.write({ 'clusters/a.yaml': 'garbage: [' });
      const source = await openRepoSource({ repo: repo.dir, branch: 'main', cacheDir: '/nonexistent' });
      const snapshot = await source.snapshot();
      assert.equal(snapshot.revision, head);
      assert.equal(snapshot.files.get('clusters/a.yaml'), cluster('a', 80));
      assert.ok(source.watchPaths.some((p) => p.endsWith(join('.git', 'refs', 'heads'))));
    } finally {
      repo.remove();
    }
  });

  it('reads files on disk, labelled with the commit and marked dirty when they differ from it', async () => {
    const repo = new TempGitRepo();
    try {
      const head = repo.commit('one', { 'clusters/a.yaml': cluster('a', 80) });
      const source = await openRepoSource({ repo: repo.dir, cacheDir: '/nonexistent' });
      assert.equal((await source.snapshot()).revision, head);
      repo.write({ 'clusters/a.yaml': cluster('a', 81) });
      const dirty = await source.snapshot();
      assert.equal(dirty.revision, `${head}-dirty`);
      assert.equal(dirty.files.get('clusters/a.yaml'), cluster('a', 81));
    } finally {
      repo.remove();
    }
  });

  it('does not follow symlinks out of the config repo, and refuses huge files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-dir-'));
    const outside = mkdtempSync(join(tmpdir(), 'portcullis-outside-'));
    try {
      mkdirSync(join(dir, 'clusters'));
      writeFileSync(join(outside, 'secret.yaml'), cluster('stolen', 22));
      symlinkSync(join(outside, 'secret.yaml'), join(dir, 'clusters', 'link.yaml'));
      writeFileSync(join(dir, 'clusters', 'inside.yaml'), cluster('inside', 80));
      symlinkSync(join(dir, 'clusters', 'inside.yaml'), join(dir, 'clusters', 'alias.yaml'));
      writeFileSync(join(dir, 'clusters', 'huge.yaml'), `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
      const snapshot = await readDirectory(dir);
      assert.deepEqual([...snapshot.files.keys()].sort(), ['clusters/alias.yaml', 'clusters/inside.yaml']);
      assert.deepEqual(
        snapshot.problems.map((p) => `${p.at.file} ${p.code}`).sort(),
        ['clusters/huge.yaml FILE_TOO_LARGE', 'clusters/link.yaml FILE_UNREADABLE'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('says what to do with a directory that does not exist', async () => {
    await assert.rejects(openRepoSource({ repo: '/nonexistent/dir', cacheDir: '/tmp' }), /no such directory/);
  });
});
