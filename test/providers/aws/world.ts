// What the AWS provider tests share: moto's EC2 server with the counting proxy in front, an admin client that
// talks to moto directly (fixture writes are not counted), VPC and instance fixtures, and an agent over the
// AWS provider reading an in-memory config repo.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RunInstancesCommand,
  type SecurityGroup,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { Reconciler } from '../../../agent/engine/pass.js';
import { AwsProvider, type AwsProviderOptions } from '../../../agent/providers/aws/index.js';
import { createRenderer } from '../../../agent/render/index.js';
import { startEc2Proxy, type Ec2Proxy } from '../../fakes/ec2-proxy.js';
import { fastConverge, MemoryRepo, silentLog } from '../../helpers/agent-fixture.js';
import { startMoto, type MotoServer } from '../../helpers/moto.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const REGION = 'us-east-1';
export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface World {
  moto: MotoServer;
  proxy: Ec2Proxy;
  /** Straight to moto: what a person or another tool does, uncounted. */
  admin(region?: string): EC2Client;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const moto = await startMoto();
  const proxy = await startEc2Proxy(moto.url);
  const admins = new Map<string, EC2Client>();
  return {
    moto,
    proxy,
    admin(region = REGION) {
      let client = admins.get(region);
      if (!client) admins.set(region, (client = new EC2Client({ region, endpoint: moto.url, credentials })));
      return client;
    },
    async stop() {
      for (const c of admins.values()) c.destroy();
      await proxy.stop();
      await moto.stop();
    },
  };
}

/** The provider as the agent would build it, pointed at the proxy, with quick SDK retries for reads. */
export function awsProvider(world: World, options: AwsProviderOptions = {}): AwsProvider {
  return new AwsProvider({ endpoint: world.proxy.url, credentials, discoverRegions: false, readAttempts: 4, requestTimeoutMs: 5_000, ...options });
}

export function awsAgent(repo: MemoryRepo, provider: AwsProvider, options: { allowMassClose?: boolean } = {}): Reconciler {
  return new Reconciler({
    source: repo,
    renderer: createRenderer(),
    providers: { aws: provider },
    log: silentLog,
    converge: fastConverge,
    ...(options.allowMassClose ? { allowMassClose: true } : {}),
  });
}

/** A `cloud: aws` manifest; `aws` and `labels` are written as JSON (valid YAML), `ports` as flow items. */
export function awsManifest(name: string, aws: Record<string, unknown>, ports: (number | string)[], labels?: Record<string, string>): string {
  const items = ports.map((p) => (typeof p === 'number' ? String(p) : p.startsWith('{') ? p : JSON.stringify(p)));
  const labelLine = labels ? `labels: ${JSON.stringify(labels)}\n` : '';
  return `name: ${name}\ncloud: aws\n${labelLine}aws: ${JSON.stringify({ region: REGION, ...aws })}\nresources:\n  ports: [${items.join(', ')}]\n`;
}

export const SETTINGS = 'private_cidrs: [10.0.0.0/8]\n';

export interface Vpc {
  vpcId: string;
  subnetId: string;
}

export async function makeVpc(world: World, name: string, cidr = '10.20.0.0/16', region = REGION): Promise<Vpc> {
  const ec2 = world.admin(region);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: cidr, TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: name }] }] }));
  const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: cidr.replace(/\.0\.0\/16$/, '.1.0/24') }));
  return { vpcId: vpc.Vpc!.VpcId!, subnetId: subnet.Subnet!.SubnetId! };
}

/** Instances in the subnet, tagged, with a public address; returns their ids. */
export async function runInstances(world: World, vpc: Vpc, count: number, tags: Record<string, string> = {}, region = REGION): Promise<string[]> {
  const run = await world.admin(region).send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: count,
      MaxCount: count,
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: vpc.subnetId, AssociatePublicIpAddress: true }],
      ...(Object.keys(tags).length > 0 ? { TagSpecifications: [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] } : {}),
    }),
  );
  return run.Instances!.map((i) => i.InstanceId!);
}

/** One instance with two network interfaces, tagged; returns its id. */
export async function runTwoInterfaceInstance(world: World, vpc: Vpc, tags: Record<string, string>): Promise<string> {
  const ec2 = world.admin();
  const second = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: vpc.subnetId }));
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: 1,
      MaxCount: 1,
      NetworkInterfaces: [
        { DeviceIndex: 0, SubnetId: vpc.subnetId, AssociatePublicIpAddress: true },
        { DeviceIndex: 1, NetworkInterfaceId: second.NetworkInterface!.NetworkInterfaceId! },
      ],
      TagSpecifications: [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
    }),
  );
  return run.Instances![0]!.InstanceId!;
}

/** The group ids on each interface of an instance, by device index. */
export async function interfaceGroups(world: World, id: string): Promise<string[][]> {
  const found = await world.admin().send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const interfaces = found.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces ?? [];
  return [...interfaces].sort((a, b) => (a.Attachment?.DeviceIndex ?? 0) - (b.Attachment?.DeviceIndex ?? 0)).map((n) => (n.Groups ?? []).map((g) => g.GroupId!).sort());
}

export async function groupsNamed(world: World, name: string, region = REGION): Promise<SecurityGroup[]> {
  const found = await world.admin(region).send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }));
  return found.SecurityGroups ?? [];
}

export async function groupNamed(world: World, name: string, region = REGION): Promise<SecurityGroup> {
  const [group, ...more] = await groupsNamed(world, name, region);
  if (!group || more.length > 0) throw new Error(`expected one group named ${name}, found ${more.length + (group ? 1 : 0)}`);
  return group;
}

export async function ingressRules(world: World, groupId: string, region = REGION): Promise<SecurityGroupRule[]> {
  const found = await world.admin(region).send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }));
  return (found.SecurityGroupRules ?? []).filter((r) => !r.IsEgress);
}

/** `tcp 80 0.0.0.0/0 portcullis:web`, sorted: rules as a person reads them. */
export async function ruleLines(world: World, groupId: string, region = REGION): Promise<string[]> {
  const rules = await ingressRules(world, groupId, region);
  return rules.map((r) => `${r.IpProtocol} ${r.FromPort === r.ToPort ? r.FromPort : `${r.FromPort}-${r.ToPort}`} ${r.CidrIpv4 ?? r.CidrIpv6} ${r.Description ?? ''}`.trim()).sort();
}

/** The group ids of each instance (moto reports them on the instance or on its interface: both are read). */
export async function instanceGroups(world: World, ids: string[], region = REGION): Promise<Map<string, string[]>> {
  const found = await world.admin(region).send(new DescribeInstancesCommand({ InstanceIds: ids }));
  const groups = new Map<string, string[]>();
  for (const r of found.Reservations ?? []) for (const i of r.Instances ?? []) {
    const all = [...(i.SecurityGroups ?? []), ...(i.NetworkInterfaces ?? []).flatMap((n) => n.Groups ?? [])].map((g) => g.GroupId!);
    groups.set(i.InstanceId!, [...new Set(all)].sort());
  }
  return groups;
}

export async function handGroup(world: World, name: string, vpcId: string, region = REGION): Promise<string> {
  const made = await world.admin(region).send(new CreateSecurityGroupCommand({ GroupName: name, Description: 'made by a person', VpcId: vpcId }));
  return made.GroupId!;
}

export async function handRule(world: World, groupId: string, port: number, cidr: string, description: string, region = REGION): Promise<void> {
  await world.admin(region).send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: cidr, Description: description }] }] }),
  );
}
