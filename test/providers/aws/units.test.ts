// The pure parts of the AWS provider: the body both sides of the diff share, the spec tags, the rule plan,
// error classification, and the round trip rendered body → what EC2 holds → observed body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '../../../agent/model.js';
import { assemble, bodyOf } from '../../../agent/providers/aws/assemble.js';
import { readBody, sortRules, toJson, type RuleBody } from '../../../agent/providers/aws/body.js';
import { isTransientAwsError, providerError } from '../../../agent/providers/aws/errors.js';
import type { GroupView } from '../../../agent/providers/aws/groups.js';
import { AwsProvider } from '../../../agent/providers/aws/index.js';
import type { InstanceView } from '../../../agent/providers/aws/instances.js';
import { locate } from '../../../agent/providers/aws/observe.js';
import { markedCluster, planRules, rulesOfPermissions, toPermissions } from '../../../agent/providers/aws/rules.js';
import { clusterSpecKey, decodeSpec, encodeSpec, OWN_SPEC_KEY, specClusters, specKeys, specOf, type Spec } from '../../../agent/providers/aws/spec-tags.js';
import { createRenderer } from '../../../agent/render/index.js';
import { awsCluster, defaultSettings, publicSpec, spec } from '../../helpers/fixtures.js';

const rule = (protocol: string, from: number, source: string, description = 'portcullis:web'): RuleBody =>
  source.includes(':') ? { protocol, from, to: from, cidr_ipv6: source, description } : { protocol, from, to: from, cidr: source, description };

/** A rendered, completed resource, as the engine diffs it. */
function rendered(cluster = awsCluster('web', { ports: [publicSpec(80), spec(53, 53, { protocol: 'udp', cidrs: ['10.1.0.0/16', 'fd00::/8'] }), spec(8888)], labels: { team: 'ml' } }), settings = defaultSettings()): Resource {
  const [resource] = createRenderer().render(cluster, settings).resources;
  assert.ok(resource);
  return new AwsProvider({ discoverRegions: false, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }).complete([resource], []).resources[0]!;
}

/** The group EC2 would hold after portcullis wrote `resource`: tags, the spec, the rules as IpPermissions. */
function heldGroup(resource: Resource, extra: { tags?: Record<string, string>; rules?: RuleBody[] } = {}): GroupView {
  const body = readBody(resource.body);
  const own = body.managed_group;
  const tags = { ...(own ? body.tags : {}), ...encodeSpec(specOf(resource.cluster, body), own ? OWN_SPEC_KEY : clusterSpecKey(resource.cluster)), ...extra.tags };
  return {
    groupId: 'sg-1',
    name: body.name,
    vpcId: 'vpc-1',
    description: body.description,
    tags,
    group: { IpPermissions: toPermissions([...body.rules, ...(extra.rules ?? [])]) },
  };
}

const instance = (id: string, tags: Record<string, string>, groups: string[]): InstanceView => ({ id, vpcId: 'vpc-1', tags, groups, publicIp: '198.51.100.7', privateIp: '10.0.0.7' });

describe('AWS provider: bodies, specs, rules', () => {
  it('reads back what it wrote as exactly the rendered body, for its own group and for a group Git names', () => {
    const own = rendered();
    const instances = [instance('i-1', { Name: 'web' }, ['sg-1'])];
    const [located] = locate(heldGroup(own), 'us-east-1');
    assert.deepEqual(toJson(bodyOf(located!, instances)), own.body);

    const settings = defaultSettings();
    settings.aws = { use_internal_ips: false, security_group_name: 'team-sg', vpc_name: 'shared' };
    const shared = rendered(awsCluster('batch', { ports: [spec(22)] }, { instance_ids: ['i-0123456789abcdef0'], instance_tags: undefined }), settings);
    assert.equal(shared.body.managed_group, false);
    // Someone else's rule, and another cluster's, in the same group: neither is batch's.
    const group = heldGroup(shared, { rules: [rule('tcp', 443, '0.0.0.0/0', 'https'), rule('tcp', 80, '10.0.0.0/8', 'portcullis:web')] });
    const all = locate(group, 'us-east-1');
    assert.deepEqual(all.map((l) => [l.cluster, l.managed, l.rules.length]), [['batch', false, 3], ['web', false, 1]]);
    const observation = assemble([{ region: 'us-east-1', located: all, instances: [instance('i-0123456789abcdef0', {}, ['sg-1'])] }], () => 'us-east-1');
    assert.deepEqual(observation.resources.find((r) => r.cluster === 'batch')?.body, shared.body);
  });

  it('shows attachment drift: a targeted instance without the group, and one of its own group no longer targeted', () => {
    const own = rendered();
    const [located] = locate(heldGroup(own), 'us-east-1');
    const body = bodyOf(located!, [instance('i-2', { Name: 'web' }, ['sg-0']), instance('i-1', { Name: 'web' }, ['sg-1']), instance('i-9', { Name: 'other' }, ['sg-0', 'sg-1'])]);
    assert.deepEqual(body.drift, { attach: ['i-2'], detach: ['i-9'] });
    assert.notDeepEqual(toJson(body), own.body);
  });

  it('names the copies of a resource found in other places, preferring the region Git asks for', () => {
    const own = rendered();
    const [here] = locate(heldGroup(own), 'eu-west-1');
    const [there] = locate({ ...heldGroup(own), groupId: 'sg-2' }, 'us-east-1');
    const observation = assemble(
      [
        { region: 'us-east-1', located: [there!], instances: [] },
        { region: 'eu-west-1', located: [here!], instances: [] },
      ],
      () => 'eu-west-1',
    );
    assert.equal(observation.resources.length, 1);
    assert.equal(observation.resources[0]!.body.region, 'eu-west-1');
    assert.deepEqual(observation.resources[0]!.body.drift, { elsewhere: ['us-east-1/sg-2'] });
    assert.deepEqual(observation.locations.get(own.id)?.map((l) => l.region), ['eu-west-1', 'us-east-1']);
  });

  it('sorts rules the same way on both sides and keeps what a cluster holds when its rules would not carry the mark', () => {
    const raw = createRenderer().render(awsCluster('web', { ports: [spec(8888), publicSpec(80), spec(53, 53, { protocol: 'udp' })] }), defaultSettings()).resources[0]!;
    const provider = new AwsProvider({ discoverRegions: false });
    const { resources, problems } = provider.complete([raw], []);
    assert.deepEqual(problems, []);
    const rules = readBody(resources[0]!.body).rules;
    assert.deepEqual(rules, sortRules(rules));
    assert.deepEqual(rules.map((r) => `${r.protocol}/${r.from}/${r.cidr ?? r.cidr_ipv6}`).slice(0, 3), ['tcp/80/0.0.0.0/0', 'tcp/80/::/0', 'tcp/8888/10.0.0.0/8']);

    const badRules = [{ protocol: 'tcp', from: 1, to: 1, cidr: '10.0.0.0/8', description: 'portcullis:someone-else' }];
    const bad = { ...raw, body: { ...raw.body, rules: badRules } };
    const held = { ...raw, body: { ...raw.body, rules: [] } };
    const kept = provider.complete([bad], [held]);
    assert.deepEqual(kept.resources, [held]);
    assert.match(kept.problems[0]?.message ?? '', /is not the ownership mark portcullis:web/);
  });

  it('keeps a spec in tags of at most 256 characters, without splitting a character, and reads it back', () => {
    const long: Spec = { cluster: 'web', description: 'd', labels: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`label-${i}`, `välue-${i}-🦀`])), tags: {}, instance_tags: { Name: 'web' } };
    const tags = encodeSpec(long, OWN_SPEC_KEY);
    assert.ok(Object.keys(tags).length > 2);
    for (const value of Object.values(tags)) assert.ok(Array.from(value).length <= 256 && !/[\ud800-\udbff]$/.test(value), value);
    assert.deepEqual(decodeSpec(tags, OWN_SPEC_KEY), long);
    assert.deepEqual(specKeys({ ...tags, Name: 'x', 'portcullis:spec:web': '{}' }, OWN_SPEC_KEY).sort(), Object.keys(tags).sort());

    const shared = { ...encodeSpec({ ...long, cluster: 'a' }, clusterSpecKey('a')), ...encodeSpec({ ...long, cluster: 'b' }, clusterSpecKey('b')), ...tags };
    assert.deepEqual(specClusters(shared).sort(), ['a', 'b']);
    assert.equal(decodeSpec({ [OWN_SPEC_KEY]: '{"cluster":' }, OWN_SPEC_KEY), undefined, 'a damaged spec reads as none');
    assert.equal(decodeSpec({ [OWN_SPEC_KEY]: '{"cluster":"web"}' }, OWN_SPEC_KEY), undefined, 'an incomplete spec reads as none');
  });

  it('plans rules: authorizes only what is missing, revokes only its own rules Git dropped', () => {
    const held = [
      { id: 'sgr-keep', rule: rule('tcp', 80, '0.0.0.0/0') },
      { id: 'sgr-drop', rule: rule('tcp', 8888, '10.0.0.0/8') },
      { id: 'sgr-hand', rule: rule('tcp', 22, '10.0.0.0/8', 'bastion') },
      { id: 'sgr-other', rule: rule('tcp', 9000, '10.0.0.0/8', 'portcullis:api') },
      { id: 'sgr-same', rule: rule('tcp', 443, '0.0.0.0/0', 'opened by hand') },
    ];
    const wanted = [rule('tcp', 80, '0.0.0.0/0'), rule('tcp', 80, '::/0'), rule('tcp', 443, '0.0.0.0/0')];
    assert.deepEqual(planRules(wanted, held, 'web'), { authorize: [rule('tcp', 80, '::/0')], revoke: ['sgr-drop'] });
    assert.deepEqual(planRules([], held, 'web').revoke, ['sgr-keep', 'sgr-drop']);
  });

  it('converts rules to and from EC2 permissions', () => {
    const rules = [rule('tcp', 80, '0.0.0.0/0'), rule('tcp', 80, '::/0'), rule('udp', 53, '10.0.0.0/8')];
    const permissions = toPermissions(rules);
    assert.equal(permissions.length, 2);
    assert.deepEqual(sortRules(rulesOfPermissions(permissions)), sortRules(rules));
    assert.deepEqual(rulesOfPermissions([{ IpProtocol: '6', FromPort: 1, ToPort: 2, UserIdGroupPairs: [{ GroupId: 'sg-9', Description: 'portcullis:web' }] }]), [
      { protocol: 'tcp', from: 1, to: 2, source: 'sg-9', description: 'portcullis:web' },
    ]);
    assert.deepEqual(['portcullis:web', 'portcullis:', 'portcullis:Web', 'portcullis:web x', 'x'].map(markedCluster), ['web', undefined, undefined, undefined, undefined]);
  });

  it('classifies EC2 errors: throttling, 5xx, timeouts and network errors are transient; refusals are not', () => {
    const ec2Error = (name: string, status: number, fault: 'client' | 'server' = 'client') => Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });
    assert.ok(isTransientAwsError(ec2Error('RequestLimitExceeded', 503)));
    assert.ok(isTransientAwsError(ec2Error('InternalError', 500, 'server')));
    assert.ok(isTransientAwsError(ec2Error('Unknown', 502)));
    assert.ok(isTransientAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
    assert.ok(isTransientAwsError(ec2Error('TimeoutError', 0)));
    assert.ok(!isTransientAwsError(ec2Error('InvalidParameterValue', 400)));
    assert.ok(!isTransientAwsError(ec2Error('UnauthorizedOperation', 403)));
    const violation = ec2Error('DependencyViolation', 400);
    assert.equal(providerError('SecurityGroup/x', 'delete', violation).transient, false);
    const error = providerError('SecurityGroup/x', 'delete', violation, ['DependencyViolation']);
    assert.deepEqual([error.transient, error.message], [true, 'SecurityGroup/x delete failed: DependencyViolation']);
    assert.equal(providerError('SecurityGroup/x', 'authorize', ec2Error('InvalidPermission.Malformed', 400)).message, 'SecurityGroup/x authorize failed: InvalidPermission.Malformed');
  });
});
