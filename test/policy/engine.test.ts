import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from '../../agent/policy/engine.js';
import type { Policy, PolicyRequest } from '../../agent/policy/types.js';
import { defaultSettings } from '../../agent/manifest/settings.js';
import type { Cluster } from '../../agent/model.js';
import { Reconciler } from '../../agent/engine/pass.js';
import { NodeProvider } from '../../agent/providers/node/index.js';
import { createUserspaceBackend } from '../../agent/providers/node/userspace.js';
import { createRenderer } from '../../agent/render/index.js';
import { fastConverge, MemoryRepo, silentLog } from '../helpers/agent-fixture.js';
import { lines, nodeCluster, stateOf } from './helpers.js';

const at = { file: 'clusters/web.yaml', line: 1, col: 1 };
const cluster: Cluster = { name: 'web', cloud: 'node', node: { address: '10.0.0.2' }, labels: {}, ports: [{ protocol: 'tcp', from: 80, to: 80, exposure: 'public', cidrs: [], names: [], at: { ...at, line: 5 } }], at };
const request: PolicyRequest = { cluster, settings: defaultSettings(), revision: 'r1', purpose: 'plan' };

/** A policy that labels the cluster with its own name and records the labels it saw. */
function labeller(name: string, mode: Policy['mode'], seen: string[][], reject = false): Policy {
  return {
    name,
    mode,
    validateAndMutate(r) {
      seen.push(Object.keys(r.cluster.labels));
      return { request: { ...r, cluster: { ...r.cluster, labels: { ...r.cluster.labels, [name]: 'yes' } } }, findings: reject ? [{ rule: 'no', message: `${name} says no` }] : [] };
    },
  };
}

describe('policy engine: modes and order', () => {
  it('runs policies in order, each seeing the mutations kept before it', async () => {
    const seen: string[][] = [];
    const result = await admit([labeller('a', 'enforce', seen), labeller('b', 'warn', seen), labeller('c', 'enforce', seen)], request);
    assert.deepEqual(seen, [[], ['a'], ['a', 'b']]);
    assert.deepEqual(Object.keys(result.request.cluster.labels), ['a', 'b', 'c']);
    assert.equal(result.denied, false);
  });

  it('enforce: a finding denies and drops that policy\'s mutation; later policies still run and report', async () => {
    const seen: string[][] = [];
    const result = await admit([labeller('a', 'enforce', seen, true), labeller('b', 'enforce', seen, true)], request);
    assert.equal(result.denied, true);
    assert.deepEqual(seen, [[], []]);
    assert.deepEqual(result.violations.map((v) => `${v.policy}/${v.rule} ${v.mode}`), ['a/no enforce', 'b/no enforce']);
    assert.deepEqual(result.request.cluster.labels, {});
  });

  it('warn: reported, not blocking, mutation kept; audit: counted only, mutation dropped', async () => {
    const seen: string[][] = [];
    const result = await admit([labeller('w', 'warn', seen, true), labeller('au', 'audit', seen, true)], request);
    assert.equal(result.denied, false);
    assert.deepEqual(result.violations.map((v) => v.mode), ['warn', 'audit']);
    assert.deepEqual(Object.keys(result.request.cluster.labels), ['w']);
  });

  it('a policy that throws counts as rejecting (fail closed in enforce mode)', async () => {
    const broken: Policy = { name: 'boom', mode: 'enforce', validateAndMutate: () => Promise.reject(new Error('database down')) };
    const result = await admit([broken], request);
    assert.equal(result.denied, true);
    assert.deepEqual(lines(result.violations), ['[boom/error] database down (clusters/web.yaml:1)']);
  });

  it('re-checks a mutated cluster: invalid ports or a rename are refused, and the mutation ignored', async () => {
    const bad = (change: Partial<Cluster>): Policy => ({ name: 'bad', mode: 'warn', validateAndMutate: (r) => ({ request: { ...r, cluster: { ...r.cluster, ...change } as Cluster }, findings: [] }) });
    const badPort = await admit([bad({ ports: [{ ...cluster.ports[0]!, from: 0, to: 70000 }] })], request);
    assert.equal(badPort.violations[0]!.rule, 'invalid-mutation');
    assert.match(badPort.violations[0]!.message, /ports that are not valid/);
    assert.equal(badPort.request.cluster, cluster);
    const renamed = await admit([bad({ name: 'other' })], request);
    assert.match(renamed.violations[0]!.message, /may not rename/);
  });
});

describe('policy modes through the desired state', () => {
  const config = (mode: string) => `admin_policy:\n  - {name: deny-public-ports, mode: ${mode}}\n`;
  const clusters = { web: nodeCluster('web', '["+tcp:22"]') };
  it('enforce: an error problem, and the cluster is not rendered', () => {
    const state = stateOf(config('enforce'), clusters);
    assert.deepEqual(state.problems.map((p) => `${p.code} ${p.severity}`), ['POLICY_DENIED error']);
    assert.deepEqual(state.brokenClusters, ['web']);
  });
  it('warn: a warning problem, and the cluster renders', () => {
    const state = stateOf(config('warn'), clusters);
    assert.deepEqual(state.problems.map((p) => `${p.code} ${p.severity}`), ['POLICY_WARNING warning']);
    assert.deepEqual(state.clusters.map((c) => c.name), ['web']);
  });
  it('audit: no problem at all, the violation only on the record', () => {
    const state = stateOf(config('audit'), clusters);
    assert.deepEqual(state.problems, []);
    assert.deepEqual(state.violations!.map((v) => v.mode), ['audit']);
  });
});

describe('a cluster an enforce policy rejects keeps its last good state in the agent', () => {
  it('does not close its open ports, reports the violation on the pass report', async () => {
    const repo = new MemoryRepo({ 'config.yaml': 'node: {port_range: 21000-21100}\nadmin_policy: deny-public-ports\n', 'clusters/web.yaml': nodeCluster('web', '["+tcp:80"]') });
    const backend = createUserspaceBackend({ listenHost: '127.0.0.1' });
    const reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { node: new NodeProvider(backend) }, log: silentLog, converge: fastConverge });
    try {
      let report = await reconciler.pass(['startup']);
      assert.equal(report.result, 'converged', report.message);
      assert.equal(reconciler.held.get('node')!.length, 1);
      repo.write({ 'clusters/web.yaml': nodeCluster('web', '["+tcp:22"]') });
      report = await reconciler.pass(['watch']);
      assert.deepEqual(report.outcomes, [], 'a denied manifest changes nothing');
      assert.deepEqual(lines(report.violations), ['[deny-public-ports/public-port] port 22/tcp of cluster web is open to anywhere, which admins do not allow for it: make it private, or narrow it with cidrs (clusters/web.yaml:5)']);
      assert.deepEqual(report.problems.map((p) => p.code), ['POLICY_DENIED']);
      const held = reconciler.held.get('node')!;
      assert.deepEqual(held.map((r) => r.body.port), [80], 'port 80 stays open');
      assert.equal(reconciler.status.find((s) => s.name === 'web')!.state, 'kept');
    } finally {
      await backend.close?.();
    }
  });
});
