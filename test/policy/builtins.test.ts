import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lines, kubeCluster, nodeCluster, stateOf } from './helpers.js';

// Every built-in policy, allowing and denying, through the real load → check → admit → render core.
describe('built-in policy deny-public-ports', () => {
  it('denies a public 22 and a public database port, naming the port and the line', () => {
    const state = stateOf('admin_policy: deny-public-ports\n', { web: nodeCluster('web', '["+tcp:22", "+5430-5440", 80]') });
    assert.deepEqual(lines(state.violations), [
      '[deny-public-ports/public-port] port 22/tcp of cluster web is open to anywhere, which admins do not allow for it: make it private, or narrow it with cidrs (clusters/web.yaml:5)',
      '[deny-public-ports/public-port] port 5432/tcp of cluster web is open to anywhere, which admins do not allow for it: make it private, or narrow it with cidrs (clusters/web.yaml:5)',
    ]);
    assert.equal(state.violations![0]!.at.col, 11);
    assert.deepEqual(state.brokenClusters, ['web']);
    assert.deepEqual(state.clusters, []);
    assert.ok(state.problems.every((p) => p.code === 'POLICY_DENIED' && p.severity === 'error'));
  });

  it('allows 22 when private, or public but narrowed by cidrs; allows other public ports', () => {
    const state = stateOf('admin_policy: deny-public-ports\n', { web: nodeCluster('web', '[22, {port: 3389, public: true, cidrs: [203.0.113.0/24]}, "+tcp:443"]') });
    assert.deepEqual(state.violations, []);
    assert.deepEqual(state.clusters.map((c) => c.name), ['web']);
  });

  it('takes its list from settings', () => {
    const config = 'admin_policy:\n  - {name: deny-public-ports, ports: [8080, "9000-9100"]}\n';
    const state = stateOf(config, { web: nodeCluster('web', '["+tcp:22", "+tcp:9050"]') });
    assert.deepEqual(state.violations!.map((v) => v.port), ['9050']);
  });
});

describe('built-in policy allowed-port-ranges', () => {
  const config = 'admin_policy:\n  - {name: allowed-port-ranges, ranges: [80, 443, "8000-8999"]}\n';
  it('names exactly the ports outside the allowed ranges', () => {
    const state = stateOf(config, { web: nodeCluster('web', '[80, "8990-9010", "udp:53"]') });
    assert.deepEqual(state.violations!.map((v) => `${v.rule} ${v.protocol}/${v.port}`), ['outside-range tcp/9000-9010', 'outside-range udp/53']);
  });
  it('allows ports inside, and only checks the protocols it is given', () => {
    assert.deepEqual(stateOf(config, { web: nodeCluster('web', '[80, 443, "8000-8100"]') }).violations, []);
    const tcpOnly = 'admin_policy:\n  - {name: allowed-port-ranges, ranges: [80], protocols: [tcp]}\n';
    assert.deepEqual(stateOf(tcpOnly, { web: nodeCluster('web', '[80, "udp:53"]') }).violations, []);
  });
});

describe('built-in policy require-public-cidrs', () => {
  const config = 'admin_policy:\n  - {name: require-public-cidrs, cidrs: [203.0.113.0/24, "2001:db8::/32"]}\n';
  it('denies a public port open to anywhere, and one open to a network outside the list', () => {
    const state = stateOf(config, { web: nodeCluster('web', '["+tcp:443", {port: 80, public: true, cidrs: [198.51.100.0/24]}]') });
    assert.deepEqual(state.violations!.map((v) => `${v.rule} ${v.port}${v.cidr ? ` ${v.cidr}` : ''}`), ['cidr-not-allowed 80 198.51.100.0/24', 'open-to-anywhere 443']);
  });
  it('allows public ports within the listed networks (IPv4 and IPv6), and private ports', () => {
    const state = stateOf(config, { web: nodeCluster('web', '[{port: 443, public: true, cidrs: [203.0.113.128/25, "2001:db8:1::/48"]}, 22]') });
    assert.deepEqual(state.violations, []);
  });
  it('with narrow: true, narrows instead of rejecting, and the narrowed sources are what renders', () => {
    const narrow = 'admin_policy:\n  - {name: require-public-cidrs, cidrs: [203.0.113.0/24], narrow: true}\n';
    const state = stateOf(narrow, { web: nodeCluster('web', '["+tcp:443"]') });
    assert.deepEqual(state.violations, []);
    assert.deepEqual(state.clusters[0]!.ports[0]!.cidrs, ['203.0.113.0/24']);
    assert.deepEqual(state.resources[0]!.body.sources, ['203.0.113.0/24']);
  });
});

describe('built-in policy max-ports', () => {
  it('counts every port of a range, and denies above the maximum at the cluster document', () => {
    const state = stateOf('admin_policy:\n  - {name: max-ports, max: 10}\n', { web: nodeCluster('web', '["8000-8009", 22]') });
    assert.deepEqual(lines(state.violations), ['[max-ports/too-many-ports] cluster web opens 11 ports, more than the 10 allowed per cluster: narrow its ranges, or split it (clusters/web.yaml:1)']);
  });
  it('allows up to the maximum', () => {
    assert.deepEqual(stateOf('admin_policy:\n  - {name: max-ports, max: 10}\n', { web: nodeCluster('web', '["8000-8009"]') }).violations, []);
  });
});

describe('built-in policy allowed-clouds', () => {
  it('denies a cloud and a Kubernetes mode that are not listed', () => {
    const config = 'admin_policy:\n  - {name: allowed-clouds, clouds: [kubernetes], kubernetes_modes: [loadbalancer]}\n';
    const state = stateOf(config, { web: nodeCluster('web', '[80]'), app: kubeCluster('app', '[80]', 'namespace: ml, ports: ingress') });
    assert.deepEqual(state.violations!.map((v) => `${v.cluster} ${v.rule}`), ['app mode-not-allowed', 'web cloud-not-allowed']);
  });
  it('allows what is listed, and forces a mode when told to (visible in what renders)', () => {
    const config = 'admin_policy:\n  - {name: allowed-clouds, clouds: [kubernetes, node], kubernetes_modes: [loadbalancer], force_kubernetes_mode: loadbalancer}\n';
    const state = stateOf(config, { web: nodeCluster('web', '[80]'), app: kubeCluster('app', '[80]', 'namespace: ml, ports: ingress') });
    assert.deepEqual(state.violations, []);
    const app = state.clusters.find((c) => c.name === 'app')!;
    assert.equal(app.cloud === 'kubernetes' && app.kubernetes.ports, 'loadbalancer');
    assert.deepEqual(state.resources.filter((r) => r.cluster === 'app').map((r) => r.kind), ['Service']);
  });
});

describe('built-in policy internal-load-balancers', () => {
  it('adds the internal load-balancer annotations of the cloud each context runs on', () => {
    const config = 'admin_policy:\n  - {name: internal-load-balancers, provider: aws, contexts: {gke-prod: gcp}}\n';
    const state = stateOf(config, { eks: kubeCluster('eks', '[443]'), gke: kubeCluster('gke', '[443]', 'namespace: ml, context: gke-prod') });
    assert.deepEqual(state.violations, []);
    const annotations = (cluster: string) => ((state.resources.find((r) => r.cluster === cluster)!.body.metadata as { annotations: Record<string, string> }).annotations);
    assert.equal(annotations('eks')['service.beta.kubernetes.io/aws-load-balancer-scheme'], 'internal');
    assert.equal(annotations('gke')['networking.gke.io/load-balancer-type'], 'Internal');
    assert.equal(annotations('gke')['service.beta.kubernetes.io/aws-load-balancer-scheme'], undefined, 'each cluster gets its own cloud\'s annotations only');
  });
  it('denies a load balancer whose cloud it cannot tell, and leaves other modes and clouds alone', () => {
    const config = 'admin_policy:\n  - {name: internal-load-balancers, contexts: {gke-prod: gcp}}\n';
    const state = stateOf(config, { lb: kubeCluster('lb', '[443]', 'namespace: ml, context: other'), pod: kubeCluster('pod', '[443]', 'namespace: ml, ports: podip'), web: nodeCluster('web', '[80]') });
    assert.deepEqual(state.violations!.map((v) => `${v.cluster} ${v.rule}`), ['lb unknown-provider']);
  });
});

describe('built-in policy add-labels', () => {
  it('adds its labels to every rendered object, over a manifest label of the same name, under the ownership labels', () => {
    const config = 'admin_policy:\n  - {name: add-labels, labels: {team: platform, cost-center: "42", portcullis.dev/cluster: hijack}}\n';
    const state = stateOf(config, { web: nodeCluster('web', '[80]', 'labels: {team: ml}\n') });
    assert.deepEqual(state.violations, []);
    const labels = state.resources[0]!.body.labels as Record<string, string>;
    assert.equal(labels.team, 'platform');
    assert.equal(labels['cost-center'], '42');
    assert.equal(labels['portcullis.dev/cluster'], 'web');
  });
});
