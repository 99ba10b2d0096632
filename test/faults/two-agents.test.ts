// Two agents on one host without leader election: the second refuses to write through the nftables
// table the first one manages, instead of undoing its passes; a lock left by a SIGKILLed agent is taken over.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireHostLock, HostLockError } from '../../agent/providers/node/host-lock.js';
import { AgentProcess, eventually, freePort } from '../helpers/agent-process.js';
import { runCli } from '../helpers/cli.js';
import { assertNetnsReady, createTopology, ADDRESSES, type Topology } from '../helpers/netns.js';
import { TempGitRepo } from '../helpers/repo.js';

describe('host lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a lock a live process holds, takes over one whose holder is gone, and re-enters its own', () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      writeFileSync(join(dir, 'held.lock'), `${sleeper.pid}\n`);
      assert.throws(() => acquireHostLock('held', 'the table', dir), (err: unknown) => err instanceof HostLockError && err.message.includes(`pid ${sleeper.pid}`) && /run one agent per host/.test(err.message));
    } finally {
      sleeper.kill('SIGKILL');
    }
    const gone = spawnSync('true').pid!;
    writeFileSync(join(dir, 'stale.lock'), `${gone}\n`);
    const lock = acquireHostLock('stale', 'the table', dir);
    assert.equal(acquireHostLock('stale', 'the table', dir).path, lock.path, 'the same process may take it again');
    lock.release();
    assert.doesNotThrow(() => acquireHostLock('stale', 'the table', dir).release());
  });
});

describe('two agents, one host, nftables', () => {
  let topo: Topology;
  const repo = new TempGitRepo();
  before(async () => {
    assertNetnsReady();
    topo = await createTopology();
    repo.commit('one', { 'config.yaml': 'node: {port_range: 44000-44999}\n', 'clusters/a.yaml': `name: a\ncloud: node\nnode: {address: ${ADDRESSES.instance}}\nresources: {ports: [8000]}\n` });
  });
  after(async () => {
    await topo?.destroy();
    repo.remove();
  });

  it('the second agent refuses to start while the first runs, and starts once the first was killed', async () => {
    const args = ['--repo', repo.dir, '--clouds', 'node', '--node-backend', 'nftables', '--nft-netns', topo.node.name];
    const first = new AgentProcess([...args, '--resync', '1h'], await freePort());
    try {
      await eventually(async () => ((await first.json<{ revision: string | null }>('/api/status')).revision ? true : undefined), "the first agent's first pass", 30_000);
      const second = runCli(['apply', ...args]);
      assert.equal(second.status, 2, second.stderr);
      assert.match(second.stderr, new RegExp(`another portcullis agent \\(pid ${first.child.pid}\\) already manages the nftables table inet portcullis in network namespace ${topo.node.name}`));
    } finally {
      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.once('exit', resolve));
    }
    const after = runCli(['apply', ...args]);
    assert.equal(after.status, 0, `a lock left by a killed agent does not stop the next one: ${after.stderr}`);
  });
});
