// Whole agent passes over the AWS provider: the real EC2 client, through the counting proxy, to moto's EC2.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { statusOf, MemoryRepo } from '../../helpers/agent-fixture.js';
import { ModifyInstanceAttributeCommand, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import {
  awsAgent,
  awsManifest,
  awsProvider,
  groupNamed,
  groupsNamed,
  handGroup,
  handRule,
  ingressRules,
  instanceGroups,
  interfaceGroups,
  makeVpc,
  REGION,
  ruleLines,
  runInstances,
  runTwoInterfaceInstance,
  SETTINGS,
  startWorld,
  type World,
} from './world.js';

describe('AWS provider: passes against moto', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(async () => {
    await world?.stop();
  });
  beforeEach(async () => {
    await world.moto.reset();
    world.proxy.clear();
  });

  it('converges from empty: creates, tags and fills one group per cluster, attaches it by tags and by ids, then writes nothing', async () => {
    const vpc = await makeVpc(world, 'shared');
    const web = await runInstances(world, vpc, 2, { Name: 'web' });
    const [batch] = await runInstances(world, vpc, 1, { Name: 'batch' });
    const [other] = await runInstances(world, vpc, 1, { Name: 'other' });
    const before = await instanceGroups(world, [...web, batch!, other!]);
    const repo = new MemoryRepo({
      'config.yaml': SETTINGS,
      'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, ['+tcp:80', 8888], { team: 'ml' }),
      'clusters/batch.yaml': awsManifest('batch', { vpc: vpc.vpcId, instance_ids: [batch] }, [22]),
    });
    const provider = awsProvider(world);
    const agent = awsAgent(repo, provider);

    const first = await agent.pass(['startup']);
    assert.equal(first.result, 'converged', first.message ?? JSON.stringify(first.outcomes));
    assert.deepEqual(first.outcomes.map((o) => `${o.change.action} ${o.change.id}`).sort(), ['created aws/batch/SecurityGroup/portcullis-batch', 'created aws/web/SecurityGroup/portcullis-web']);

    const group = await groupNamed(world, 'portcullis-web');
    assert.equal(group.VpcId, vpc.vpcId);
    const tags = Object.fromEntries((group.Tags ?? []).map((t) => [t.Key, t.Value]));
    assert.equal(tags['portcullis:managed-by'], 'portcullis');
    assert.equal(tags['portcullis:cluster'], 'web');
    assert.deepEqual(await ruleLines(world, group.GroupId!), ['tcp 80 0.0.0.0/0 portcullis:web', 'tcp 80 ::/0 portcullis:web', 'tcp 8888 10.0.0.0/8 portcullis:web']);
    const batchGroup = await groupNamed(world, 'portcullis-batch');
    assert.deepEqual(await ruleLines(world, batchGroup.GroupId!), ['tcp 22 10.0.0.0/8 portcullis:batch']);

    const afterFirst = await instanceGroups(world, [...web, batch!, other!]);
    for (const id of web) assert.deepEqual(afterFirst.get(id), [...before.get(id)!, group.GroupId!].sort(), `${id} keeps its groups and gains portcullis-web`);
    assert.deepEqual(afterFirst.get(batch!), [...before.get(batch!)!, batchGroup.GroupId!].sort());
    assert.deepEqual(afterFirst.get(other!), before.get(other!), 'an instance no cluster targets is left alone');
    assert.deepEqual(world.proxy.writes(), { CreateSecurityGroup: 2, AuthorizeSecurityGroupIngress: 2, ModifyInstanceAttribute: 3 });

    const endpoints = statusOf(agent, 'web').endpoints;
    assert.equal(endpoints.filter((e) => e.state === 'ready' && e.ports === '80').length, 2, JSON.stringify(endpoints));
    assert.ok(endpoints.every((e) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(e.address)), JSON.stringify(endpoints));

    world.proxy.clear();
    const idle = await agent.pass(['resync']);
    assert.equal(idle.result, 'converged', idle.message);
    assert.deepEqual(idle.outcomes, []);
    assert.deepEqual(world.proxy.writes(), {}, 'a no-op pass issues no write call');
    assert.ok(world.proxy.count('DescribeSecurityGroups') > 0, 'the no-op pass did read');
    await provider.close();
  });

  it('adds a port, removes one (revoking by rule id), narrows a CIDR and moves a port, writing only the difference each time', async () => {
    const vpc = await makeVpc(world, 'shared');
    await runInstances(world, vpc, 1, { Name: 'web' });
    const manifest = (...ports: (number | string)[]) => ({ 'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, ports) });
    const repo = new MemoryRepo({ 'config.yaml': SETTINGS, ...manifest('+tcp:80', 8888) });
    const provider = awsProvider(world);
    const agent = awsAgent(repo, provider);
    assert.equal((await agent.pass(['startup'])).result, 'converged');
    const groupId = (await groupNamed(world, 'portcullis-web')).GroupId!;
    const step = async (ports: (number | string)[]) => {
      repo.write(manifest(...ports));
      world.proxy.clear();
      const report = await agent.pass(['poll']);
      assert.equal(report.result, 'converged', report.message ?? JSON.stringify(report.outcomes));
      assert.deepEqual(report.outcomes.map((o) => o.change.action), ['configured']);
      return { writes: world.proxy.writes(), rules: await ruleLines(world, groupId) };
    };

    const added = await step(['+tcp:80', 8888, 9000]);
    assert.deepEqual(added.writes, { AuthorizeSecurityGroupIngress: 1 });
    assert.deepEqual(added.rules, ['tcp 80 0.0.0.0/0 portcullis:web', 'tcp 80 ::/0 portcullis:web', 'tcp 8888 10.0.0.0/8 portcullis:web', 'tcp 9000 10.0.0.0/8 portcullis:web']);

    const removed = await step(['+tcp:80', 9000]);
    assert.deepEqual(removed.writes, { RevokeSecurityGroupIngress: 1 });
    const revoke = world.proxy.requests.find((r) => r.action === 'RevokeSecurityGroupIngress')!;
    assert.match(revoke.params.get('SecurityGroupRuleId.1') ?? '', /^sgr-/, 'revoked by rule id');
    assert.equal(revoke.params.get('IpPermissions.1.IpProtocol'), null, 'not by permission');
    assert.deepEqual(removed.rules, ['tcp 80 0.0.0.0/0 portcullis:web', 'tcp 80 ::/0 portcullis:web', 'tcp 9000 10.0.0.0/8 portcullis:web']);

    const narrowed = await step([{ port: 80, cidrs: ['192.168.0.0/16'] }, 9000].map((p) => (typeof p === 'object' ? JSON.stringify(p) : p)));
    assert.deepEqual(narrowed.writes, { AuthorizeSecurityGroupIngress: 1, RevokeSecurityGroupIngress: 1 });
    assert.deepEqual(narrowed.rules, ['tcp 80 192.168.0.0/16 portcullis:web', 'tcp 9000 10.0.0.0/8 portcullis:web']);

    // The minimum for moving one port: one authorize and one revoke, whatever else the group holds.
    const moved = await step([JSON.stringify({ port: 80, cidrs: ['192.168.0.0/16'] }), 9001]);
    assert.deepEqual(moved.writes, { AuthorizeSecurityGroupIngress: 1, RevokeSecurityGroupIngress: 1 });
    assert.deepEqual(moved.rules, ['tcp 80 192.168.0.0/16 portcullis:web', 'tcp 9001 10.0.0.0/8 portcullis:web']);
    await provider.close();
  });

  it('keeps rules added by hand, restores ours revoked by hand, and reattaches the group to instances that lost or newly match it', async () => {
    const vpc = await makeVpc(world, 'shared');
    const [first] = await runInstances(world, vpc, 1, { Name: 'web' });
    const repo = new MemoryRepo({ 'config.yaml': SETTINGS, 'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, ['+tcp:80']) });
    const provider = awsProvider(world);
    const agent = awsAgent(repo, provider);
    assert.equal((await agent.pass(['startup'])).result, 'converged');
    const groupId = (await groupNamed(world, 'portcullis-web')).GroupId!;

    await handRule(world, groupId, 22, '203.0.113.0/24', 'bastion');
    await handRule(world, groupId, 443, '0.0.0.0/0', '');
    world.proxy.clear();
    const idle = await agent.pass(['resync']);
    assert.deepEqual([idle.result, idle.outcomes.length, world.proxy.totalWrites()], ['converged', 0, 0], 'rules without our mark are not ours: no drift');

    repo.write({ 'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, ['+tcp:80', 8080]) });
    assert.equal((await agent.pass(['poll'])).result, 'converged');
    assert.deepEqual(await ruleLines(world, groupId), ['tcp 22 203.0.113.0/24 bastion', 'tcp 443 0.0.0.0/0', 'tcp 80 0.0.0.0/0 portcullis:web', 'tcp 80 ::/0 portcullis:web', 'tcp 8080 10.0.0.0/8 portcullis:web']);

    // Someone revokes one of ours, takes the group off an instance, and launches another one for the cluster.
    const ours = (await ingressRules(world, groupId)).find((r) => r.FromPort === 8080)!;
    await world.admin().send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [ours.SecurityGroupRuleId!] }));
    const others = (await instanceGroups(world, [first!])).get(first!)!.filter((g) => g !== groupId);
    await world.admin().send(new ModifyInstanceAttributeCommand({ InstanceId: first!, Groups: others }));
    const [second] = await runInstances(world, vpc, 1, { Name: 'web' });
    world.proxy.clear();
    const healing = await agent.pass(['resync']);
    assert.equal(healing.result, 'converged', healing.message);
    assert.deepEqual(healing.outcomes.map((o) => o.change.action), ['configured']);
    assert.deepEqual(world.proxy.writes(), { AuthorizeSecurityGroupIngress: 1, ModifyInstanceAttribute: 2 });
    assert.deepEqual(await ruleLines(world, groupId), ['tcp 22 203.0.113.0/24 bastion', 'tcp 443 0.0.0.0/0', 'tcp 80 0.0.0.0/0 portcullis:web', 'tcp 80 ::/0 portcullis:web', 'tcp 8080 10.0.0.0/8 portcullis:web']);
    const groups = await instanceGroups(world, [first!, second!]);
    assert.ok(groups.get(first!)!.includes(groupId) && groups.get(second!)!.includes(groupId), JSON.stringify([...groups]));

    world.proxy.clear();
    const settled = await agent.pass(['resync']);
    assert.deepEqual([settled.outcomes.length, world.proxy.totalWrites()], [0, 0]);
    await provider.close();
  });

  it('puts the group on the primary interface of an instance with two, records a label change with one tag write, and takes the group off again', async () => {
    const vpc = await makeVpc(world, 'shared');
    const id = await runTwoInterfaceInstance(world, vpc, { Name: 'gpu' });
    const [primaryBefore, secondaryBefore] = await interfaceGroups(world, id);
    const manifest = (labels: Record<string, string>) => ({ 'clusters/gpu.yaml': awsManifest('gpu', { vpc: 'shared', instance_tags: { Name: 'gpu' } }, [8888], labels) });
    const repo = new MemoryRepo({ 'config.yaml': SETTINGS, ...manifest({ team: 'ml' }) });
    const agent = awsAgent(repo, awsProvider(world), { allowMassClose: true });
    assert.equal((await agent.pass(['startup'])).result, 'converged');
    const groupId = (await groupNamed(world, 'portcullis-gpu')).GroupId!;
    assert.deepEqual(await interfaceGroups(world, id), [[...primaryBefore!, groupId].sort(), secondaryBefore]);
    assert.deepEqual(world.proxy.writes(), { CreateSecurityGroup: 1, AuthorizeSecurityGroupIngress: 1, ModifyNetworkInterfaceAttribute: 1 });

    world.proxy.clear();
    assert.deepEqual((await agent.pass(['resync'])).outcomes, []);
    repo.write(manifest({ team: 'research' }));
    const relabelled = await agent.pass(['poll']);
    assert.deepEqual(relabelled.outcomes.map((o) => [o.change.action, o.ok]), [['configured', true]]);
    assert.deepEqual(world.proxy.writes(), { CreateTags: 1 });

    world.proxy.clear();
    repo.write({ 'clusters/gpu.yaml': null });
    assert.equal((await agent.pass(['poll'])).result, 'converged');
    assert.deepEqual(await interfaceGroups(world, id), [primaryBefore, secondaryBefore]);
    assert.deepEqual(world.proxy.writes(), { ModifyNetworkInterfaceAttribute: 1, DeleteSecurityGroup: 1 });
  });

  it('deleting clusters: its own group is detached and deleted; in a group Git named, only its rules and its spec go', async () => {
    const vpc = await makeVpc(world, 'shared');
    const web = await runInstances(world, vpc, 2, { Name: 'web' });
    const [batch] = await runInstances(world, vpc, 1, { Name: 'batch' });
    const teamId = await handGroup(world, 'team-sg', vpc.vpcId);
    await handRule(world, teamId, 443, '0.0.0.0/0', 'https for everyone');
    const repo = new MemoryRepo({
      'config.yaml': SETTINGS,
      'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, ['+tcp:80']),
      'clusters/batch.yaml': awsManifest('batch', { vpc: 'shared', security_group: 'team-sg', instance_ids: [batch] }, [22, 2049]),
    });
    const first = awsAgent(repo, awsProvider(world));
    const opened = await first.pass(['startup']);
    assert.equal(opened.result, 'converged', opened.message ?? JSON.stringify(opened.outcomes));
    const webId = (await groupNamed(world, 'portcullis-web')).GroupId!;
    assert.deepEqual(await ruleLines(world, teamId), ['tcp 2049 10.0.0.0/8 portcullis:batch', 'tcp 22 10.0.0.0/8 portcullis:batch', 'tcp 443 0.0.0.0/0 https for everyone']);
    assert.ok((await instanceGroups(world, [batch!])).get(batch!)!.includes(teamId), 'the named group is attached to the cluster instance');
    const teamTags = async () => Object.keys(Object.fromEntries(((await groupNamed(world, 'team-sg')).Tags ?? []).map((t) => [t.Key, t.Value])));
    // What EC2 cannot tell back about the cluster's use of the group is kept in its spec tags (JSON, in 256-character parts).
    const specTags = await teamTags();
    assert.ok(specTags.includes('portcullis:spec:batch') && specTags.every((k) => /^portcullis:spec:batch(\.\d+)?$/.test(k)), specTags.join(', '));

    // A new agent process (nothing remembered) sees both manifests gone and finds what to close by its marks,
    // in the regions it is told to watch.
    repo.write({ 'clusters/web.yaml': null, 'clusters/batch.yaml': null });
    world.proxy.clear();
    const restarted = awsAgent(repo, awsProvider(world, { regions: [REGION] }), { allowMassClose: true });
    const closed = await restarted.pass(['startup']);
    assert.equal(closed.result, 'converged', closed.message ?? JSON.stringify(closed.outcomes));
    assert.deepEqual(closed.outcomes.map((o) => `${o.change.action} ${o.change.id}`).sort(), ['deleted aws/batch/SecurityGroup/team-sg', 'deleted aws/web/SecurityGroup/portcullis-web']);
    assert.deepEqual(await groupsNamed(world, 'portcullis-web'), []);
    const groups = await instanceGroups(world, [...web, batch!]);
    for (const id of web) assert.ok(groups.get(id)!.length > 0 && !groups.get(id)!.includes(webId), `${id} lost portcullis-web and kept a group: ${groups.get(id)}`);
    assert.deepEqual(await ruleLines(world, teamId), ['tcp 443 0.0.0.0/0 https for everyone'], 'the named group keeps its own rule');
    assert.ok(groups.get(batch!)!.includes(teamId), 'portcullis never takes a group it does not own off an instance');
    assert.deepEqual(await teamTags(), []);
    assert.deepEqual(world.proxy.writes(), { ModifyInstanceAttribute: 2, DeleteSecurityGroup: 1, RevokeSecurityGroupIngress: 1, DeleteTags: 1 });
  });
});
