// Every endpoint of the agent's HTTP server over a real Reconciler: health, readiness, status, the
// reconcile trigger and its bearer token, errors for unknown paths and methods.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Trigger } from '../../agent/engine/scheduler.js';
import type { Provider } from '../../agent/providers/provider.js';
import { API_VERSION } from '../../agent/server/http.js';
import { VERSION } from '../../agent/version.js';
import { MemoryRepo, nodeManifest } from '../helpers/agent-fixture.js';
import { startTestServer, type TestServer } from './server-fixture.js';

const TOKEN = 'api-token-5f2d9c1e';

describe('HTTP API', () => {
  let server: TestServer;
  const triggers: Trigger[] = [];

  before(async () => {
    server = await startTestServer({ apiToken: TOKEN, trigger: (t) => triggers.push(t), leader: () => true });
  });
  after(() => server.close());

  it('/healthz answers while the process lives, before any pass', async () => {
    assert.deepEqual(await server.request('GET', '/healthz').then((r) => [r.status, r.text]), [200, 'ok\n']);
  });

  it('/readyz is 503 until a pass has read the config repo, then 200', async () => {
    const before = await server.request('GET', '/readyz');
    assert.deepEqual([before.status, before.text], [503, 'not ready: no pass has run yet\n']);
    await server.reconciler.pass(['startup']);
    assert.deepEqual(await server.request('GET', '/readyz').then((r) => [r.status, r.text]), [200, 'ready\n']);
  });

  it('/api/health has the shape DESIGN.md gives', async () => {
    const res = await server.request('GET', '/api/health');
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.text), { status: 'healthy', api_version: API_VERSION, version: VERSION, commit: 'unknown' });
  });

  it('/api/status: revision, leadership, last pass, last error, clusters with ports and endpoints, problems', async () => {
    const status = JSON.parse((await server.request('GET', '/api/status')).text);
    assert.equal(status.revision, 'r1');
    assert.equal(status.leader, true);
    assert.equal(status.lastPass.result, 'converged');
    assert.deepEqual(
      status.clusters.map((c: { name: string; cloud: string; state: string; lastError: string; ports: unknown[]; endpoints: unknown[] }) => [c.name, c.cloud, c.state, c.lastError, c.ports.length > 0, Array.isArray(c.endpoints)]),
      [['web', 'node', 'unavailable', 'no node provider runs in this agent', true, true]],
    );
    assert.equal(status.lastError, 'no node provider runs in this agent');
    assert.deepEqual(status.problems, []);
  });

  it('POST /api/reconcile needs the bearer token: none or a wrong one is 401 and triggers nothing', async () => {
    const none = await server.request('POST', '/api/reconcile');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="portcullis"');
    assert.equal((await server.request('POST', '/api/reconcile', { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
    assert.equal((await server.request('POST', '/api/reconcile', { headers: { authorization: TOKEN } })).status, 401, 'the scheme is required');
    assert.deepEqual(triggers, []);
    const ok = await server.request('POST', '/api/reconcile', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual([ok.status, JSON.parse(ok.text)], [202, { accepted: true }]);
    assert.deepEqual(triggers, ['api']);
  });

  it('reading endpoints need no token; unknown paths are 404, wrong methods 405 with Allow', async () => {
    assert.equal((await server.request('GET', '/api/status')).status, 200);
    assert.equal((await server.request('GET', '/metrics')).status, 200);
    assert.equal((await server.request('GET', '/api/nothing')).status, 404);
    const wrong = await server.request('GET', '/api/reconcile');
    assert.deepEqual([wrong.status, wrong.headers.allow], [405, 'POST']);
  });
});

describe('HTTP API without a token, and readiness when things fail', () => {
  it('POST /api/reconcile needs no token when none is configured', async () => {
    const triggers: Trigger[] = [];
    const server = await startTestServer({ trigger: (t) => triggers.push(t) });
    try {
      assert.equal((await server.request('POST', '/api/reconcile')).status, 202);
      assert.deepEqual(triggers, ['api']);
    } finally {
      await server.close();
    }
  });

  it('/readyz is 503 while the repo cannot be read, and while a provider cannot be observed', async () => {
    const broken = await startTestServer({ source: { snapshot: () => Promise.reject(new Error('git fetch failed: connection refused')) } });
    const unreachable: Provider = {
      cloud: 'node',
      observe: () => Promise.reject(new Error('node backend is gone')),
      endpoints: () => [],
    };
    const blind = await startTestServer({ source: new MemoryRepo({ 'clusters/web.yaml': nodeManifest('web', '127.0.0.1', [8080]) }), providers: { node: unreachable } });
    try {
      await broken.reconciler.pass(['startup']);
      const notRead = await broken.request('GET', '/readyz');
      assert.equal(notRead.status, 503);
      assert.match(notRead.text, /^not ready: the config repo has not been read yet: cannot read the config repo: git fetch failed: connection refused/);
      await blind.reconciler.pass(['startup']);
      const notObserved = await blind.request('GET', '/readyz');
      assert.equal(notObserved.status, 503);
      assert.match(notObserved.text, /node: cannot observe: node backend is gone/);
    } finally {
      await broken.close();
      await blind.close();
    }
  });
});
