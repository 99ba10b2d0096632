// Credentials never surface: the agent as a process, given a git URL with a token in it that fails to
// clone, a webhook secret and an API token; its logs, /api/status, /readyz and /metrics are searched for
// every one of them.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Reconciler } from '../../agent/engine/pass.js';
import { createLogger, redactSecrets } from '../../agent/log.js';
import { NodeProvider } from '../../agent/providers/node/index.js';
import { createUserspaceBackend } from '../../agent/providers/node/userspace.js';
import { createRenderer } from '../../agent/render/index.js';
import { freePortRange, MemoryRepo, nodeManifest } from '../helpers/agent-fixture.js';
import { AgentProcess, eventually, freePort } from '../helpers/agent-process.js';

const GIT_TOKEN = 'ghp_gitTokenD0NotLeak42';
const WEBHOOK_SECRET = 'whsec_webhookD0NotLeak42';
const API_TOKEN = 'apitok_D0NotLeak42';

describe('redaction (agent process)', () => {
  let agent: AgentProcess;
  const cache = mkdtempSync(join(tmpdir(), 'portcullis-redact-'));

  before(async () => {
    const closed = await freePort();
    const saved = { ...process.env };
    Object.assign(process.env, { PORTCULLIS_WEBHOOK_SECRET: WEBHOOK_SECRET, PORTCULLIS_API_TOKEN: API_TOKEN, PORTCULLIS_LOG_LEVEL: 'debug' });
    try {
      agent = new AgentProcess(['--repo', `https://deploy:${GIT_TOKEN}@127.0.0.1:${closed}/acme/config.git`, '--cache-dir', cache, '--interval', '300ms', '--clouds', 'node', '--node-backend', 'userspace', '--node-listen', '127.0.0.1'], await freePort());
    } finally {
      process.env = saved;
    }
  });
  after(async () => {
    await agent?.stop();
    rmSync(cache, { recursive: true, force: true });
  });

  it('a failing clone, a bad webhook and an authorised reconcile leave no credential in logs, status, readiness or metrics', async () => {
    const status = await eventually(async () => {
      const s = await agent.json<{ lastPass: { result: string; message: string } | null }>('/api/status');
      return s.lastPass ? s : undefined;
    }, `a first pass\n${agent.output}`, 60_000);
    assert.equal(status.lastPass!.result, 'failed');
    assert.match(status.lastPass!.message, /cannot clone https:\/\/\*\*\*@127\.0\.0\.1:\d+\/acme\/config\.git/, 'the URL is shown, its credentials are not');

    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const forged = await fetch(`${agent.url}/api/webhook/github`, { method: 'POST', body, headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', 'guess').update(body).digest('hex')}` } });
    assert.equal(forged.status, 401);
    const reconcile = await fetch(`${agent.url}/api/reconcile`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.equal(reconcile.status, 202);
    await eventually(async () => ((await agent.get('/metrics')).text.match(/^portcullis_passes_total\{trigger="api",result="failed"\} 1$/m) ? true : undefined), 'the API-triggered pass', 30_000);

    const seen = {
      status: (await agent.get('/api/status')).text,
      readyz: (await agent.get('/readyz')).text,
      metrics: (await agent.get('/metrics')).text,
      logs: agent.output,
    };
    assert.match(seen.metrics, /^portcullis_git_fetches_total\{result="error"\} [1-9]/m);
    assert.match(seen.logs, /"result":"failed"/, 'the pass lines were captured');
    for (const [where, text] of Object.entries(seen)) {
      for (const secret of [GIT_TOKEN, WEBHOOK_SECRET, API_TOKEN]) assert.equal(text.includes(secret), false, `${where} shows ${secret}:\n${text}`);
    }
  });
});

describe('the logger', () => {
  it('masks URL credentials and known secrets in messages, fields and errors, and censors secret keys', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = createLogger({ secrets: [API_TOKEN], destination: sink });
    log.info({ repo: `https://x:${GIT_TOKEN}@git.example.com/r.git`, token: 'plain-token-value', nested: { password: 'hunter2hunter2' } }, `fetch https://x:${GIT_TOKEN}@git.example.com failed`);
    log.warn({ err: new Error(`clone failed for ssh://git:${GIT_TOKEN}@host/r with ${API_TOKEN}`) }, 'oops');
    log.info(`header was Bearer ${API_TOKEN}`);
    for (const secret of [GIT_TOKEN, API_TOKEN, 'plain-token-value', 'hunter2hunter2']) assert.equal(out.includes(secret), false, `${secret} in:\n${out}`);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[0]!.repo, 'https://***@git.example.com/r.git');
    assert.equal(lines[0]!.token, '***');
    assert.equal(lines[0]!.msg, 'fetch https://***@git.example.com failed');
    assert.match(String((lines[1]!.err as { message: string }).message), /ssh:\/\/\*\*\*@host\/r with \*\*\*/);
    assert.equal(lines[2]!.msg, 'header was Bearer ***');
  });

  it('writes one line per pass with revision, trigger, result, opened, closed, changed and duration', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const backend = createUserspaceBackend({ listenHost: '127.0.0.1' });
    try {
      const range = await freePortRange(8);
      const repo = new MemoryRepo({ 'config.yaml': `private_cidrs: [127.0.0.0/8]\nnode: {port_range: ${range.from}-${range.to}}\n`, 'clusters/web.yaml': nodeManifest('web', '127.0.0.1', [41001, 41002]) });
      const reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { node: new NodeProvider(backend) }, log: createLogger({ destination: sink }) });
      await reconciler.pass(['startup']);
      repo.write({ 'clusters/web.yaml': nodeManifest('web', '127.0.0.1', [41001]) });
      await reconciler.pass(['poll', 'webhook']);
      const passes = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => 'durationMs' in l);
      assert.deepEqual(
        passes.map((p) => [p.revision, p.trigger, p.result, p.opened, p.closed, p.changed, typeof p.durationMs]),
        [
          ['r1', 'startup', 'converged', 2, 0, 0, 'number'],
          ['r2', 'poll,webhook', 'converged', 0, 1, 0, 'number'],
        ],
      );
    } finally {
      await backend.close();
    }
  });

  it('redactSecrets leaves text without credentials alone', () => {
    assert.equal(redactSecrets('git@github.com:acme/config.git at 1a2b3c'), 'git@github.com:acme/config.git at 1a2b3c');
    assert.equal(redactSecrets('https://github.com/acme/config.git'), 'https://github.com/acme/config.git');
  });
});
