// Git faults at the source: a remote that goes away for a while, and a cache clone damaged in each way a
// disk, a killed clone or a person can damage it. The agent keeps the last good state while the remote
// is away, and recovers from a damaged cache by itself once the remote answers.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync, renameSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Reconciler } from '../../agent/engine/pass.js';
import { NodeProvider } from '../../agent/providers/node/index.js';
import { createUserspaceBackend } from '../../agent/providers/node/userspace.js';
import { createRenderer } from '../../agent/render/index.js';
import { openRepoSource } from '../../agent/source/repo-source.js';
import { fastConverge, silentLog } from '../helpers/agent-fixture.js';
import { TempGitRepo } from '../helpers/repo.js';

const cluster = (name: string, port: number) => `name: ${name}\ncloud: node\nnode: {address: 127.0.0.1}\nresources: {ports: [${port}]}\n`;

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const DAMAGE: Record<string, (git: string) => void> = {
  'every object deleted': (git) => {
    for (const f of filesUnder(join(git, 'objects'))) rmSync(f);
  },
  'object files truncated to zero bytes': (git) => {
    for (const f of filesUnder(join(git, 'objects'))) if (statSync(f).size > 0) truncateSync(f, 0);
  },
  'HEAD garbled': (git) => writeFileSync(join(git, 'HEAD'), 'not a ref\n'),
  'config emptied (no origin)': (git) => writeFileSync(join(git, 'config'), ''),
  'remote-tracking ref pointing at a missing commit': (git) => {
    for (const f of filesUnder(join(git, 'refs', 'remotes'))) writeFileSync(f, `${'e'.repeat(40)}\n`);
    const packed = join(git, 'packed-refs');
    try {
      writeFileSync(packed, readFileSync(packed, 'utf8').replace(/^[0-9a-f]{40}(?= refs\/remotes)/gm, 'e'.repeat(40)));
    } catch {
      // no packed refs: the loose ref above is the one
    }
  },
  '.git replaced by a file': (git) => {
    rmSync(git, { recursive: true, force: true });
    writeFileSync(git, 'gitdir: /nonexistent\n');
  },
  'index.lock left by a killed git': (git) => writeFileSync(join(git, 'index.lock'), ''),
  'shallow file with a bogus commit': (git) => writeFileSync(join(git, 'shallow'), `${'a'.repeat(40)}\n`),
};

describe('git faults', () => {
  const origin = new TempGitRepo();
  const caches: string[] = [];
  const cacheDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-cache-'));
    caches.push(dir);
    return dir;
  };
  after(() => {
    origin.remove();
    for (const c of caches) rmSync(c, { recursive: true, force: true });
  });

  for (const [name, damage] of Object.entries(DAMAGE)) {
    it(`recovers from a cache clone with ${name}`, async () => {
      origin.commit('one', { 'clusters/a.yaml': cluster('a', 80) });
      const cache = cacheDir();
      const source = await openRepoSource({ repo: `file://${origin.dir}`, branch: 'main', cacheDir: cache });
      await source.snapshot();
      const [clone] = readdirSync(cache);
      damage(join(cache, clone!, '.git'));

      const head = origin.commit('two', { 'clusters/b.yaml': cluster('b', 81) });
      const snapshot = await source.snapshot();
      assert.equal(snapshot.revision, head);
      assert.equal(snapshot.files.get('clusters/b.yaml'), cluster('b', 81));
      // And a source opened afresh over the repaired cache (an agent restart) reads it as well.
      const again = await openRepoSource({ repo: `file://${origin.dir}`, branch: 'main', cacheDir: cache });
      assert.equal((await again.snapshot()).revision, head);
    });
  }

  it('keeps every port open while the remote is unreachable, and applies what was pushed meanwhile once it is back', async () => {
    const repo = new TempGitRepo();
    const away = `${repo.dir}.away`;
    const backend = createUserspaceBackend({ listenHost: '127.0.0.1' });
    try {
      repo.commit('one', { 'config.yaml': 'node: {port_range: 42000-42999}\n', 'clusters/a.yaml': cluster('a', 80), 'clusters/b.yaml': cluster('b', 81) });
      const source = await openRepoSource({ repo: `file://${repo.dir}`, branch: 'main', cacheDir: cacheDir() });
      const agent = new Reconciler({ source, renderer: createRenderer(), providers: { node: new NodeProvider(backend) }, log: silentLog, converge: fastConverge });
      const first = await agent.pass(['startup']);
      assert.equal(first.result, 'converged', first.message);
      const held = () => (agent.held.get('node') ?? []).map((r) => r.cluster).sort();
      assert.deepEqual(held(), ['a', 'b']);

      renameSync(repo.dir, away);
      for (let i = 0; i < 3; i++) {
        const report = await agent.pass(['poll']);
        assert.deepEqual([report.result, report.reasons], ['failed', ['SourceFailed']]);
        assert.match(report.message ?? '', /cannot fetch .*ports stay as they are/s);
        assert.deepEqual(held(), ['a', 'b'], 'nothing closes while Git cannot be read');
      }
      renameSync(away, repo.dir);
      const head = repo.commit('drop b', { 'clusters/b.yaml': null });
      const back = await agent.pass(['poll']);
      assert.deepEqual([back.result, back.revision], ['converged', head]);
      assert.deepEqual(held(), ['a']);
    } finally {
      await backend.close();
      rmSync(away, { recursive: true, force: true });
      repo.remove();
    }
  });
});
