// Faults between the real EC2 client and moto, injected by the proxy: throttling, 5xx, slow answers,
// DependencyViolation on delete, a request EC2 refuses; and the endpoint taken from AWS_ENDPOINT_URL.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AwsProvider } from '../../../agent/providers/aws/index.js';
import { MemoryRepo } from '../../helpers/agent-fixture.js';
import { awsAgent, awsManifest, awsProvider, credentials, groupNamed, groupsNamed, makeVpc, REGION, ruleLines, runInstances, SETTINGS, startWorld, type World } from './world.js';

describe('AWS provider: faults on the wire', () => {
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

  const webRepo = () => new MemoryRepo({ 'config.yaml': SETTINGS, 'clusters/web.yaml': awsManifest('web', { vpc: 'shared', instance_tags: { Name: 'web' } }, ['+tcp:80', 8888]) });

  it('retries throttling and 5xx on Describe (in the SDK) and on Create and Authorize (in the engine), and still converges, once', async () => {
    const vpc = await makeVpc(world, 'shared');
    await runInstances(world, vpc, 1, { Name: 'web' });
    const agent = awsAgent(webRepo(), awsProvider(world));
    world.proxy.inject('DescribeSecurityGroups', { kind: 'throttle' }, 2);
    world.proxy.inject('DescribeSecurityGroupRules', { kind: 'server-error', status: 503 });
    world.proxy.inject('CreateSecurityGroup', { kind: 'server-error' });
    world.proxy.inject('AuthorizeSecurityGroupIngress', { kind: 'throttle' });

    const report = await agent.pass(['startup']);
    assert.equal(report.result, 'converged', report.message ?? JSON.stringify(report.outcomes));
    assert.deepEqual(report.outcomes.map((o) => [o.change.action, o.ok, o.attempts]), [['created', true, 3]]);
    const faulted = (action: string) => world.proxy.requests.filter((r) => r.action === action && r.faulted).length;
    assert.deepEqual([faulted('DescribeSecurityGroups'), faulted('DescribeSecurityGroupRules'), faulted('CreateSecurityGroup'), faulted('AuthorizeSecurityGroupIngress')], [2, 1, 1, 1]);
    // The third attempt found the group the second one made: one group, rules authorized once.
    assert.deepEqual(world.proxy.writes(), { CreateSecurityGroup: 2, AuthorizeSecurityGroupIngress: 2, ModifyInstanceAttribute: 1 });
    assert.equal((await groupsNamed(world, 'portcullis-web')).length, 1);
    assert.deepEqual(await ruleLines(world, (await groupNamed(world, 'portcullis-web')).GroupId!), ['tcp 80 0.0.0.0/0 portcullis:web', 'tcp 80 ::/0 portcullis:web', 'tcp 8888 10.0.0.0/8 portcullis:web']);

    world.proxy.clear();
    world.proxy.inject('DescribeSecurityGroups', { kind: 'throttle' });
    const idle = await agent.pass(['resync']);
    assert.deepEqual([idle.result, idle.outcomes.length, world.proxy.totalWrites()], ['converged', 0, 0]);
  });

  it('gives up on a read that outlasts the request timeout and tries it again', async () => {
    await makeVpc(world, 'shared');
    const agent = awsAgent(webRepo(), awsProvider(world, { requestTimeoutMs: 400 }));
    world.proxy.inject('DescribeVpcs', { kind: 'delay', ms: 1_500 });
    const started = Date.now();
    const report = await agent.pass(['startup']);
    assert.equal(report.result, 'converged', report.message ?? JSON.stringify(report.outcomes));
    assert.equal(world.proxy.count('DescribeVpcs'), 2, 'the slow call was abandoned and tried again');
    assert.ok(Date.now() - started < 1_500, 'without waiting for the slow answer');
  });

  it('retries DependencyViolation on a group delete until EC2 lets go of the group', async () => {
    const vpc = await makeVpc(world, 'shared');
    await runInstances(world, vpc, 1, { Name: 'web' });
    const repo = webRepo();
    const agent = awsAgent(repo, awsProvider(world), { allowMassClose: true });
    assert.equal((await agent.pass(['startup'])).result, 'converged');
    repo.write({ 'clusters/web.yaml': null });
    world.proxy.inject('DeleteSecurityGroup', { kind: 'error', code: 'DependencyViolation', message: 'resource sg-x has a dependent object' }, 2);
    const report = await agent.pass(['poll']);
    assert.equal(report.result, 'converged', report.message ?? JSON.stringify(report.outcomes));
    assert.deepEqual(report.outcomes.map((o) => [o.change.action, o.ok, o.attempts]), [['deleted', true, 3]]);
    assert.deepEqual(await groupsNamed(world, 'portcullis-web'), []);
  });

  it('does not retry what EC2 refuses, and says which group and which call', async () => {
    await makeVpc(world, 'shared');
    const agent = awsAgent(webRepo(), awsProvider(world));
    world.proxy.inject('AuthorizeSecurityGroupIngress', { kind: 'error', code: 'InvalidParameterValue', message: 'bad rule' }, 5);
    const report = await agent.pass(['startup']);
    assert.equal(report.result, 'failed');
    const [outcome] = report.outcomes;
    assert.deepEqual([outcome?.ok, outcome?.attempts], [false, 1]);
    assert.match(outcome?.error ?? '', /^SecurityGroup\/portcullis-web create failed: SecurityGroup\/portcullis-web authorize failed: InvalidParameterValue: bad rule$/);
  });

  it('fails observe, not the diff, when a region cannot be read', async () => {
    await makeVpc(world, 'shared');
    const agent = awsAgent(webRepo(), awsProvider(world, { readAttempts: 2 }));
    world.proxy.inject('DescribeSecurityGroups', { kind: 'error', code: 'UnauthorizedOperation', status: 403, message: 'not allowed' }, 3);
    const report = await agent.pass(['startup']);
    assert.deepEqual([report.result, report.reasons, report.outcomes.length], ['failed', ['ObserveFailed'], 0]);
    assert.match(report.message ?? '', /region us-east-1 reading security groups failed: UnauthorizedOperation: not allowed/);
    assert.equal(world.proxy.totalWrites(), 0);
  });

  it('honours AWS_ENDPOINT_URL when no endpoint is given', async () => {
    await makeVpc(world, 'shared');
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = world.proxy.url;
    try {
      const provider = new AwsProvider({ credentials, discoverRegions: false });
      const report = await awsAgent(webRepo(), provider).pass(['startup']);
      assert.equal(report.result, 'converged', report.message ?? JSON.stringify(report.outcomes));
      assert.ok(world.proxy.count('CreateSecurityGroup') === 1 && world.proxy.count('DescribeSecurityGroups') > 0, 'the calls went to the endpoint in AWS_ENDPOINT_URL');
      assert.equal((await groupsNamed(world, 'portcullis-web', REGION)).length, 1);
      await provider.close();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});
