import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClusterStatus } from '../../agent/engine/status.js';
import { AgentProcess, eventually, freePort } from '../helpers/agent-process.js';
import { ADDRESSES, connect, createTopology, serve, type Server, type Topology } from '../helpers/netns.js';
import { TempGitRepo } from '../helpers/repo.js';

// The agent as users run it: a process following a branch of a local git repo, converging real nftables
// rules in a node namespace; a client namespace connects through the forwarded ports to an instance.
const manifest = (name: string, ports: string) => `name: ${name}\ncloud: node\nnode: {address: ${ADDRESSES.instance}}\nresources:\n  ports: ${ports}\n`;

interface Status {
  revision: string | null;
  clusters: ClusterStatus[];
  problems: { file: string; line: number; col: number; code: string }[];
}

describe('portcullis run (e2e: process, git, nftables in namespaces)', () => {
  let net: Topology;
  let server: Server;
  let agent: AgentProcess;
  const repo = new TempGitRepo();

  before(async () => {
    net = await createTopology();
    server = await serve(net.instance, 'tcp', [8080, 9090]);
    repo.commit('two clusters', {
      'config.yaml': `node: {port_range: 20000-20999, public_address: ${ADDRESSES.node}}\n`,
      'clusters/app.yaml': manifest('app', '[8080, "+tcp:9090"]'),
      'clusters/db.yaml': manifest('db', '[9090]'),
    });
    agent = new AgentProcess(['--repo', repo.dir, '--branch', 'main', '--node-backend', 'nftables', '--nft-netns', net.node.name, '--resync', '1h'], await freePort());
  });

  after(async () => {
    await agent?.stop();
    await server?.close();
    await net?.destroy();
    repo.remove();
  });

  const nodePort = (status: Status, cluster: string, port: string) => {
    const endpoint = status.clusters.find((c) => c.name === cluster)?.endpoints.find((e) => e.ports === port && e.exposure === 'private');
    return endpoint?.via ? Number(endpoint.via.split(':').at(-1)) : undefined;
  };
  const synced = (revision: string) => async () => {
    const status = await agent.json<Status>('/api/status');
    return status.revision === revision && status.clusters.every((c) => c.state !== 'progressing') ? status : undefined;
  };

  it('opens the ports of the first commit: real TCP flows through the node', async () => {
    const head = repo.git('rev-parse', 'HEAD');
    const status = await eventually(synced(head), `the first pass at ${head}\n${agent.output}`);
    assert.deepEqual(
      status.clusters.map((c) => [c.name, c.state, c.revision]),
      [
        ['app', 'synced', head],
        ['db', 'synced', head],
      ],
    );
    const appPort = nodePort(status, 'app', '8080')!;
    assert.ok(appPort >= 20000 && appPort <= 20999, `node port ${appPort} from node.port_range`);
    assert.deepEqual(await connect(net.client, 'tcp', ADDRESSES.node, appPort), { ok: true, reply: `hello 8080 ${ADDRESSES.nodeInner}` });
    const publicEndpoint = status.clusters.find((c) => c.name === 'app')!.endpoints.find((e) => e.exposure === 'public')!;
    assert.match(publicEndpoint.address, new RegExp(`^${ADDRESSES.node.replace(/\./g, '\\.')}:\\d+$`));
  });

  it('closes a port within seconds of the commit that removes it, and shows it in /metrics', async () => {
    const before = await agent.json<Status>('/api/status');
    const appPort = nodePort(before, 'app', '8080')!;
    const dbPort = nodePort(before, 'db', '9090')!;
    const started = Date.now();
    const head = repo.commit('app drops 8080', { 'clusters/app.yaml': manifest('app', '["+tcp:9090"]') });
    await eventually(synced(head), 'the pass after the commit');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `the watch noticed the commit in ${elapsed} ms`);
    assert.deepEqual(await connect(net.client, 'tcp', ADDRESSES.node, appPort), { ok: false, error: 'ECONNREFUSED' });
    assert.equal((await connect(net.client, 'tcp', ADDRESSES.node, dbPort)).ok, true, 'the other cluster is untouched');
    assert.equal(nodePort(await agent.json<Status>('/api/status'), 'db', '9090'), dbPort, 'node ports stay put');

    const metrics = (await agent.get('/metrics')).text;
    assert.match(metrics, /^portcullis_passes_total\{trigger="startup",result="converged"\} 1$/m);
    assert.match(metrics, /^portcullis_passes_total\{trigger="watch",result="converged"\} [1-9]\d*$/m);
    assert.match(metrics, /^portcullis_open_ports\{cluster="app",cloud="node",protocol="tcp",exposure="public"\} 1$/m);
    assert.doesNotMatch(metrics, /portcullis_open_ports\{cluster="app",cloud="node",protocol="tcp",exposure="private"\}/);
    assert.match(metrics, new RegExp(`^portcullis_applied_revision_info\\{revision="${head}"\\} 1$`, 'm'));
  });

  it('keeps the ports of a broken manifest open and reports where it is broken', async () => {
    const dbPort = nodePort(await agent.json<Status>('/api/status'), 'db', '9090')!;
    const head = repo.commit('break db', { 'clusters/db.yaml': 'name: db\ncloud: node\nnode: {address: 10.213.2.2}\nresources:\n  prots: [9090]\n' });
    const status = await eventually(async () => {
      const s = await agent.json<Status>('/api/status');
      return s.revision === head ? s : undefined;
    }, 'the pass over the broken commit');
    const db = status.clusters.find((c) => c.name === 'db')!;
    assert.equal(db.state, 'kept');
    assert.match(db.lastError!, /unknown key 'prots' — did you mean 'ports'\?/);
    assert.deepEqual(
      status.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.code}`),
      ['clusters/db.yaml:5:3 UNKNOWN_KEY'],
    );
    assert.equal((await connect(net.client, 'tcp', ADDRESSES.node, dbPort)).ok, true, 'a broken manifest never closes a port');
    assert.match((await agent.get('/metrics')).text, /^portcullis_manifest_problems\{code="UNKNOWN_KEY"\} 1$/m);
  });

  it('refuses to close everything when every manifest is deleted', async () => {
    const dbPort = nodePort(await agent.json<Status>('/api/status'), 'db', '9090')!;
    const head = repo.commit('delete everything', { 'clusters/app.yaml': null, 'clusters/db.yaml': null });
    const status = await eventually(async () => {
      const s = await agent.json<{ revision: string; lastPass: { result: string; message: string } }>('/api/status');
      return s.revision === head ? s : undefined;
    }, 'the pass over the empty commit');
    assert.equal(status.lastPass.result, 'blocked');
    assert.match(status.lastPass.message, /would close all \d+ open ports: refusing/);
    assert.equal((await connect(net.client, 'tcp', ADDRESSES.node, dbPort)).ok, true);
    assert.match((await agent.get('/metrics')).text, /^portcullis_passes_total\{trigger="watch",result="blocked"\} 1$/m);
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await agent.stop(), 0);
  });
});
