// Webhook deliveries against the agent's real HTTP server: signatures and tokens, branches, events,
// size limits; a delivery that is not authentic must answer 401 and start nothing.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Trigger } from '../../agent/engine/scheduler.js';
import { constantTimeEqual, githubSignatureValid, gitlabTokenValid, judgeDelivery } from '../../agent/server/webhook.js';
import { valueOf } from '../metrics/read.js';
import { startTestServer, type TestServer } from './server-fixture.js';

const SECRET = 'whsec-0123456789abcdef';
const sign = (body: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const push = (ref: string) => JSON.stringify({ ref, after: 'a'.repeat(40), repository: { full_name: 'acme/config' } });

describe('webhook verification (pure)', () => {
  it('checks GitHub signatures over the exact bytes', () => {
    const body = Buffer.from(push('refs/heads/main'));
    assert.equal(githubSignatureValid(body, sign(body.toString()), SECRET), true);
    assert.equal(githubSignatureValid(body, sign(body.toString()).toUpperCase().replace('SHA256=', 'sha256='), SECRET), true, 'hex case does not matter');
    assert.equal(githubSignatureValid(body, sign(body.toString(), 'another-secret'), SECRET), false);
    assert.equal(githubSignatureValid(Buffer.from(`${body} `), sign(body.toString()), SECRET), false, 'one byte more breaks it');
    assert.equal(githubSignatureValid(body, sign(body.toString()).replace('sha256=', 'sha1='), SECRET), false);
    assert.equal(githubSignatureValid(body, 'sha256=', SECRET), false);
    assert.equal(githubSignatureValid(body, undefined, SECRET), false);
  });

  it('compares GitLab tokens and other secrets whole, whatever their lengths', () => {
    assert.equal(gitlabTokenValid(SECRET, SECRET), true);
    assert.equal(gitlabTokenValid(SECRET.slice(0, -1), SECRET), false);
    assert.equal(gitlabTokenValid(`${SECRET}x`, SECRET), false);
    assert.equal(gitlabTokenValid('', SECRET), false);
    assert.equal(constantTimeEqual('a', 'a'), true);
    assert.equal(constantTimeEqual('a', 'b'), false);
  });

  it('ignores other events and branches only once the delivery is authentic', () => {
    const body = Buffer.from(push('refs/heads/dev'));
    assert.deepEqual(judgeDelivery('github', { 'x-github-event': 'push' }, body, SECRET, 'main'), { kind: 'unauthorized', reason: 'missing X-Hub-Signature-256 header' });
    assert.equal(judgeDelivery('github', { 'x-github-event': 'push', 'x-hub-signature-256': sign(body.toString()) }, body, SECRET, 'main').kind, 'ignored');
    assert.equal(judgeDelivery('github', { 'x-github-event': 'push', 'x-hub-signature-256': sign(body.toString()) }, body, SECRET, 'dev').kind, 'trigger');
    assert.equal(judgeDelivery('gitlab', { 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-token': SECRET }, body, SECRET, 'dev').kind, 'ignored');
    assert.equal(judgeDelivery('github', { 'x-github-event': 'push', 'x-hub-signature-256': sign(push('refs/tags/main')) }, Buffer.from(push('refs/tags/main')), SECRET, 'main').kind, 'ignored');
  });
});

describe('webhook endpoints', () => {
  let server: TestServer;
  let triggers: Trigger[];

  before(async () => {
    server = await startTestServer({ webhookSecret: SECRET, branch: 'main', trigger: (t) => triggers.push(t) });
  });
  beforeEach(() => {
    triggers = [];
  });
  after(() => server.close());

  const github = (body: string, headers: Record<string, string>) => server.request('POST', '/api/webhook/github', { body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', ...headers } });
  const gitlab = (body: string, headers: Record<string, string>) => server.request('POST', '/api/webhook/gitlab', { body, headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', ...headers } });
  const deliveries = (provider: string, result: string) => valueOf(server.metrics.registry, 'portcullis_webhook_deliveries_total', { provider, result });

  it('GitHub: a signed push to the watched branch starts a pass', async () => {
    const body = push('refs/heads/main');
    const res = await github(body, { 'x-hub-signature-256': sign(body) });
    assert.deepEqual([res.status, JSON.parse(res.text)], [202, { triggered: true, ref: 'refs/heads/main' }]);
    assert.deepEqual(triggers, ['webhook']);
    assert.equal(await deliveries('github', 'triggered'), 1);
  });

  it('GitHub: no signature, a wrong one, or one for other bytes is 401 and starts nothing', async () => {
    const body = push('refs/heads/main');
    for (const headers of [{} as Record<string, string>, { 'x-hub-signature-256': sign(body, 'guess') }, { 'x-hub-signature-256': sign(push('refs/heads/other')) }, { 'x-hub-signature-256': 'sha256=zz' }]) {
      const res = await github(body, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(JSON.parse(res.text).error, /X-Hub-Signature-256/);
    }
    assert.deepEqual(triggers, []);
    assert.equal(await deliveries('github', 'unauthorized'), 4);
  });

  it('GitHub: a push to another branch and a ping are acknowledged and start nothing', async () => {
    const other = push('refs/heads/feature');
    const res = await github(other, { 'x-hub-signature-256': sign(other) });
    assert.deepEqual([res.status, JSON.parse(res.text).triggered], [202, false]);
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const pinged = await github(ping, { 'x-hub-signature-256': sign(ping), 'x-github-event': 'ping' });
    assert.deepEqual([pinged.status, JSON.parse(pinged.text).reason], [202, 'event ping is not a push']);
    assert.deepEqual(triggers, []);
  });

  it('GitHub: a signed body that is not JSON is 400', async () => {
    const res = await github('ref=refs/heads/main', { 'x-hub-signature-256': sign('ref=refs/heads/main') });
    assert.equal(res.status, 400);
    assert.deepEqual(triggers, []);
  });

  it('GitLab: the right token on a push to the branch starts a pass; a missing or wrong one is 401', async () => {
    const body = push('refs/heads/main');
    assert.equal((await gitlab(body, { 'x-gitlab-token': SECRET })).status, 202);
    assert.deepEqual(triggers, ['webhook']);
    assert.equal((await gitlab(body, {})).status, 401);
    assert.equal((await gitlab(body, { 'x-gitlab-token': `${SECRET}0` })).status, 401);
    assert.equal((await gitlab(body, { 'x-gitlab-token': SECRET.slice(1) })).status, 401);
    assert.deepEqual(triggers, ['webhook']);
    assert.equal(await deliveries('gitlab', 'unauthorized'), 3);
  });

  it('a body over 1 MiB is 413, whether announced by Content-Length or streamed without one', async () => {
    const big = `{"ref":"refs/heads/main","pad":"${'x'.repeat(1024 * 1024)}"}`;
    const res = await github(big, { 'x-hub-signature-256': sign(big) });
    assert.equal(res.status, 413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/webhook/gitlab`, { method: 'POST', headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET, 'transfer-encoding': 'chunked' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const write = () => {
        while (sent < 40 && req.write(chunk)) sent++;
        if (sent < 40) req.once('drain', write);
        else req.end();
      };
      write();
    });
    assert.equal(streamed, 413);
    assert.deepEqual(triggers, []);
    assert.equal(await deliveries('github', 'too_large'), 1);
    assert.equal(await deliveries('gitlab', 'too_large'), 1);
  });
});

describe('webhook endpoints without a secret', () => {
  it('answer 404 and say how to turn webhooks on: an unsigned push never starts a pass', async () => {
    const triggers: Trigger[] = [];
    const server = await startTestServer({ trigger: (t) => triggers.push(t) });
    try {
      const res = await server.request('POST', '/api/webhook/github', { body: push('refs/heads/main'), headers: { 'x-github-event': 'push' } });
      assert.equal(res.status, 404);
      assert.match(JSON.parse(res.text).error, /PORTCULLIS_WEBHOOK_SECRET or --webhook-secret-file/);
      assert.deepEqual(triggers, []);
    } finally {
      await server.close();
    }
  });
});
