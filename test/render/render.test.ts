import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Cluster, Resource, Settings } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { awsCluster, defaultSettings, gcpCluster, kubernetesCluster, nodeCluster, publicSpec, spec } from '../helpers/fixtures.js';
import { assertGolden } from '../helpers/golden.js';

const renderer = createRenderer();
const golden = (name: string) => fileURLToPath(new URL(`golden/${name}.yaml`, import.meta.url));

/** The rendered resources as YAML, one document each, headed by its id: what the golden files hold. */
function asYaml(resources: Resource[]): string {
  return resources.map((r) => `# ${r.id}\n${stringify(r.body, { lineWidth: 0 })}`).join('---\n');
}

function renderAll(clusters: Cluster[], settings: Settings): Resource[] {
  return clusters.flatMap((cluster) => {
    const { resources, problems } = renderer.render(cluster, settings);
    assert.deepEqual(problems, [], `problems rendering ${cluster.name}`);
    return resources;
  });
}

function kubernetesSettings(): Settings {
  const settings = defaultSettings();
  settings.kubernetes.custom_metadata = {
    labels: { team: 'ml', 'portcullis.dev/cluster': 'user-cannot-override' },
    annotations: { 'example.com/owner': 'ml-platform' },
  };
  return settings;
}

// A range, a public port, a private port with cidrs (IPv4 and IPv6), UDP, a private port with the default sources.
const mixedPorts = () => [
  publicSpec(80),
  spec(53, 53, { protocol: 'udp', cidrs: ['10.1.0.0/16', 'fd00::/8'] }),
  spec(8888),
  spec(10020, 10022, { cidrs: ['10.1.0.0/16', 'fd00::/8'] }),
];

describe('shipped templates (golden files; UPDATE_GOLDEN=1 rewrites them)', () => {
  it('kubernetes-loadbalancer: one Service with every port of the cluster', () => {
    const open = kubernetesCluster('web', { ports: [publicSpec(80), publicSpec(443), publicSpec(10020, 10022), publicSpec(53, 53, { protocol: 'udp' })], labels: { app: 'web', 'app.kubernetes.io/managed-by': 'me' } }, { namespace: 'ml', selector: { app: 'web' } });
    const narrow = kubernetesCluster('jupyter', { ports: [spec(8888, 8888, { cidrs: ['10.1.0.0/16'] }), spec(53, 53, { protocol: 'udp', cidrs: ['10.1.0.0/16'] }), spec(10020, 10021, { cidrs: ['10.1.0.0/16'] })] }, { namespace: 'ml', selector: { app: 'jupyter' } });
    const resources = renderAll([open, narrow], kubernetesSettings());
    assert.deepEqual(resources.map((r) => r.id), ['kubernetes/web/Service/web', 'kubernetes/jupyter/Service/jupyter']);
    assert.equal((resources[0]!.body.spec as Record<string, unknown>).loadBalancerSourceRanges, undefined, 'open to anyone: no source ranges');
    assertGolden(golden('kubernetes-loadbalancer'), asYaml(resources));
  });

  it('kubernetes-ingress: one Ingress with a path per port, one ClusterIP Service per port', () => {
    const settings = kubernetesSettings();
    settings.kubernetes.ports = 'ingress';
    const open = kubernetesCluster('web', { ports: [publicSpec(80), publicSpec(8080, 8081)] }, { namespace: 'ml', selector: { app: 'web' } });
    const privateOnes = kubernetesCluster('notebook', { ports: [spec(8888), spec(6006)] }, { namespace: 'ml', selector: { app: 'notebook' } });
    const plain = renderAll([open, privateOnes], settings);
    settings.kubernetes.ingress = { class: 'nginx-internal', host: 'ports.example.com', tls: true };
    const hosted = renderAll([kubernetesCluster('hosted', { ports: [publicSpec(8888)] })], settings);
    assert.deepEqual(plain.map((r) => r.id).slice(0, 4), ['kubernetes/web/Ingress/web', 'kubernetes/web/Service/web-80', 'kubernetes/web/Service/web-8080', 'kubernetes/web/Service/web-8081']);
    assertGolden(golden('kubernetes-ingress'), asYaml([...plain, ...hosted]));
  });

  it('aws-security-group: one group per cluster, one rule per protocol, ports and source', () => {
    const settings = defaultSettings();
    const own = awsCluster('jupyter', { ports: mixedPorts() }, { vpc: 'vpc-0123', instance_tags: { Name: 'jupyter' } });
    settings.aws = { use_internal_ips: false, vpc_name: 'shared-vpc', security_group_name: 'team-sg' };
    const shared = awsCluster('batch', { ports: [spec(22)] }, { region: 'eu-west-1', instance_ids: ['i-0123456789abcdef0'], instance_tags: undefined });
    const resources = [...renderAll([own], defaultSettings()), ...renderAll([shared], settings)];
    assert.deepEqual(resources.map((r) => [r.name, r.body.managed_group]), [['portcullis-jupyter', true], ['team-sg', false]]);
    assertGolden(golden('aws-security-group'), asYaml(resources));
  });

  it('gcp-firewall: one rule per protocol, exposure, source list and IP family', () => {
    const settings = defaultSettings();
    settings.gcp.vpc_name = 'prod-vpc';
    const resources = renderAll([gcpCluster('jupyter', { ports: [...mixedPorts(), spec(6006), spec(60000, 60010, { protocol: 'udp' })] }, { target_tags: ['jupyter', 'gpu'] })], settings);
    assert.deepEqual(
      resources.map((r) => r.name),
      ['portcullis-jupyter-tcp-public', 'portcullis-jupyter-tcp-public-v6', 'portcullis-jupyter-udp-private-13035ff5', 'portcullis-jupyter-udp-private-13035ff5-v6', 'portcullis-jupyter-tcp-private', 'portcullis-jupyter-tcp-private-13035ff5', 'portcullis-jupyter-tcp-private-13035ff5-v6', 'portcullis-jupyter-udp-private'],
    );
    assertGolden(golden('gcp-firewall'), asYaml(resources));
  });

  it('node-forward: one forward per port, so a port keeps its node port when its range grows', () => {
    const resources = renderAll([nodeCluster('jupyter', { ports: mixedPorts(), labels: { team: 'ml' } })], defaultSettings());
    assert.deepEqual(
      resources.map((r) => r.name),
      ['jupyter-tcp-80', 'jupyter-udp-53', 'jupyter-tcp-8888', 'jupyter-tcp-10020', 'jupyter-tcp-10021', 'jupyter-tcp-10022'],
    );
    assertGolden(golden('node-forward'), asYaml(resources));
  });

  it('node-forward: refuses more forwarded ports than a node cluster may hold', () => {
    const renderer = createRenderer();
    const result = renderer.render(nodeCluster('wide', { ports: [spec(1000, 3000)] }), defaultSettings());
    assert.deepEqual(result.resources, []);
    assert.equal(result.problems[0]?.code, 'MODE_UNSUPPORTED');
    assert.match(result.problems[0]!.message, /2001 ports to forward, more than the 1024/);
  });
});

describe('rendering', () => {
  it('gives resources their id, cloud, cluster, kind and name', () => {
    const [resource] = renderAll([nodeCluster('n1', { ports: [spec(22)] })], defaultSettings());
    assert.deepEqual({ ...resource, body: undefined }, { id: 'node/n1/Forward/n1-tcp-22', cloud: 'node', cluster: 'n1', kind: 'Forward', name: 'n1-tcp-22', body: undefined });
  });

  it('puts the ownership labels over user labels on every object', () => {
    const settings = kubernetesSettings();
    const labels = { 'portcullis.dev/cluster': 'other', 'app.kubernetes.io/managed-by': 'helm', team: 'ml' };
    const clusters: Cluster[] = [kubernetesCluster('k', { ports: [spec(1)], labels }), awsCluster('a', { ports: [spec(1)], labels }), gcpCluster('g', { ports: [spec(1)], labels }), nodeCluster('n', { ports: [spec(1)], labels })];
    for (const resource of renderAll(clusters, settings)) {
      const found = (resource.kind === 'Service' ? (resource.body.metadata as Record<string, unknown>).labels : resource.body.labels) as Record<string, string>;
      assert.equal(found['app.kubernetes.io/managed-by'], 'portcullis', resource.id);
      assert.equal(found['portcullis.dev/cluster'], resource.cluster, resource.id);
      assert.equal(found.team, 'ml', resource.id);
    }
  });

  it('renders nothing for a cluster without ports, or in podip mode', () => {
    assert.deepEqual(renderer.render(awsCluster('a'), defaultSettings()), { resources: [], problems: [] });
    assert.deepEqual(renderer.render(kubernetesCluster('k', { ports: [spec(80)] }, { ports: 'podip' }), defaultSettings()), { resources: [], problems: [] });
  });

  it('keeps the config revision out of the body: the same input renders the same bodies', () => {
    const cluster = gcpCluster('g', { ports: mixedPorts() });
    assert.deepEqual(renderer.render(cluster, defaultSettings()), renderer.render(structuredClone(cluster), defaultSettings()));
  });

  it('shortens names that would pass 63 chars, keeping them unique', () => {
    const name = `c${'x'.repeat(60)}`;
    const settings = kubernetesSettings();
    settings.kubernetes.ports = 'ingress';
    const resources = renderAll([kubernetesCluster(name, { ports: [publicSpec(8888, 8889)] })], settings);
    const names = resources.map((r) => r.name);
    assert.equal(new Set(names).size, 3);
    for (const n of names) assert.ok(n.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(n), n);
    const ingress = resources[0]!.body.spec as { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] };
    assert.deepEqual(ingress.rules[0]!.http.paths.map((p) => p.backend.service.name), names.slice(1), 'paths point at the Services');
  });
});
