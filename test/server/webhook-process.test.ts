// Webhooks end to end: the agent as a process follows a remote repo (file://) with polling too slow to
// matter; a signed push event for the watched branch makes it fetch and apply the new commit at once,
// while forged deliveries and pushes to other branches start nothing.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePortRange, nodeManifest } from '../helpers/agent-fixture.js';
import { AgentProcess, eventually, freePort } from '../helpers/agent-process.js';
import { TempGitRepo } from '../helpers/repo.js';

const SECRET = 'whsec_e2e_5b0c3f';

describe('webhooks (agent process, remote repo)', () => {
  const origin = new TempGitRepo();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-hook-'));
  let agent: AgentProcess;

  before(async () => {
    const range = await freePortRange(16);
    writeFileSync(join(dir, 'admin.yaml'), `private_cidrs: [127.0.0.0/8]\nnode:\n  port_range: ${range.from}-${range.to}\n`);
    origin.commit('one cluster', { 'clusters/web.yaml': nodeManifest('web', '127.0.0.1', [8080]) });
    const saved = { ...process.env };
    process.env.PORTCULLIS_WEBHOOK_SECRET = SECRET;
    try {
      agent = new AgentProcess(['--repo', `file://${origin.dir}`, '--branch', 'main', '--cache-dir', join(dir, 'cache'), '--config', join(dir, 'admin.yaml'), '--interval', '1h', '--resync', '1h', '--clouds', 'node', '--node-backend', 'userspace', '--node-listen', '127.0.0.1'], await freePort());
    } finally {
      process.env = saved;
    }
  });
  after(async () => {
    await agent?.stop();
    origin.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const revision = async () => (await agent.json<{ revision: string | null }>('/api/status')).revision;
  const deliver = (ref: string, signWith = SECRET) => {
    const body = JSON.stringify({ ref, after: origin.git('rev-parse', 'HEAD') });
    return fetch(`${agent.url}/api/webhook/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', signWith).update(body).digest('hex')}` } });
  };
  const webhookPasses = async () => Number(/^portcullis_passes_total\{trigger="webhook",result="converged"\} (\d+)$/m.exec((await agent.get('/metrics')).text)?.[1] ?? 0);

  it('a signed push to the watched branch applies the new commit at once; forged ones and other branches do not', async () => {
    const first = origin.git('rev-parse', 'HEAD');
    await eventually(async () => ((await revision()) === first ? true : undefined), `the first pass\n${agent.output}`, 60_000);

    const second = origin.commit('open 9090', { 'clusters/web.yaml': nodeManifest('web', '127.0.0.1', [8080, 9090]) });
    assert.equal((await deliver('refs/heads/main', 'wrong-secret')).status, 401);
    assert.equal((await deliver('refs/heads/feature')).status, 202);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await revision(), first, 'nothing fetched: polling is hourly, and those deliveries start no pass');
    assert.equal(await webhookPasses(), 0);

    const sent = Date.now();
    const res = await deliver('refs/heads/main');
    assert.deepEqual([res.status, ((await res.json()) as { triggered: boolean }).triggered], [202, true]);
    await eventually(async () => ((await revision()) === second ? true : undefined), 'the pushed commit', 30_000);
    const took = Date.now() - sent;
    // Seconds here, tens of them on a loaded machine: either way the webhook, not the hourly poll.
    assert.ok(took < 30_000, `applied ${took} ms after the webhook`);
    assert.equal(await webhookPasses(), 1);
    const metrics = (await agent.get('/metrics')).text;
    assert.match(metrics, /^portcullis_open_ports\{cluster="web",cloud="node",protocol="tcp",exposure="private"\} 2$/m);
    assert.match(metrics, /^portcullis_webhook_deliveries_total\{provider="github",result="unauthorized"\} 1$/m);
    assert.match(metrics, /^portcullis_webhook_deliveries_total\{provider="github",result="ignored"\} 1$/m);
    assert.match(metrics, /^portcullis_webhook_deliveries_total\{provider="github",result="triggered"\} 1$/m);
    assert.match(metrics, /^portcullis_git_fetches_total\{result="ok"\} 2$/m, 'one fetch at start, one for the webhook');
  });
});
