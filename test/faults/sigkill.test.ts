// The agent killed with SIGKILL in the middle of converging, at many points: `portcullis apply` runs as
// a real process against the Kubernetes fake, or against moto's EC2 through the counting proxy, and the
// server side kills it when the k-th write request arrives (k = 1, 2, ...), so points between the first
// and the last write of a large pass are hit — before a write is served, or just after; on AWS also
// between the steps of one cluster (group created, rules not yet authorized, not yet attached). A
// restarted agent must then converge to exactly what a clean run leaves: nothing leaked, nothing
// duplicated, nothing missing, and a fresh agent finds nothing to do.
// SIGKILL_POINTS (default 12 for Kubernetes and 6 for AWS, spread evenly over the pass; `npm run
// test:long` tries 60 and 30) sets how many kill points are tried: each is a process start.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Reconciler } from '../../agent/engine/pass.js';
import type { Provider } from '../../agent/providers/provider.js';
import { KubernetesProvider } from '../../agent/providers/kubernetes/index.js';
import { createRenderer } from '../../agent/render/index.js';
import { WRITE_ACTIONS } from '../fakes/ec2-proxy.js';
import { startKubeApiserver, type FakeKube, type JsonObject } from '../fakes/kube-apiserver/index.js';
import { fastConverge, MemoryRepo, silentLog } from '../helpers/agent-fixture.js';
import { awsManifest, awsProvider, credentials, makeVpc, runInstances, SETTINGS as AWS_SETTINGS, startWorld, type World } from '../providers/aws/world.js';
import { awsInventory, kubernetesInventory } from './inventory.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One world the agent writes to, seen from the server side. */
interface Target {
  cloud: 'kubernetes' | 'aws';
  points: number;
  /** Clusters 0..base-1 exist before the pass under attack; it adds, changes and removes some. */
  base: number;
  manifest(i: number, ports: number[]): string;
  settings: string;
  env(): NodeJS.ProcessEnv;
  /** Wipes the world and makes what the clusters need (instances, VPC). */
  reset(clusters: number): Promise<void>;
  provider(): Provider;
  /** Calls `listener` with each write request as it arrives; undefined stops listening. */
  onWrite(listener: (() => void) | undefined): void;
  inventory(): Promise<string[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function kubernetesTarget(dir: string): Target {
  let fake: FakeKube;
  const kubeconfig = join(dir, 'kubeconfig');
  const mode = (i: number) => (i % 3 === 0 ? 'ingress' : 'loadbalancer');
  return {
    cloud: 'kubernetes',
    points: Number(process.env.SIGKILL_POINTS ?? 12),
    base: 24,
    // A third in ingress mode: an Ingress plus a Service per port, several objects per cluster.
    manifest: (i, ports) => `name: c${i}\ncloud: kubernetes\nkubernetes: {namespace: ml, ports: ${mode(i)}, selector: {app: c${i}}}\nresources:\n  ports: [${ports.join(', ')}]\n`,
    settings: 'kubernetes:\n  ingress: {class: nginx, host: ports.example.com}\n',
    env: () => ({ KUBECONFIG: kubeconfig }),
    async start() {
      fake = await startKubeApiserver();
      writeFileSync(kubeconfig, fake.kubeConfig().exportConfig());
    },
    stop: async () => fake?.close(),
    async reset() {
      for (const kind of ['Service', 'Ingress'] as const) for (const o of fake.list(kind, 'ml')) fake.remove(kind, 'ml', (o.metadata as JsonObject).name as string);
      if (!fake.get('Namespace', undefined, 'ml')) fake.createNamespace('ml');
    },
    provider: () => new KubernetesProvider({ kubeConfig: fake.kubeConfig() }),
    onWrite(listener) {
      fake.onRequest = listener && ((r) => r.method !== 'GET' && listener());
    },
    inventory: async () => kubernetesInventory(fake, 'ml'),
  };
}

function awsTarget(): Target {
  let world: World;
  let instances: string[] = [];
  return {
    cloud: 'aws',
    points: Math.ceil(Number(process.env.SIGKILL_POINTS ?? 12) / 2),
    base: 8,
    manifest: (i, ports) => awsManifest(`c${i}`, { vpc: 'shared', instance_tags: { Name: `c${i}` } }, ports),
    settings: AWS_SETTINGS,
    env: () => ({ AWS_ENDPOINT_URL: world.proxy.url, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }),
    async start() {
      world = await startWorld();
    },
    stop: async () => world?.stop(),
    async reset(clusters) {
      await world.moto.reset();
      world.proxy.clear();
      const vpc = await makeVpc(world, 'shared');
      instances = [];
      for (let i = 0; i < clusters; i++) instances.push(...(await runInstances(world, vpc, 1, { Name: `c${i}` })));
    },
    provider: () => awsProvider(world, { discoverRegions: false }),
    onWrite(listener) {
      world.proxy.onRequest = listener && ((r) => (WRITE_ACTIONS as readonly string[]).includes(r.action) && listener());
    },
    inventory: () => awsInventory(world, instances),
  };
}

function baseFiles(t: Target): Record<string, string> {
  const files: Record<string, string> = { 'config.yaml': t.settings };
  for (let i = 0; i < t.base; i++) files[`clusters/c${i}.yaml`] = t.manifest(i, [8000 + i, 9000 + i]);
  return files;
}

/** The pass under attack: half as many new clusters as there were, a third changed, a quarter removed (under the mass-close guard's share). */
function nextFiles(t: Target): Record<string, string> {
  const files = baseFiles(t);
  for (let i = t.base; i < t.base * 1.5; i++) files[`clusters/c${i}.yaml`] = t.manifest(i, [8000 + i, 9000 + i]);
  for (let i = 0; i < t.base / 3; i++) files[`clusters/c${i}.yaml`] = t.manifest(i, [8000 + i, 7000 + i]);
  for (let i = t.base * 0.75; i < t.base; i++) delete files[`clusters/c${i}.yaml`];
  return files;
}

for (const make of [kubernetesTarget, awsTarget]) {
  describe(`SIGKILL during converge: ${make.name.replace('Target', '')}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-sigkill-'));
    const target = make(dir);
    before(() => target.start());
    after(async () => {
      await target.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const agent = (files: Record<string, string>) =>
      new Reconciler({ source: new MemoryRepo(files), renderer: createRenderer(), providers: { [target.cloud]: target.provider() }, log: silentLog, converge: fastConverge });

    /** The world as the base revision left it, by a clean agent. */
    async function resetToBase(): Promise<void> {
      await target.reset(target.base * 1.5);
      const report = await agent(baseFiles(target)).pass(['startup']);
      assert.equal(report.result, 'converged', report.message);
    }

    /** `portcullis apply` as a process, SIGKILLed when its k-th write arrives (or left to finish when k is 0). */
    function applyKilledAt(repoDir: string, k: number): Promise<{ killed: boolean; writes: number }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', `${root}agent/cli.ts`, 'apply', '--repo', repoDir, '--clouds', target.cloud], {
          cwd: root,
          env: { ...process.env, ...target.env() },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        let writes = 0;
        let killed = false;
        target.onWrite(() => {
          if (killed) return;
          writes++;
          if (writes === k) {
            killed = true;
            child.kill('SIGKILL');
          }
        });
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          target.onWrite(undefined);
          if (signal === 'SIGKILL' || code === 0) resolve({ killed: signal === 'SIGKILL', writes });
          else reject(new Error(`apply exited ${code}: ${stderr}`));
        });
      });
    }

    it(`converges to exactly the clean result after a SIGKILL at each of ${target.points} points`, async (t) => {
      const next = nextFiles(target);
      const repoDir = join(dir, 'repo');
      for (const [path, text] of Object.entries(next)) {
        mkdirSync(join(repoDir, path, '..'), { recursive: true });
        writeFileSync(join(repoDir, path), text);
      }

      // A clean, unkilled run: the reference world, and how many writes the pass makes.
      await resetToBase();
      const clean = await applyKilledAt(repoDir, 0);
      const reference = (await target.inventory()).sort();
      assert.ok(clean.writes >= 10, `the pass makes enough writes to kill it in many places (it made ${clean.writes})`);

      const failures: string[] = [];
      let killedRuns = 0;
      for (let point = 1; point <= target.points; point++) {
        // Fewer points than writes: spread evenly. More: every write, then around again with a second
        // kill-and-restart after the first.
        const k = target.points < clean.writes ? Math.max(1, Math.round((point * clean.writes) / target.points)) : ((point - 1) % clean.writes) + 1;
        await resetToBase();
        const first = await applyKilledAt(repoDir, k);
        if (first.killed) killedRuns++;
        if (point > clean.writes) await applyKilledAt(repoDir, 1 + (point % 5));
        // Restart: a new agent, nothing in memory but what the servers hold.
        const report = await agent(next).pass(['startup']);
        const fresh = await agent(next).pass(['startup']);
        const got = (await target.inventory()).sort();
        const ok = report.result === 'converged' && fresh.result === 'converged' && fresh.outcomes.length === 0 && JSON.stringify(got) === JSON.stringify(reference);
        if (!ok) failures.push(`kill at write ${k}: ${report.result} ${report.message ?? ''}; then ${fresh.outcomes.length} changes; extra ${JSON.stringify(got.filter((l) => !reference.includes(l)))} missing ${JSON.stringify(reference.filter((l) => !got.includes(l)))}`);
      }
      t.diagnostic(`${target.cloud}: kill points=${target.points} (writes per pass=${clean.writes}) killed mid-pass=${killedRuns} converged=${target.points - failures.length} leaked/duplicated/missing=${failures.length}`);
      assert.equal(killedRuns, target.points, 'every run was killed before it finished');
      assert.deepEqual(failures, []);
    });
  });
}
