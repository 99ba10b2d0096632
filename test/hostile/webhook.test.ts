// Forged webhooks against the agent's real HTTP server on 127.0.0.1: signatures that are missing, wrong,
// cut short or of another algorithm, a replayed body with another branch, bodies that are too big, not
// JSON or of another type, huge and duplicated headers, a flood. Each must answer 401, 413, 400 or 431 and
// never start a pass; the server must still answer afterwards. (test/server/webhook.test.ts holds the
// everyday cases; these are the attacks.)
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import type { Trigger } from '../../agent/engine/scheduler.js';
import { Tally } from '../fuzz/lib.js';
import { startTestServer, type TestServer } from '../server/server-fixture.js';

const SECRET = 'whsec-hostile-0123456789';
const hmac = (algorithm: string, body: string, secret = SECRET) => createHmac(algorithm, secret).update(body).digest('hex');
const sign = (body: string, secret = SECRET) => `sha256=${hmac('sha256', body, secret)}`;
const push = (ref: string) => JSON.stringify({ ref, after: 'b'.repeat(40), repository: { full_name: 'acme/config' } });
const MAIN = push('refs/heads/main');

let server: TestServer;
let triggers: Trigger[];

before(async () => {
  server = await startTestServer({ webhookSecret: SECRET, branch: 'main', trigger: (t) => triggers.push(t) });
});
beforeEach(() => {
  triggers = [];
});
after(() => server.close());

interface Delivery {
  name: string;
  provider: 'github' | 'gitlab';
  body: string;
  headers: Record<string, string>;
  status: number;
}

const github = (name: string, body: string, headers: Record<string, string>, status: number): Delivery => ({ name, provider: 'github', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', ...headers }, status });
const gitlab = (name: string, body: string, headers: Record<string, string>, status: number): Delivery => ({ name, provider: 'gitlab', body, headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', ...headers }, status });

const valid = sign(MAIN);
const FORGED: Delivery[] = [
  github('no signature', MAIN, {}, 401),
  github('signature with another secret', MAIN, { 'x-hub-signature-256': sign(MAIN, 'guessed-secret') }, 401),
  github('signature cut by one hex digit', MAIN, { 'x-hub-signature-256': valid.slice(0, -1) }, 401),
  github('signature cut to half', MAIN, { 'x-hub-signature-256': valid.slice(0, 7 + 32) }, 401),
  github('signature one digit longer', MAIN, { 'x-hub-signature-256': `${valid}0` }, 401),
  github('only the prefix', MAIN, { 'x-hub-signature-256': 'sha256=' }, 401),
  github('the right HMAC without its prefix', MAIN, { 'x-hub-signature-256': hmac('sha256', MAIN) }, 401),
  github('an HMAC-SHA1 in the sha256 header', MAIN, { 'x-hub-signature-256': `sha1=${hmac('sha1', MAIN)}` }, 401),
  github('an HMAC-SHA512 in the sha256 header', MAIN, { 'x-hub-signature-256': `sha512=${hmac('sha512', MAIN)}` }, 401),
  github('only the legacy SHA1 header', MAIN, { 'x-hub-signature': `sha1=${hmac('sha1', MAIN)}` }, 401),
  github('the sha256 digest of the body, no key', MAIN, { 'x-hub-signature-256': `sha256=${createHmac('sha256', '').update(MAIN).digest('hex')}` }, 401),
  github('replayed body with another branch, signature of the original', push('refs/heads/main').replace('"ref":"refs/heads/main"', '"ref":"refs/heads/main" '), { 'x-hub-signature-256': sign(push('refs/heads/dev')) }, 401),
  github('replay: a delivery signed for dev, its ref edited to main', MAIN, { 'x-hub-signature-256': sign(push('refs/heads/dev')) }, 401),
  github('body with a trailing newline added after signing', `${MAIN}\n`, { 'x-hub-signature-256': valid }, 401),
  github('a Latin-1 byte in place of a hex digit', MAIN, { 'x-hub-signature-256': `sha256=\u00e9${valid.slice(8)}` }, 401),
  github('signed, but not JSON', 'ref=refs/heads/main', { 'x-hub-signature-256': sign('ref=refs/heads/main') }, 400),
  github('signed form-encoded payload (wrong content type)', `payload=${encodeURIComponent(MAIN)}`, { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': sign(`payload=${encodeURIComponent(MAIN)}`) }, 400),
  github('signed JSON whose ref is a list', JSON.stringify({ ref: ['refs/heads/main'] }), { 'x-hub-signature-256': sign(JSON.stringify({ ref: ['refs/heads/main'] })) }, 400),
  github('signed JSON with ref only on __proto__', '{"__proto__": {"ref": "refs/heads/main"}}', { 'x-hub-signature-256': sign('{"__proto__": {"ref": "refs/heads/main"}}') }, 400),
  github('signed JSON null', 'null', { 'x-hub-signature-256': sign('null') }, 400),
  github('signed JSON nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, { 'x-hub-signature-256': sign(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) }, 400),
  github('signed, over 1 MiB', `{"ref":"refs/heads/main","pad":"${'x'.repeat(1024 * 1024)}"}`, { 'x-hub-signature-256': sign(`{"ref":"refs/heads/main","pad":"${'x'.repeat(1024 * 1024)}"}`) }, 413),
  gitlab('no token', MAIN, {}, 401),
  gitlab('token cut by one character', MAIN, { 'x-gitlab-token': SECRET.slice(0, -1) }, 401),
  gitlab('token with a prefix', MAIN, { 'x-gitlab-token': `Bearer ${SECRET}` }, 401),
  gitlab('the GitHub signature as the token', MAIN, { 'x-gitlab-token': valid }, 401),
  gitlab('right token, not JSON', 'ref=refs/heads/main', { 'x-gitlab-token': SECRET }, 400),
  gitlab('right token, over 1 MiB', `{"ref":"refs/heads/main","pad":"${'x'.repeat(1024 * 1024)}"}`, { 'x-gitlab-token': SECRET }, 413),
];

function report(t: TestContext, tally: Tally, failures: string[]): void {
  tally.report(t);
  assert.deepEqual(failures, []);
}

describe('hostile: forged webhooks', () => {
  it(`${FORGED.length} forged deliveries are refused and start nothing`, async (t) => {
    const tally = new Tally();
    const failures: string[] = [];
    for (const delivery of FORGED) {
      tally.tried++;
      const res = await server.request('POST', `/api/webhook/${delivery.provider}`, { body: delivery.body, headers: delivery.headers });
      if (res.status !== delivery.status || triggers.length > 0) {
        tally.failed++;
        failures.push(`${delivery.provider} ${delivery.name}: ${res.status} (wanted ${delivery.status}), ${triggers.length} passes started: ${res.text.slice(0, 200)}`);
      }
      triggers = [];
    }
    report(t, tally, failures);
  });

  it('a duplicated signature header (a wrong one, then the right one) is refused', async (t) => {
    const tally = new Tally();
    tally.tried++;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/webhook/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'content-length': String(Buffer.byteLength(MAIN)) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.setHeader('x-hub-signature-256', [sign(MAIN, 'wrong'), valid]);
      req.on('error', reject);
      req.end(MAIN);
    });
    report(t, tally, status === 401 && triggers.length === 0 ? [] : [`answered ${status}, ${triggers.length} passes`]);
  });

  it('a 64 KiB header is refused by the server (431) before any handler runs', async (t) => {
    const tally = new Tally();
    tally.tried++;
    const { port } = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('close', () => resolve(text));
      socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(text) : reject(err)));
      socket.end(`POST /api/webhook/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: ${valid}\r\nX-Pad: ${'a'.repeat(64 * 1024)}\r\nContent-Length: ${MAIN.length}\r\n\r\n${MAIN}`);
    });
    report(t, tally, /^HTTP\/1\.1 431 /.test(answer) && triggers.length === 0 ? [] : [`answered ${JSON.stringify(answer.slice(0, 80))}, ${triggers.length} passes`]);
  });

  it('a flood of 300 forged deliveries at once: all refused, none starts a pass, the server still answers', async (t) => {
    const tally = new Tally();
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        tally.tried++;
        const body = push(`refs/heads/main${i % 2 === 0 ? '' : '-x'}`);
        return server.request('POST', '/api/webhook/github', { body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': sign(body, `guess-${i}`) } });
      }),
    );
    const wrong = answers.filter((a) => a.status !== 401);
    tally.failed = wrong.length;
    const health = await server.request('GET', '/healthz');
    report(t, tally, [...wrong.map((a) => `answered ${a.status}`), ...(triggers.length > 0 ? [`${triggers.length} passes started`] : []), ...(health.status === 200 ? [] : [`healthz ${health.status}`])]);
  });

  it('after all of it, one authentic delivery still starts exactly one pass', async () => {
    const res = await server.request('POST', '/api/webhook/github', { body: MAIN, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': valid } });
    assert.equal(res.status, 202);
    assert.deepEqual(triggers, ['webhook']);
  });
});
