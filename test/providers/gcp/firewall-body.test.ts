// Mapping between firewall rules as the Compute Engine client decodes them and as portcullis renders them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEqualJson } from '../../../agent/engine/resource-diff.js';
import { apiFailure } from '../../../agent/providers/gcp/errors.js';
import { canonical, networkName, networkPath, ownerOf, toApi, toPatch, toResource, updatePlan, type ApiFirewall } from '../../../agent/providers/gcp/firewall-body.js';
import { createRenderer } from '../../../agent/render/index.js';
import { defaultSettings, gcpCluster, publicSpec } from '../../helpers/fixtures.js';

/** What the client hands back for a rule the API filled in: shadow fields, empty lists, server fields. */
const decoded = (fields: Partial<ApiFirewall> = {}): ApiFirewall =>
  ({
    kind: 'compute#firewall',
    _kind: 'kind',
    id: '8123456789',
    _id: 'id',
    creationTimestamp: '2024-05-01T10:00:00.000-07:00',
    selfLink: 'https://www.googleapis.com/compute/v1/projects/my-project/global/firewalls/portcullis-web-tcp-public',
    name: 'portcullis-web-tcp-public',
    _name: 'name',
    description: 'managed by portcullis; cluster=web',
    network: 'https://www.googleapis.com/compute/v1/projects/my-project/global/networks/default',
    direction: 'INGRESS',
    priority: 1000,
    _priority: 'priority',
    disabled: false,
    logConfig: { enable: false },
    sourceRanges: ['0.0.0.0/0'],
    targetTags: ['portcullis-web'],
    allowed: [{ IPProtocol: 'tcp', _IPProtocol: 'IPProtocol', ports: ['80', '443'] }],
    denied: [],
    sourceTags: [],
    sourceServiceAccounts: [],
    targetServiceAccounts: [],
    destinationRanges: [],
    ...fields,
  }) as ApiFirewall;

describe('GCP firewall bodies', () => {
  it('maps a rule the API filled in back to exactly the rendered body', () => {
    const settings = defaultSettings();
    const cluster = gcpCluster('web', { ports: [publicSpec(80), publicSpec(443)], labels: { team: 'ml' } });
    const rendered = createRenderer().render(cluster, settings).resources.find((r) => r.name === 'portcullis-web-tcp-public')!;
    const observed = toResource('my-project', decoded(), 'web');
    assert.equal(observed.id, rendered.id);
    // The rendered labels carry the manifest's own; the API cannot hold labels, so both sides compare the mark only.
    assert.ok(!isEqualJson(rendered.body, observed.body));
    assert.deepEqual(observed.body, canonical(rendered).body);
    assert.deepEqual(observed.body.labels, { 'app.kubernetes.io/managed-by': 'portcullis', 'portcullis.dev/cluster': 'web' });
  });

  it('keeps hand-made changes that matter to who may connect, so they show as drift', () => {
    const body = toResource('my-project', decoded({ priority: 10, disabled: true, sourceTags: ['bastion'], denied: [{ IPProtocol: 'udp', ports: [] }] }), 'web').body;
    assert.equal(body.priority, 10);
    assert.equal(body.disabled, true);
    assert.deepEqual(body.sourceTags, ['bastion']);
    assert.deepEqual(body.denied, [{ IPProtocol: 'udp', ports: [] }]);
    assert.equal(updatePlan(canonical({ id: 'x', cloud: 'gcp', cluster: 'web', kind: 'FirewallRule', name: 'n', body: { ...body, priority: 1000 } }).body, body), 'replace');
  });

  it('recognises its own rules by name prefix and description mark, both', () => {
    assert.equal(ownerOf(decoded()), 'web');
    assert.equal(ownerOf(decoded({ name: 'allow-web', description: 'managed by portcullis; cluster=web' })), undefined);
    assert.equal(ownerOf(decoded({ description: 'opened by hand' })), undefined);
    assert.equal(ownerOf(decoded({ description: null })), undefined);
    assert.equal(ownerOf(decoded({ description: 'managed by portcullis; cluster=web-2' })), 'web-2');
    assert.equal(ownerOf(decoded({ description: 'managed by portcullis; cluster=web, edited' })), undefined);
  });

  it('reads the revision stamp in the description as no part of the body', () => {
    const stamped = decoded({ description: 'managed by portcullis; cluster=web; revision=0a1b2c' });
    assert.equal(ownerOf(stamped), 'web');
    assert.deepEqual(toResource('my-project', stamped, 'web'), toResource('my-project', decoded(), 'web'));
    const body = toResource('my-project', decoded(), 'web').body;
    assert.equal(toApi(body, 'r7').description, 'managed by portcullis; cluster=web; revision=r7');
    assert.equal(toPatch(body, 'r7').description, 'managed by portcullis; cluster=web; revision=r7');
  });

  it('normalises networks both ways', () => {
    assert.equal(networkName('p', 'https://www.googleapis.com/compute/v1/projects/p/global/networks/prod'), 'prod');
    assert.equal(networkName('p', 'projects/p/global/networks/prod'), 'prod');
    assert.equal(networkName('p', 'global/networks/prod'), 'prod');
    assert.equal(networkName('p', 'prod'), 'prod');
    assert.equal(networkName('p', 'https://compute.googleapis.com/compute/v1/projects/host/global/networks/shared'), 'projects/host/global/networks/shared');
    assert.equal(networkPath('p', 'prod'), 'projects/p/global/networks/prod');
    assert.equal(networkPath('p', 'projects/host/global/networks/shared'), 'projects/host/global/networks/shared');
  });

  it('sends the rendered fields on insert and the mutable ones on patch', () => {
    const body = toResource('my-project', decoded(), 'web').body;
    assert.deepEqual(toApi(body), {
      name: 'portcullis-web-tcp-public',
      description: 'managed by portcullis; cluster=web',
      network: 'projects/my-project/global/networks/default',
      direction: 'INGRESS',
      targetTags: ['portcullis-web'],
      sourceRanges: ['0.0.0.0/0'],
      allowed: [{ IPProtocol: 'tcp', ports: ['80', '443'] }],
    });
    assert.deepEqual(Object.keys(toPatch(body)).sort(), ['allowed', 'description', 'sourceRanges', 'targetTags']);
  });

  it('chooses patch, replace or recreate', () => {
    const actual = toResource('my-project', decoded(), 'web').body;
    assert.equal(updatePlan({ ...actual, sourceRanges: ['10.0.0.0/8'] }, actual), 'patch');
    assert.equal(updatePlan({ ...actual, network: 'prod' }, actual), 'recreate');
    assert.equal(updatePlan(actual, { ...actual, disabled: true }), 'replace');
  });

  it('reads statuses, reasons and transience from the errors the client throws', () => {
    const gaxios = (status: number, reason: string) =>
      Object.assign(new Error(JSON.stringify({ error: { code: status, message: `m${status}`, errors: [{ reason }] } })), { code: status, response: { data: undefined } });
    assert.deepEqual(apiFailure(gaxios(409, 'alreadyExists')), { status: 409, reason: 'alreadyExists', message: 'm409', transient: false });
    assert.equal(apiFailure(gaxios(429, 'rateLimitExceeded')).transient, true);
    assert.equal(apiFailure(gaxios(503, 'backendError')).transient, true);
    assert.equal(apiFailure(gaxios(403, 'forbidden')).transient, false);
    assert.equal(apiFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).transient, true);
    assert.deepEqual(apiFailure(Object.assign(new Error('gone'), { code: 5 })), { status: 404, message: 'gone', transient: false });
  });
});
