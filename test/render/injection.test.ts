import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, Resource, Settings } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { awsCluster, defaultSettings, gcpCluster, kubernetesCluster, nodeCluster, publicSpec, spec } from '../helpers/fixtures.js';

// Values from manifests and settings must never change the structure of a rendered object.

const PAYLOADS = ['x\n  injected: true', '}{', 'a: b', '{{ 7*7 }}', '- x', 'x\ninjected: true\n---\nkind: Forward', '" injected: "true'];

const renderer = createRenderer();

function hasKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => hasKey(item, key));
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([k, v]) => k === key || hasKey(v, key));
  return false;
}

function renderOk(cluster: Cluster, settings: Settings): Resource[] {
  const { resources, problems } = renderer.render(cluster, settings);
  assert.deepEqual(problems, []);
  assert.ok(resources.length > 0);
  for (const resource of resources) assert.ok(!hasKey(resource.body, 'injected'), `${resource.id} grew an injected key`);
  return resources;
}

const metadataOf = (resource: Resource) => resource.body.metadata as { labels: Record<string, string>; annotations: Record<string, string> };

describe('injection', () => {
  for (const payload of PAYLOADS) {
    it(`a settings annotation or label value ${JSON.stringify(payload)} round-trips exactly`, () => {
      const settings = defaultSettings();
      settings.kubernetes.custom_metadata = { labels: { team: payload }, annotations: { note: payload, [payload]: 'as a key' } };
      for (const mode of ['loadbalancer', 'ingress'] as const) {
        settings.kubernetes.ports = mode;
        const resources = renderOk(kubernetesCluster('web', { ports: [publicSpec(80)] }), settings);
        assert.equal(resources.length, mode === 'loadbalancer' ? 1 : 2);
        for (const resource of resources) {
          const metadata = metadataOf(resource);
          assert.equal(metadata.labels.team, payload);
          assert.equal(metadata.annotations.note, payload);
          assert.equal(metadata.annotations[payload], 'as a key');
          assert.equal(metadata.labels['app.kubernetes.io/managed-by'], 'portcullis');
        }
      }
    });

    it(`an ingress host ${JSON.stringify(payload)} round-trips exactly`, () => {
      const settings = defaultSettings();
      settings.kubernetes.ports = 'ingress';
      settings.kubernetes.ingress = { class: payload, host: payload, tls: true };
      const [ingress] = renderOk(kubernetesCluster('web', { ports: [publicSpec(80)] }), settings);
      const body = ingress!.body.spec as { ingressClassName: string; tls: { hosts: string[] }[]; rules: { host: string }[] };
      assert.equal(body.ingressClassName, payload);
      assert.deepEqual(body.tls, [{ hosts: [payload] }]);
      assert.equal(body.rules.length, 1);
      assert.equal(body.rules[0]!.host, payload);
    });

    it(`a cluster label ${JSON.stringify(payload)} round-trips exactly on every cloud`, () => {
      const labels = { note: payload, [payload]: 'as a key' };
      const clusters: Cluster[] = [awsCluster('a', { ports: [spec(22)], labels }, { instance_tags: { Name: payload } }), gcpCluster('g', { ports: [spec(22)], labels }), nodeCluster('n', { ports: [spec(22)], labels })];
      for (const cluster of clusters) {
        const resources = renderOk(cluster, defaultSettings());
        for (const resource of resources) {
          assert.equal((resource.body.labels as Record<string, string>).note, payload);
          assert.equal((resource.body.labels as Record<string, string>)[payload], 'as a key');
        }
        if (cluster.cloud === 'aws') assert.deepEqual(resources[0]!.body.instance_tags, { Name: payload });
      }
    });
  }

  it('a value that passes the quoting but breaks the schema is a RENDER problem, not an object', () => {
    const settings = defaultSettings();
    settings.aws.vpc_name = 'vpc-1';
    const { resources, problems } = renderer.render(awsCluster('a', { ports: [spec(22)] }, { region: 'us-east-1\ninjected: true' }), settings);
    assert.deepEqual(resources, []);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.code, 'RENDER');
    assert.match(problems[0]!.message, /aws-security-group\.yml\.j2, cluster a: .*region/);
  });
});
