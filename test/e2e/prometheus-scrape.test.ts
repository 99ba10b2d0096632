// A real Prometheus server (Debian's prometheus 2.x) scraping a running agent every second: the agent
// serves the bundled example on the userspace node backend; Prometheus must see the open ports the
// agent reports, and load the shipped alert rules as healthy.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, eventually, freePort } from '../helpers/agent-process.js';
import { freePortRange } from '../helpers/agent-fixture.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** An agent process starts in a few seconds, but in tens of them on a loaded CI machine. */
const STARTUP_MS = 60_000;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('a real Prometheus scrapes a running agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-prom-'));
  let agent: AgentProcess;
  let prometheus: ChildProcess;
  let promUrl = '';
  let promLog = '';

  before(async () => {
    const range = await freePortRange(64);
    const admin = join(dir, 'admin.yaml');
    writeFileSync(admin, `node:\n  port_range: ${range.from}-${range.to}\n`);
    agent = new AgentProcess(['--repo', 'examples/config-repo', '--clouds', 'node', '--node-backend', 'userspace', '--node-listen', '127.0.0.1', '--config', admin], await freePort());

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [join(root, 'deploy/prometheus/portcullis-rules.yaml')],
        scrape_configs: [{ job_name: 'portcullis', static_configs: [{ targets: [agent.url.replace('http://', '')] }] }],
      }),
    );
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (c: Buffer) => (promLog += c.toString()));
    prometheus.stderr!.on('data', (c: Buffer) => (promLog += c.toString()));
    await new Promise<void>((resolve, reject) => {
      prometheus.once('error', (err) => reject(new Error(`prometheus cannot run (${err.message}): install Debian's prometheus package (.ci/run does)`)));
      prometheus.once('spawn', () => resolve());
    });
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      await new Promise((resolve) => {
        prometheus.once('exit', resolve);
        prometheus.kill('SIGTERM');
      });
    }
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async (expr: string): Promise<Sample[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { status: string; data: { result: Sample[] } };
    assert.equal(body.status, 'success');
    return body.data.result;
  };

  it('sees the open ports the agent exports, with the same values', async () => {
    // What the agent itself serves once its first pass has opened the example's node forwards.
    const served = await eventually(async () => {
      const text = (await agent.get('/metrics')).text;
      const lines = [...text.matchAll(/^portcullis_open_ports\{([^}]*)\} (\d+)$/gm)];
      return lines.length > 0 ? lines : undefined;
    }, `the agent's first pass\n${agent.output}`, STARTUP_MS);
    const total = served.reduce((n, m) => n + Number(m[2]), 0);
    const jupyter = served.find((m) => m[1]!.includes('cluster="jupyter"') && m[1]!.includes('exposure="private"'));
    assert.equal(jupyter?.[2], '1', 'jupyter opens tcp/8888, privately');

    const scraped = await eventually(async () => {
      const result = await query('sum(portcullis_open_ports{job="portcullis"})');
      return result.length === 1 && Number(result[0]!.value[1]) === total ? result : undefined;
    }, `Prometheus to scrape ${total} open ports\n${promLog}`, STARTUP_MS, 500);
    assert.equal(Number(scraped[0]!.value[1]), total);
    const byCluster = await query('portcullis_open_ports{cluster="jupyter",exposure="private"}');
    assert.deepEqual(
      byCluster.map((s) => [s.metric.cloud, s.metric.protocol, s.value[1]]),
      [['node', 'tcp', '1']],
    );
    assert.deepEqual((await query('up{job="portcullis"}')).map((s) => s.value[1]), ['1']);
    const passes = await query('sum(portcullis_passes_total{trigger="startup",result="converged"})');
    assert.equal(passes[0]?.value[1], '1');
  });

  it('loads the shipped alert rules as healthy and evaluates them', async () => {
    const groups = await eventually(async () => {
      const res = await fetch(`${promUrl}/api/v1/rules`);
      const body = (await res.json()) as { data: { groups: { rules: { name: string; health: string; lastEvaluation: string }[] }[] } };
      const rules = body.data.groups.flatMap((g) => g.rules);
      return rules.length === 5 && rules.every((r) => r.health === 'ok' && !r.lastEvaluation.startsWith('0001')) ? rules : undefined;
    }, `the rules to be evaluated\n${promLog}`, STARTUP_MS, 500);
    assert.deepEqual(groups.map((r) => r.name).sort(), ['PortcullisDriftRepeating', 'PortcullisPassesFailing', 'PortcullisPublicSensitivePort', 'PortcullisSyncStale', 'PortcullisWebhookFailures']);
  });
});
