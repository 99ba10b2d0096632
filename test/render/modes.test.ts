import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Problem } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { defaultSettings, kubernetesCluster, publicSpec, spec } from '../helpers/fixtures.js';

const renderer = createRenderer();

function problemsOf(...args: Parameters<typeof renderer.render>): Problem[] {
  const { resources, problems } = renderer.render(...args);
  assert.deepEqual(resources, [], 'a cluster with a problem renders nothing');
  return problems;
}

describe('what a Kubernetes mode cannot do', () => {
  it('loadbalancer: ports with different sources are MODE_UNSUPPORTED, at the port that differs', () => {
    const other = spec(22, 22, { line: 7 });
    const problems = problemsOf(kubernetesCluster('mixed', { ports: [publicSpec(80), other] }), defaultSettings());
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.code, 'MODE_UNSUPPORTED');
    assert.equal(problems[0]!.cluster, 'mixed');
    assert.deepEqual(problems[0]!.at, other.at);
    assert.match(problems[0]!.message, /tcp 80 is open to anywhere while tcp 22 is open to 10\.0\.0\.0\/8/);
    assert.match(problems[0]!.message, /split the cluster .* or give every port the same exposure and cidrs/);
  });

  it('loadbalancer: the same sources written differently are one source list', () => {
    const settings = defaultSettings();
    const ports = [spec(80, 80, { cidrs: ['10.0.0.0/8', '192.168.0.0/16'] }), spec(81, 81, { cidrs: ['192.168.0.0/16', '10.0.0.0/8'] })];
    const { problems, resources } = renderer.render(kubernetesCluster('same', { ports }), settings);
    assert.deepEqual(problems, []);
    assert.deepEqual((resources[0]!.body.spec as Record<string, unknown>).loadBalancerSourceRanges, ['10.0.0.0/8', '192.168.0.0/16']);
  });

  it('ingress: UDP is MODE_UNSUPPORTED and says what to do', () => {
    const settings = defaultSettings();
    settings.kubernetes.ports = 'ingress';
    const udp = publicSpec(53, 53, { protocol: 'udp', line: 4 });
    const problems = problemsOf(kubernetesCluster('dns', { ports: [publicSpec(80), udp] }), settings);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.code, 'MODE_UNSUPPORTED');
    assert.deepEqual(problems[0]!.at, udp.at);
    assert.match(problems[0]!.message, /UDP port 53 .*kubernetes\.ports: loadbalancer/);
  });

  it('ingress: ports with different sources are MODE_UNSUPPORTED too (one allowlist per Ingress)', () => {
    const settings = defaultSettings();
    const problems = problemsOf(kubernetesCluster('mixed', { ports: [publicSpec(80), spec(22)] }, { ports: 'ingress' }), settings);
    assert.deepEqual(problems.map((p) => p.code), ['MODE_UNSUPPORTED']);
    assert.match(problems[0]!.message, /ingress mode/);
  });

  it('more than 100 Service ports after range expansion is MODE_UNSUPPORTED; 100 is fine', () => {
    const settings = defaultSettings();
    const ok = renderer.render(kubernetesCluster('hundred', { ports: [publicSpec(10000, 10089), publicSpec(20000, 20009)] }), settings);
    assert.deepEqual(ok.problems, []);
    assert.equal(((ok.resources[0]!.body.spec as Record<string, unknown>).ports as unknown[]).length, 100);
    for (const mode of ['loadbalancer', 'ingress'] as const) {
      const problems = problemsOf(kubernetesCluster('many', { ports: [publicSpec(10000, 10089), publicSpec(20000, 20010)] }, { ports: mode }), settings);
      assert.deepEqual(problems.map((p) => p.code), ['MODE_UNSUPPORTED']);
      assert.match(problems[0]!.message, /101 Service ports .*more than the 100/);
    }
  });

  it('the per-cluster mode wins over the settings', () => {
    const settings = defaultSettings();
    settings.kubernetes.ports = 'ingress';
    const { resources } = renderer.render(kubernetesCluster('lb', { ports: [publicSpec(53, 53, { protocol: 'udp' })] }, { ports: 'loadbalancer' }), settings);
    assert.deepEqual(resources.map((r) => r.kind), ['Service']);
  });
});
