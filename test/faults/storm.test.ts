// A trigger storm against a running agent process: hundreds of signed push webhooks and API reconcile
// requests at once, while commits land. Triggers coalesce into a few passes, two passes never overlap
// (read from the agent's own pass log lines), and the last pass runs on the last commit.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, eventually, freePort } from '../helpers/agent-process.js';
import { TempGitRepo } from '../helpers/repo.js';

const SECRET = 'storm-secret';
const cluster = (name: string, port: number) => `name: ${name}\ncloud: node\nnode: {address: 127.0.0.1}\nresources: {ports: [${port}]}\n`;

interface PassLine {
  time: number;
  durationMs: number;
  trigger: string;
  revision: string;
  result: string;
}

function passLines(output: string): PassLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Partial<PassLine> & { msg?: string })
    .filter((l): l is PassLine & { msg: string } => typeof l.durationMs === 'number' && typeof l.trigger === 'string' && /^pass /.test(l.msg ?? ''));
}

describe('trigger storm', () => {
  const repo = new TempGitRepo();
  let agent: AgentProcess;
  before(async () => {
    repo.commit('base', { 'config.yaml': 'node: {port_range: 43000-43999}\n', 'clusters/a.yaml': cluster('a', 8080) });
    agent = new AgentProcess(['--repo', repo.dir, '--branch', 'main', '--clouds', 'node', '--node-backend', 'userspace', '--node-listen', '127.0.0.1', '--resync', '1h'], await freePort(), {
      PORTCULLIS_WEBHOOK_SECRET: SECRET,
    });
    await eventually(async () => ((await agent.json<{ revision: string | null }>('/api/status')).revision ? true : undefined), 'the first pass', 30_000);
  });
  after(async () => {
    await agent?.stop();
    repo.remove();
  });

  it('coalesces 400 triggers into a few passes that never overlap, ending on the last commit', async (t) => {
    const before = passLines(agent.output).length;
    const push = JSON.stringify({ ref: 'refs/heads/main', after: 'x'.repeat(40) });
    const signature = `sha256=${createHmac('sha256', SECRET).update(push).digest('hex')}`;
    const hook = () =>
      fetch(`${agent.url}/api/webhook/github`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signature }, body: push }).then((r) => r.status);
    const reconcile = () => fetch(`${agent.url}/api/reconcile`, { method: 'POST' }).then((r) => r.status);

    const storm: Promise<number>[] = [];
    let head = '';
    for (let wave = 0; wave < 4; wave++) {
      head = repo.commit(`wave ${wave}`, { [`clusters/w${wave}.yaml`]: cluster(`w${wave}`, 9000 + wave) });
      for (let i = 0; i < 75; i++) storm.push(hook());
      for (let i = 0; i < 25; i++) storm.push(reconcile());
      await new Promise((r) => setTimeout(r, 20));
    }
    const statuses = await Promise.all(storm);
    assert.deepEqual([...new Set(statuses)].sort(), [202], 'every trigger is accepted');

    await eventually(async () => {
      const status = await agent.json<{ revision: string; lastPass: { result: string } }>('/api/status');
      return status.revision === head && status.lastPass.result === 'converged' ? true : undefined;
    }, 'a pass on the last commit', 30_000);
    await new Promise((r) => setTimeout(r, 1_000)); // let any pass still queued finish and log

    const passes = passLines(agent.output).slice(before).filter((p) => p.trigger !== 'startup');
    const spans = passes.map((p) => ({ start: p.time - p.durationMs, end: p.time })).sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.start >= spans[i - 1]!.end, `pass ${i} started before pass ${i - 1} ended: ${JSON.stringify(spans)}`);
    t.diagnostic(`400 triggers → ${passes.length} passes (${passes.map((p) => p.trigger).join(' | ')})`);
    // Each pass takes every trigger that arrived while the one before it ran: how many passes that makes
    // depends on how the storm is spread over time, but it is a small fraction of the triggers.
    assert.ok(passes.length >= 1 && passes.length <= 40, `coalesced into a few passes, not one per trigger: ${passes.length}`);
    assert.equal(passes.at(-1)!.revision, head);
  });
});
