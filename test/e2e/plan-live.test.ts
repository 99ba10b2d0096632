// `portcullis plan --live` as a process against the Kubernetes fake: what the next apply would change,
// drift included, read from the API server and the files on disk; nothing is written.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Reconciler } from '../../agent/engine/pass.js';
import { KubernetesProvider } from '../../agent/providers/kubernetes/index.js';
import { createRenderer } from '../../agent/render/index.js';
import { startKubeApiserver, type FakeKube, type JsonObject } from '../fakes/kube-apiserver/index.js';
import { fastConverge, MemoryRepo, silentLog } from '../helpers/agent-fixture.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const manifest = (name: string, ports: string) => `name: ${name}\ncloud: kubernetes\nkubernetes: {namespace: ml, selector: {app: ${name}}}\nresources:\n  ports: ${ports}\n`;

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}agent/cli.ts`, ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('plan --live', () => {
  let fake: FakeKube;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-plan-live-'));
  const repo = join(dir, 'repo');
  const env = { KUBECONFIG: join(dir, 'kubeconfig') };
  before(async () => {
    fake = await startKubeApiserver();
    fake.createNamespace('ml');
    writeFileSync(env.KUBECONFIG, fake.kubeConfig().exportConfig());
    // What an earlier revision put there: web with 80 and 443, old with 9000.
    const earlier = new MemoryRepo({ 'clusters/web.yaml': manifest('web', '["+tcp:80", "+tcp:443"]'), 'clusters/old.yaml': manifest('old', '["+tcp:9000"]') });
    const agent = new Reconciler({ source: earlier, renderer: createRenderer(), providers: { kubernetes: new KubernetesProvider({ kubeConfig: fake.kubeConfig() }) }, log: silentLog, converge: fastConverge });
    assert.equal((await agent.pass(['startup'])).result, 'converged');
    // Someone opens 8443 by hand on web's Service.
    const web = fake.get('Service', 'ml', 'web')!;
    ((web.spec as JsonObject).ports as JsonObject[]).push({ name: 'by-hand', port: 8443, protocol: 'TCP', targetPort: 8443 });
    const metadata = web.metadata as JsonObject;
    for (const field of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields']) delete metadata[field];
    fake.remove('Service', 'ml', 'web');
    fake.create('Service', web);
    // Git now: web keeps 80 and 443, old is gone, api is new.
    mkdirSync(join(repo, 'clusters'), { recursive: true });
    writeFileSync(join(repo, 'clusters/web.yaml'), manifest('web', '["+tcp:80", "+tcp:443"]'));
    writeFileSync(join(repo, 'clusters/api.yaml'), manifest('api', '["+tcp:8080"]'));
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the drift to heal, the cluster to close and the one to open, and writes nothing', async () => {
    fake.clearRequests();
    const run = await cli(['plan', '--live', '--repo', repo, '--clouds', 'kubernetes', '--format', 'json'], env);
    assert.equal(run.status, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as { summary: Record<string, number>; changes: { action: string; cluster: string; ports: string[]; exposure: string }[] };
    const lines = plan.changes.map((c) => `${c.action} ${c.cluster} ${c.ports.join(',')} ${c.exposure}`).sort();
    assert.deepEqual(lines, ['close old 9000 public', 'close web 8443 public', 'open api 8080 public']);
    assert.deepEqual(plan.summary, { open: 1, close: 2, change: 0 });
    assert.deepEqual(fake.writes(), [], 'plan --live writes nothing');

    const text = await cli(['plan', '--live', '--repo', repo, '--clouds', 'kubernetes'], env);
    assert.match(text.stdout, /^Plan: 1 to open, 2 to close, 0 to change\.$/m);
  });

  it('refuses --live together with --base or --head', async () => {
    const run = await cli(['plan', '--live', '--repo', repo, '--base', 'HEAD'], env);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--live .* takes no --base or --head/);
  });
});
