import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createMetrics } from '../../agent/metrics.js';
import { createAgentServer } from '../../agent/server/http.js';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Reconciler } from '../../agent/engine/pass.js';
import { violationLine } from '../../agent/policy/index.js';
import { KubernetesProvider } from '../../agent/providers/kubernetes/index.js';
import { createRenderer } from '../../agent/render/index.js';
import { startKubeApiserver, type FakeKube, type JsonObject } from '../fakes/kube-apiserver/index.js';
import { fastConverge, MemoryRepo, silentLog } from '../helpers/agent-fixture.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kubeCluster } from './helpers.js';

// The live audit finds what someone did by hand to objects portcullis owns, through the real
// @kubernetes/client-node against the wire-level API server fake.
const CONFIG = 'admin_policy:\n  - deny-public-ports\n  - {name: max-ports, max: 1, mode: warn}\n';
const root = fileURLToPath(new URL('../..', import.meta.url));

/** The real command line in its own process, without blocking this one: the API server fake lives here. */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', `${root}agent/cli.ts`, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

const OWNED = { 'app.kubernetes.io/managed-by': 'portcullis', 'portcullis.dev/cluster': 'ghost' };

describe('portcullis audit', () => {
  let fake: FakeKube;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-audit-'));
  before(async () => {
    fake = await startKubeApiserver();
    fake.createNamespace('ml');
    writeFileSync(join(dir, 'kubeconfig'), fake.kubeConfig().exportConfig());
    mkdirSync(join(dir, 'repo/clusters'), { recursive: true });
    writeFileSync(join(dir, 'repo/config.yaml'), CONFIG);
    writeFileSync(join(dir, 'repo/clusters/web.yaml'), kubeCluster('web', '["+tcp:443"]'));
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds a public port 22 on a Service that carries our labels but that no manifest asks for, and exits 1', async (t) => {
    t.after(() => fake.remove('Service', 'ml', 'ghost'));
    fake.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ghost', namespace: 'ml', labels: OWNED },
      spec: { type: 'LoadBalancer', selector: { app: 'ghost' }, ports: [{ name: 'ssh', protocol: 'TCP', port: 22, targetPort: 22 }] },
    });
    const result = await runCliAsync(['audit', '--repo', join(dir, 'repo'), '--clouds', 'kubernetes'], { KUBECONFIG: join(dir, 'kubeconfig') });
    assert.equal(result.status, 1, result.stderr + result.stdout);
    const rows = result.stdout.split('\n');
    assert.match(rows[0]!, /^CLUSTER\s+POLICY\/RULE\s+MODE\s+PORT\s+WHERE\s+MESSAGE$/);
    assert.match(rows[1]!, /^ghost\s+deny-public-ports\/public-port\s+enforce\s+tcp\/22\s+kubernetes\/ghost\/Service\/ghost\s+port 22\/tcp of cluster ghost is open to anywhere/);
    assert.match(result.stdout, /audit: 1 violation in what the providers hold \(1 enforced\) \(1 resources observed on kubernetes\)/);
  });

  it('JSON output, and exit 0 when only warn-mode policies find something', async (t) => {
    t.after(() => fake.remove('Service', 'ml', 'ghost'));
    fake.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ghost', namespace: 'ml', labels: OWNED },
      spec: { type: 'LoadBalancer', selector: { app: 'ghost' }, ports: [80, 81].map((port) => ({ name: `p${port}`, protocol: 'TCP', port, targetPort: port })) },
    });
    const result = await runCliAsync(['audit', '--repo', join(dir, 'repo'), '--clouds', 'kubernetes', '--format', 'json'], { KUBECONFIG: join(dir, 'kubeconfig') });
    assert.equal(result.status, 0, result.stderr);
    const body = JSON.parse(result.stdout) as { violations: { policy: string; mode: string; file: string; line: number }[] };
    assert.deepEqual(body.violations.map((v) => `${v.policy} ${v.mode} ${v.file}:${v.line}`), ['max-ports warn kubernetes/ghost/Service/ghost:0']);
  });

  it('runs periodically in the agent: a port opened by hand is reported on the pass report, then healed', async () => {
    const repo = new MemoryRepo({ 'config.yaml': CONFIG, 'clusters/web.yaml': kubeCluster('web', '["+tcp:443"]') });
    const provider = new KubernetesProvider({ kubeConfig: fake.kubeConfig() });
    const reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { kubernetes: provider }, log: silentLog, converge: fastConverge, auditIntervalMs: 0 });
    try {
      let report = await reconciler.pass(['startup']);
      assert.equal(report.result, 'converged', report.message);
      assert.deepEqual(report.audit, []);
      // Someone adds a public ssh port to the Service portcullis made.
      const live = fake.get('Service', 'ml', 'web')!;
      const metadata = live.metadata as JsonObject;
      for (const field of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields']) delete metadata[field];
      ((live.spec as JsonObject).ports as JsonObject[]).push({ name: 'ssh', protocol: 'TCP', port: 22, targetPort: 22 });
      fake.remove('Service', 'ml', 'web');
      fake.create('Service', live);

      report = await reconciler.pass(['drift']);
      assert.deepEqual(report.audit!.map(violationLine), [
        '[deny-public-ports/public-port] port 22/tcp of cluster web is open to anywhere, which admins do not allow for it: make it private, or narrow it with cidrs (kubernetes/web/Service/web)',
        '[max-ports/too-many-ports] cluster web opens 2 ports, more than the 1 allowed per cluster: narrow its ranges, or split it (kubernetes/web/Service/web)',
      ]);
      assert.deepEqual(reconciler.audited, report.audit);
      // And /api/status shows what the audit found.
      const server = createAgentServer({ reconciler, metrics: createMetrics(() => reconciler), trigger: () => {} });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const status = (await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/status`)).json()) as { audit: { policy: string; rule: string }[] };
        assert.deepEqual(status.audit.map((v) => `${v.policy}/${v.rule}`), ['deny-public-ports/public-port', 'max-ports/too-many-ports']);
      } finally {
        server.close();
      }
      const ports = ((fake.get('Service', 'ml', 'web')!.spec as JsonObject).ports as JsonObject[]).map((p) => p.port);
      assert.deepEqual(ports, [443], 'the pass sets the Service back to what Git says');
    } finally {
      await provider.close();
    }
  });
});
