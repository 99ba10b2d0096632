import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { admittedDesiredState } from '../../agent/engine/desired.js';
import type { PolicyRequest } from '../../agent/policy/types.js';
import { createRenderer } from '../../agent/render/index.js';
import { snapshotOf } from '../helpers/repo.js';
import { lines, nodeCluster } from './helpers.js';

// A real HTTP policy server on 127.0.0.1, answering per path; the agent's side is the real fetch.
type Handler = (req: PolicyRequest, res: ServerResponse) => void;
const handlers: Record<string, Handler> = {
  '/allow': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req)),
  '/mutate': (req, res) => {
    const cluster = { ...req.cluster, labels: { ...req.cluster.labels, 'reviewed-by': 'rest' }, ports: req.cluster.ports.map((p) => ({ ...p, cidrs: ['203.0.113.0/24'] })) };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...req, cluster }));
  },
  '/reject': (req, res) => res.writeHead(403, { 'content-type': 'text/plain' }).end(`cluster ${req.cluster.name} is frozen during the change window`),
  '/reject-json': (_req, res) => res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'port 80 needs a ticket' })),
  '/slow': () => {
    // Never answers: the agent must give up at its timeout.
  },
  '/error': (_req, res) => res.writeHead(500).end('stack trace here'),
};

describe('REST admin policies against a local HTTP server', () => {
  let base = '';
  const received: { path: string; body: PolicyRequest }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as PolicyRequest;
      received.push({ path: req.url ?? '', body });
      handlers[req.url ?? '']!(body, res);
    });
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const run = (entry: string) => admittedDesiredState(snapshotOf({ 'config.yaml': `admin_policy:\n  - ${entry}\n`, 'clusters/web.yaml': nodeCluster('web', '["+tcp:443"]') }, 'c0ffee'), createRenderer(), { purpose: 'apply' });

  it('allow: 200 with the request unchanged; the server got the whole request', async () => {
    const state = await run(`${base}/allow`);
    assert.deepEqual(state.violations, []);
    assert.deepEqual(state.clusters.map((c) => c.name), ['web']);
    const got = received.find((r) => r.path === '/allow')!.body;
    assert.equal(got.purpose, 'apply');
    assert.equal(got.revision, 'c0ffee');
    assert.equal(got.cluster.ports[0]!.from, 443);
    assert.deepEqual(got.settings.private_cidrs, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
  });

  it('mutate: 200 with a changed cluster, re-checked and rendered', async () => {
    const state = await run(`${base}/mutate`);
    assert.deepEqual(state.violations, []);
    assert.deepEqual(state.resources[0]!.body.sources, ['203.0.113.0/24']);
    assert.equal((state.resources[0]!.body.labels as Record<string, string>)['reviewed-by'], 'rest');
  });

  it('reject: a 4xx body is the message (or its JSON message)', async () => {
    assert.deepEqual(lines((await run(`${base}/reject`)).violations), [`[127.0.0.1:${base.split(':')[2]}/reject/rejected] cluster web is frozen during the change window (clusters/web.yaml:1)`]);
    const json = await run(`${base}/reject-json`);
    assert.equal(json.violations![0]!.message, 'port 80 needs a ticket');
    assert.deepEqual(json.brokenClusters, ['web']);
  });

  it('timeout: fails closed with a clear error, within the configured time', async () => {
    const started = Date.now();
    const state = await run(`{url: "${base}/slow", timeout: 0.3}`);
    assert.ok(Date.now() - started < 3000);
    assert.equal(state.violations![0]!.rule, 'unavailable');
    assert.equal(state.violations![0]!.message, `policy server ${base}/slow did not answer within 300 ms: the cluster is treated as rejected until it answers`);
    assert.deepEqual(state.brokenClusters, ['web']);
    assert.deepEqual(state.clusters, []);
  });

  it('500: fails closed, naming the server and the status', async () => {
    const state = await run(`${base}/error`);
    assert.equal(state.violations![0]!.message, `policy server ${base}/error answered HTTP 500 (stack trace here): the cluster is treated as rejected until it answers 200 or 4xx`);
    assert.deepEqual(state.problems.map((p) => p.code), ['POLICY_DENIED']);
  });

  it('a server that is down fails closed too; in warn mode the failure is reported but does not block', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as AddressInfo).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const down = `http://127.0.0.1:${port}/x`;
    const enforce = await run(down);
    assert.equal(enforce.violations![0]!.message, `policy server ${down} cannot be reached (ECONNREFUSED): the cluster is treated as rejected until it answers`);
    assert.deepEqual(enforce.clusters, []);
    const warn = await run(`{url: "${down}", mode: warn}`);
    assert.deepEqual(warn.clusters.map((c) => c.name), ['web']);
  });
});
