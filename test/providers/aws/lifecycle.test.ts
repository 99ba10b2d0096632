// The places a cluster's group lives: regions found again after a restart, a move between regions, the
// default VPC, a group shared by clusters through the settings, and names that are not portcullis's to take.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { MemoryRepo, statusOf } from '../../helpers/agent-fixture.js';
import { awsAgent, awsManifest, awsProvider, groupNamed, groupsNamed, handGroup, handRule, instanceGroups, makeVpc, ruleLines, runInstances, SETTINGS, startWorld, type World } from './world.js';

describe('AWS provider: where groups live', () => {
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

  it('after a restart, finds and closes a cluster Git dropped in a region no other cluster uses (DescribeRegions)', async () => {
    const repo = new MemoryRepo({ 'config.yaml': SETTINGS, 'clusters/eu.yaml': awsManifest('eu', { region: 'eu-west-1', instance_tags: { Name: 'eu' } }, [443]) });
    const before = awsAgent(repo, awsProvider(world));
    assert.equal((await before.pass(['startup'])).result, 'converged');
    assert.equal((await groupsNamed(world, 'portcullis-eu', 'eu-west-1')).length, 1, 'made in the default VPC of eu-west-1');

    repo.write({ 'clusters/eu.yaml': null });
    world.proxy.clear();
    const restarted = awsAgent(repo, awsProvider(world, { discoverRegions: true }), { allowMassClose: true });
    const report = await restarted.pass(['startup']);
    assert.equal(report.result, 'converged', report.message ?? JSON.stringify(report.outcomes));
    assert.deepEqual(report.outcomes.map((o) => `${o.change.action} ${o.change.id}`), ['deleted aws/eu/SecurityGroup/portcullis-eu']);
    assert.equal(world.proxy.count('DescribeRegions'), 1);
    assert.deepEqual(await groupsNamed(world, 'portcullis-eu', 'eu-west-1'), []);

    world.proxy.clear();
    await restarted.pass(['resync']);
    assert.equal(world.proxy.count('DescribeRegions'), 0, 'regions are listed once per process');
  });

  it('moves a cluster to another region in one pass: made there, then deleted here', async () => {
    const eu = await makeVpc(world, 'shared', '10.30.0.0/16', 'eu-west-1');
    const us = await makeVpc(world, 'shared', '10.20.0.0/16');
    const [euInstance] = await runInstances(world, eu, 1, { Name: 'web' }, 'eu-west-1');
    const [usInstance] = await runInstances(world, us, 1, { Name: 'web' });
    const repo = new MemoryRepo({ 'config.yaml': SETTINGS, 'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, [80]) });
    const agent = awsAgent(repo, awsProvider(world));
    assert.equal((await agent.pass(['startup'])).result, 'converged');
    const usGroup = (await groupNamed(world, 'portcullis-web')).GroupId!;
    assert.ok((await instanceGroups(world, [usInstance!])).get(usInstance!)!.includes(usGroup));

    repo.write({ 'clusters/web.yaml': awsManifest('web', { region: 'eu-west-1', vpc: 'shared', instance_tags: { Name: 'web' } }, [80]) });
    const report = await agent.pass(['poll']);
    assert.equal(report.result, 'converged', report.message ?? JSON.stringify(report.outcomes));
    assert.deepEqual(report.outcomes.map((o) => o.change.action), ['configured']);
    assert.deepEqual(await groupsNamed(world, 'portcullis-web'), []);
    const euGroup = (await groupNamed(world, 'portcullis-web', 'eu-west-1')).GroupId!;
    assert.deepEqual(await ruleLines(world, euGroup, 'eu-west-1'), ['tcp 80 10.0.0.0/8 portcullis:web']);
    assert.ok((await instanceGroups(world, [euInstance!], 'eu-west-1')).get(euInstance!)!.includes(euGroup));
    assert.ok(!(await instanceGroups(world, [usInstance!])).get(usInstance!)!.includes(usGroup));

    world.proxy.clear();
    const idle = await agent.pass(['resync']);
    assert.deepEqual([idle.outcomes.length, world.proxy.totalWrites()], [0, 0]);
  });

  it('two clusters keep their rules in one group the settings name, each only touching its own; endpoints show private addresses with use_internal_ips', async () => {
    const vpc = await makeVpc(world, 'shared');
    const [a] = await runInstances(world, vpc, 1, { Name: 'a' });
    await runInstances(world, vpc, 1, { Name: 'b' });
    const team = await handGroup(world, 'team-sg', vpc.vpcId);
    await handRule(world, team, 443, '0.0.0.0/0', 'https');
    const settings = `${SETTINGS}aws:\n  vpc_name: shared\n  security_group_name: team-sg\n  use_internal_ips: true\n`;
    const repo = new MemoryRepo({
      'config.yaml': settings,
      'clusters/a.yaml': awsManifest('a', { instance_tags: { Name: 'a' } }, [22]),
      'clusters/b.yaml': awsManifest('b', { instance_tags: { Name: 'b' } }, ['+tcp:8080']),
    });
    const agent = awsAgent(repo, awsProvider(world));
    const first = await agent.pass(['startup']);
    assert.equal(first.result, 'converged', first.message ?? JSON.stringify(first.outcomes));
    assert.deepEqual(await ruleLines(world, team), ['tcp 22 10.0.0.0/8 portcullis:a', 'tcp 443 0.0.0.0/0 https', 'tcp 8080 0.0.0.0/0 portcullis:b', 'tcp 8080 ::/0 portcullis:b']);
    const endpoint = statusOf(agent, 'a').endpoints[0];
    assert.match(endpoint?.address ?? '', /^10\.20\.1\.\d+:22$/, JSON.stringify(endpoint));

    world.proxy.clear();
    repo.write({ 'clusters/b.yaml': null });
    const closed = await agent.pass(['poll']);
    assert.equal(closed.result, 'converged', closed.message ?? JSON.stringify(closed.outcomes));
    assert.deepEqual(await ruleLines(world, team), ['tcp 22 10.0.0.0/8 portcullis:a', 'tcp 443 0.0.0.0/0 https']);
    assert.deepEqual(world.proxy.writes(), { RevokeSecurityGroupIngress: 1, DeleteTags: 1 });
    assert.ok((await instanceGroups(world, [a!])).get(a!)!.includes(team));
  });

  it('refuses a name already taken by a group that is not portcullis\'s, and a named group that does not exist', async () => {
    const vpc = await makeVpc(world, 'shared');
    const theirs = await handGroup(world, 'portcullis-web', vpc.vpcId);
    const repo = new MemoryRepo({
      'config.yaml': SETTINGS,
      'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, [80]),
      'clusters/db.yaml': awsManifest('db', { vpc: 'shared', security_group: 'no-such-sg', instance_tags: { Name: 'db' } }, [5432]),
    });
    const report = await awsAgent(repo, awsProvider(world)).pass(['startup']);
    assert.equal(report.result, 'failed');
    const errors = Object.fromEntries(report.outcomes.map((o) => [o.change.cluster, [o.ok, o.attempts, o.error]]));
    assert.deepEqual(errors.web?.slice(0, 2), [false, 1]);
    assert.match(String(errors.web?.[2]), /a security group named "portcullis-web" already exists in vpc-\w+ and is not this cluster's/);
    assert.deepEqual(errors.db?.slice(0, 2), [false, 1]);
    assert.match(String(errors.db?.[2]), /no security group named "no-such-sg" in vpc-\w+ \(us-east-1\)/);
    assert.deepEqual(await ruleLines(world, theirs), [], 'the group that is not ours is untouched');
    assert.equal(world.proxy.totalWrites(), 0);
  });
});
