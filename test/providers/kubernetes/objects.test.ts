import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forCreate, LAST_APPLIED, mergeForReplace, observedBody, project, REVISION, type LiveObject } from '../../../agent/providers/kubernetes/objects.js';
import type { JsonObject } from '../../../agent/model.js';

const desired: JsonObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'ml', labels: { 'app.kubernetes.io/managed-by': 'portcullis', 'portcullis.dev/cluster': 'web' }, annotations: { team: 'ml' } },
  spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'tcp-80', protocol: 'TCP', port: 80, targetPort: 80 }], loadBalancerSourceRanges: ['10.0.0.0/8'] },
};

/** What the API server holds after creating `desired`: defaults, allocations, other controllers' marks. */
function served(body: JsonObject): LiveObject {
  const object = structuredClone(body) as JsonObject & LiveObject;
  const metadata = object.metadata as JsonObject;
  metadata.resourceVersion = '42';
  metadata.uid = 'u-1';
  (metadata.annotations as JsonObject)['cloud.example.com/lb-id'] = 'lb-7';
  (metadata.labels as JsonObject)['added-by'] = 'someone';
  const spec = object.spec as JsonObject;
  spec.clusterIP = '10.96.0.9';
  spec.sessionAffinity = 'None';
  (spec.ports as JsonObject[]).forEach((p, i) => (p.nodePort = 30000 + i));
  (object as JsonObject).status = { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } };
  return object as LiveObject;
}

describe('kubernetes objects: what is compared', () => {
  it('sees a live object through the last applied configuration: no noise from defaults or other controllers', () => {
    const live = served(forCreate(desired, 'rev-1'));
    assert.deepEqual(observedBody(live), desired);
  });

  it('shows a hand edit of a field portcullis set, and a field it set that was removed', () => {
    const live = served(forCreate(desired, 'rev-1')) as LiveObject & { spec: JsonObject };
    (live.spec.ports as JsonObject[])[0]!.port = 8080;
    delete live.spec.loadBalancerSourceRanges;
    const body = observedBody(live) as { spec: JsonObject };
    assert.equal((body.spec.ports as JsonObject[])[0]!.port, 8080);
    assert.equal('loadBalancerSourceRanges' in body.spec, false);
    assert.notDeepEqual(body, desired);
  });

  it('shows an added port as a longer list', () => {
    const live = served(forCreate(desired, 'rev-1')) as LiveObject & { spec: JsonObject };
    (live.spec.ports as JsonObject[]).push({ name: 'tcp-22', protocol: 'TCP', port: 22, targetPort: 22, nodePort: 30009 });
    assert.deepEqual(((observedBody(live) as { spec: JsonObject }).spec.ports as JsonObject[])[1], { name: 'tcp-22', protocol: 'TCP', port: 22, targetPort: 22 });
  });

  it('without its annotation, an object is compared whole, so the next write restores the annotation', () => {
    const live = served(forCreate(desired, 'rev-1'));
    delete live.metadata!.annotations![LAST_APPLIED];
    assert.notDeepEqual(observedBody(live), desired);
  });

  it('project keeps only the shape, element by element', () => {
    assert.deepEqual(project({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }] }, { b: { c: 0 }, e: [{ f: 0 }] }), { b: { c: 2 }, e: [{ f: 1 }] });
  });
});

describe('kubernetes objects: what is written', () => {
  it('a replace keeps what others own, drops what portcullis no longer sets, keeps nodePorts, stamps revision', () => {
    const live = served(forCreate(desired, 'rev-1'));
    const next = structuredClone(desired) as { metadata: JsonObject; spec: JsonObject };
    delete next.spec.loadBalancerSourceRanges;
    (next.spec.ports as JsonObject[]).push({ name: 'tcp-443', protocol: 'TCP', port: 443, targetPort: 443 });
    const body = mergeForReplace(live, next as unknown as JsonObject, 'rev-2') as { metadata: JsonObject; spec: JsonObject; status?: unknown };
    assert.equal(body.spec.clusterIP, '10.96.0.9', 'immutable fields others set stay');
    assert.equal((body.metadata as JsonObject).resourceVersion, '42', 'optimistic concurrency');
    assert.equal('loadBalancerSourceRanges' in body.spec, false);
    assert.deepEqual(
      (body.spec.ports as JsonObject[]).map((p) => [p.port, p.nodePort]),
      [
        [80, 30000],
        [443, undefined],
      ],
    );
    const annotations = body.metadata.annotations as Record<string, string>;
    assert.equal(annotations['cloud.example.com/lb-id'], 'lb-7');
    assert.equal(annotations[REVISION], 'rev-2');
    assert.deepEqual(JSON.parse(annotations[LAST_APPLIED]!), next);
    assert.equal((body.metadata.labels as JsonObject)['added-by'], 'someone');
    assert.equal(body.status, undefined);
  });
});
