// `portcullis run --leader-elect` as two real processes sharing a Lease on the fake API server (reached
// through KUBECONFIG): one leads and converges, the other stands by read-only; when the leader stops, the
// standby takes over and converges.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startKubeApiserver, type FakeKube } from '../fakes/kube-apiserver/index.js';
import { freePortRange, nodeManifest } from '../helpers/agent-fixture.js';
import { AgentProcess, eventually, freePort } from '../helpers/agent-process.js';

interface Status {
  leader?: boolean;
  lastPass: { result: string } | null;
}

describe('run --leader-elect (two agent processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-ha-'));
  let fake: FakeKube;
  const agents: AgentProcess[] = [];
  let args: string[] = [];

  const start = async (podName: string): Promise<AgentProcess> => {
    const saved = { ...process.env };
    Object.assign(process.env, { KUBECONFIG: join(dir, 'kubeconfig'), POD_NAME: podName, POD_NAMESPACE: 'portcullis' });
    try {
      const agent = new AgentProcess(args, await freePort());
      agents.push(agent);
      return agent;
    } finally {
      process.env = saved;
    }
  };
  const holder = () => (fake.get('Lease', 'portcullis', 'portcullis')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  const metric = async (agent: AgentProcess, pattern: RegExp) => pattern.test((await agent.get('/metrics')).text);

  before(async () => {
    fake = await startKubeApiserver();
    fake.createNamespace('portcullis');
    writeFileSync(
      join(dir, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "${fake.url}", insecure-skip-tls-verify: true}}]\nusers: [{name: fake, user: {token: ${fake.token}}}]\ncontexts: [{name: fake, context: {cluster: fake, user: fake}}]\ncurrent-context: fake\n`,
    );
    const range = await freePortRange(16);
    const repo = join(dir, 'repo');
    writeFileSync(join(dir, 'admin.yaml'), `private_cidrs: [127.0.0.0/8]\nnode:\n  port_range: ${range.from}-${range.to}\n`);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(repo, 'clusters'), { recursive: true });
    writeFileSync(join(repo, 'clusters/web.yaml'), nodeManifest('web', '127.0.0.1', [8080]));
    args = ['--repo', repo, '--config', join(dir, 'admin.yaml'), '--clouds', 'node', '--node-backend', 'userspace', '--node-listen', '127.0.0.1', '--resync', '1h', '--leader-elect'];
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first process leads and converges; the second stands by, observing, never writing', async () => {
    const a = await start('agent-a');
    await eventually(async () => {
      const s = await a.json<Status>('/api/status');
      return s.leader === true && s.lastPass?.result === 'converged' ? s : undefined;
    }, `agent-a to lead and converge\n${a.output}`, 60_000);
    assert.equal(holder(), 'agent-a');
    assert.equal(await metric(a, /^portcullis_leader 1$/m), true);
    assert.equal(await metric(a, /^portcullis_open_ports\{cluster="web",cloud="node",protocol="tcp",exposure="private"\} 1$/m), true);

    const b = await start('agent-b');
    const standby = await eventually(async () => {
      const s = await b.json<Status>('/api/status');
      return s.lastPass ? s : undefined;
    }, `agent-b's first pass\n${b.output}`, 60_000);
    assert.deepEqual([standby.leader, standby.lastPass!.result], [false, 'standby']);
    assert.equal(await metric(b, /^portcullis_leader 0$/m), true);
    assert.equal(await metric(b, /^portcullis_passes_total\{trigger="startup",result="standby"\} 1$/m), true);
    assert.equal(await metric(b, /^portcullis_changes_total/m), false, 'the standby applied nothing');
    assert.equal(holder(), 'agent-a');
  });

  it('when the leader stops, it hands the Lease over and the standby converges', async () => {
    const [a, b] = agents as [AgentProcess, AgentProcess];
    assert.equal(await a.stop(), 0);
    const took = await eventually(async () => {
      const s = await b.json<Status>('/api/status');
      return s.leader === true && s.lastPass?.result === 'converged' ? s : undefined;
    }, `agent-b to take over\n${b.output}`, 30_000);
    assert.equal(took.leader, true);
    assert.equal(holder(), 'agent-b');
    assert.equal(await metric(b, /^portcullis_changes_total\{cloud="node",action="created",result="ok"\} 1$/m), true, 'the new leader opened the forward its own process holds');
    assert.match(b.output, /"msg":"leader election: this replica leads and writes"/);
  });
});
