// The agent killed with SIGKILL in the middle of converging, at many points: `portcullis apply` runs as
// a real process against the Kubernetes fake, and the fake kills it when the k-th write request
// arrives (k = 1, 2, ...), so every point between the first and the last write of a large pass is hit
// — before a write is served, or just after. A restarted agent must then converge to exactly what a
// clean run leaves: nothing leaked, nothing duplicated, nothing missing, and a fresh agent finds nothing to do.
// SIGKILL_POINTS (default 12, spread evenly over the pass; `npm run test:long` tries 60) sets how many
// kill points are tried: each is a process start, and loading the Kubernetes client costs seconds.
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
const POINTS = Number(process.env.SIGKILL_POINTS ?? 12);

const manifest = (name: string, ports: number[], mode: 'loadbalancer' | 'ingress') =>
  `name: ${name}\ncloud: kubernetes\nkubernetes: {namespace: ml, ports: ${mode}, selector: {app: ${name}}}\nresources:\n  ports: [${ports.join(', ')}]\n`;
const mode = (i: number) => (i % 3 === 0 ? 'ingress' : 'loadbalancer');

/** 24 clusters, a third in ingress mode (an Ingress plus a Service per port: several objects per cluster). */
function baseFiles(): Record<string, string> {
  const files: Record<string, string> = { 'config.yaml': 'kubernetes:\n  ingress: {class: nginx, host: ports.example.com}\n' };
  for (let i = 0; i < 24; i++) files[`clusters/c${i}.yaml`] = manifest(`c${i}`, [8000 + i, 9000 + i], mode(i));
  return files;
}

/** The pass under attack: 12 new clusters, 8 changed, 6 removed (under the mass-close guard's share). */
function nextFiles(): Record<string, string | null> {
  const files: Record<string, string | null> = {};
  for (let i = 24; i < 36; i++) files[`clusters/c${i}.yaml`] = manifest(`c${i}`, [8000 + i, 9000 + i], mode(i));
  for (let i = 0; i < 8; i++) files[`clusters/c${i}.yaml`] = manifest(`c${i}`, [8000 + i, 7000 + i], mode(i));
  for (let i = 18; i < 24; i++) files[`clusters/c${i}.yaml`] = null;
  return files;
}

function inventory(fake: FakeKube): string[] {
  return (['Service', 'Ingress'] as const)
    .flatMap((kind) =>
      fake.list(kind, 'ml').map((o) => {
        const spec = o.spec as JsonObject;
        const ports = ((spec.ports as JsonObject[] | undefined) ?? []).map((p) => p.port).join(',');
        const paths = ((spec.rules as JsonObject[] | undefined) ?? []).flatMap((r) => ((r.http as JsonObject).paths as JsonObject[]).map((p) => p.path)).join(',');
        return `${kind}/${(o.metadata as JsonObject).name} ${ports}${paths}`;
      }),
    )
    .sort();
}

describe('SIGKILL during converge', () => {
  let fake: FakeKube;
  let dir: string;
  let kubeconfig: string;
  before(async () => {
    fake = await startKubeApiserver();
    dir = mkdtempSync(join(tmpdir(), 'portcullis-sigkill-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeConfig().exportConfig());
  });
  after(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const agent = (repo: MemoryRepo) =>
    new Reconciler({ source: repo, renderer: createRenderer(), providers: { kubernetes: new KubernetesProvider({ kubeConfig: fake.kubeConfig() }) }, log: silentLog, converge: fastConverge });

  /** The world as the base revision left it, by a clean agent. */
  async function resetToBase(): Promise<void> {
    for (const kind of ['Service', 'Ingress'] as const) for (const o of fake.list(kind, 'ml')) fake.remove(kind, 'ml', (o.metadata as JsonObject).name as string);
    if (!fake.get('Namespace', undefined, 'ml')) fake.createNamespace('ml');
    const report = await agent(new MemoryRepo(baseFiles())).pass(['startup']);
    assert.equal(report.result, 'converged', report.message);
  }

  function writeRepo(files: Record<string, string | null>, at: string): void {
    rmSync(at, { recursive: true, force: true });
    for (const [path, text] of Object.entries(files)) {
      if (text === null) continue;
      mkdirSync(join(at, path, '..'), { recursive: true });
      writeFileSync(join(at, path), text);
    }
  }

  /** `portcullis apply` as a process, SIGKILLed when the fake receives its k-th write (or left to finish when k is 0). */
  function applyKilledAt(repoDir: string, k: number): Promise<{ killed: boolean; writes: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', `${root}agent/cli.ts`, 'apply', '--repo', repoDir, '--clouds', 'kubernetes'], {
        cwd: root,
        env: { ...process.env, KUBECONFIG: kubeconfig },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      let writes = 0;
      let killed = false;
      fake.onRequest = (r) => {
        if (r.method === 'GET' || killed) return;
        writes++;
        if (writes === k) {
          killed = true;
          child.kill('SIGKILL');
        }
      };
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        fake.onRequest = undefined;
        if (signal === 'SIGKILL' || code === 0) resolve({ killed: signal === 'SIGKILL', writes });
        else reject(new Error(`apply exited ${code}: ${stderr}`));
      });
    });
  }

  it(`converges to exactly the clean result after a SIGKILL at each of ${POINTS} points`, async (t) => {
    const full = { ...baseFiles(), ...nextFiles() };
    const nextRepo = Object.fromEntries(Object.entries(full).filter((e): e is [string, string] => e[1] !== null));
    const repoDir = join(dir, 'repo');
    writeRepo(nextRepo, repoDir);

    // A clean, unkilled run: the reference world, and how many writes the pass makes.
    await resetToBase();
    const clean = await applyKilledAt(repoDir, 0);
    const reference = inventory(fake);
    assert.ok(clean.writes >= 30, `the pass makes enough writes to kill it in many places (it made ${clean.writes})`);

    const failures: string[] = [];
    let killedRuns = 0;
    for (let point = 1; point <= POINTS; point++) {
      // Fewer points than writes: spread evenly. More: every write, then around again with a second
      // kill-and-restart after the first.
      const k = POINTS < clean.writes ? Math.max(1, Math.round((point * clean.writes) / POINTS)) : ((point - 1) % clean.writes) + 1;
      await resetToBase();
      const first = await applyKilledAt(repoDir, k);
      if (first.killed) killedRuns++;
      if (point > clean.writes) await applyKilledAt(repoDir, 1 + (point % 5));
      // Restart: a new agent, nothing in memory but what the API server holds.
      const restarted = agent(new MemoryRepo(nextRepo));
      const report = await restarted.pass(['startup']);
      const fresh = await agent(new MemoryRepo(nextRepo)).pass(['startup']);
      const got = inventory(fake);
      const ok = report.result === 'converged' && fresh.result === 'converged' && fresh.outcomes.length === 0 && JSON.stringify(got) === JSON.stringify(reference);
      if (!ok) failures.push(`kill at write ${k}: ${report.result} ${report.message ?? ''}; then ${fresh.outcomes.length} changes; inventory differs: ${JSON.stringify(got.filter((l) => !reference.includes(l)))} missing ${JSON.stringify(reference.filter((l) => !got.includes(l)))}`);
    }
    t.diagnostic(`kill points=${POINTS} (writes per pass=${clean.writes}) killed mid-pass=${killedRuns} converged=${POINTS - failures.length} leaked/duplicated/missing=${failures.length}`);
    assert.equal(killedRuns, POINTS, 'every run was killed before it finished');
    assert.deepEqual(failures, []);
  });
});
