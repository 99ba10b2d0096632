import { DescribeVpcsCommand, paginateDescribeSecurityGroups, type EC2Client, type Filter, type SecurityGroup } from '@aws-sdk/client-ec2';
import { ProviderError } from '../provider.js';
import { providerError } from './errors.js';

// Reading groups and VPCs. A group is looked up by name within its VPC (names are unique per VPC, not per
// region); the VPC is the manifest's `vpc` (an id or a Name tag) or the region's default VPC.

export interface GroupView {
  groupId: string;
  name: string;
  vpcId: string;
  description: string;
  tags: Record<string, string>;
  group: SecurityGroup;
}

export const tagMap = (tags: readonly { Key?: string; Value?: string }[] | undefined): Record<string, string> => Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

function view(g: SecurityGroup): GroupView {
  return { groupId: g.GroupId ?? '', name: g.GroupName ?? '', vpcId: g.VpcId ?? '', description: g.Description ?? '', tags: tagMap(g.Tags), group: g };
}

/** Groups matching `filters` (filters never fail on an unknown id, unlike GroupIds). */
export async function describeGroups(ec2: EC2Client, filters: Filter[], subject: string): Promise<GroupView[]> {
  const groups: GroupView[] = [];
  try {
    for await (const page of paginateDescribeSecurityGroups({ client: ec2 }, { Filters: filters })) {
      for (const g of page.SecurityGroups ?? []) groups.push(view(g));
    }
  } catch (err) {
    throw providerError(subject, 'reading security groups', err);
  }
  return groups;
}

/** The group named `name` in `vpcId`, if there is one. */
export async function groupByName(ec2: EC2Client, name: string, vpcId: string, subject: string): Promise<GroupView | undefined> {
  const found = await describeGroups(
    ec2,
    [
      { Name: 'group-name', Values: [name] },
      { Name: 'vpc-id', Values: [vpcId] },
    ],
    subject,
  );
  return found[0];
}

/** The VPC id for the manifest's `vpc`: an id as it is, a Name tag looked up, the default VPC when absent. */
export async function resolveVpc(ec2: EC2Client, region: string, vpc: string | undefined, subject: string): Promise<string> {
  if (vpc !== undefined && /^vpc-[0-9a-f]+$/.test(vpc)) return vpc;
  const filter: Filter = vpc === undefined ? { Name: 'isDefault', Values: ['true'] } : { Name: 'tag:Name', Values: [vpc] };
  let ids: string[];
  try {
    const found = await ec2.send(new DescribeVpcsCommand({ Filters: [filter] }));
    ids = (found.Vpcs ?? []).map((v) => v.VpcId ?? '').filter(Boolean);
  } catch (err) {
    throw providerError(subject, 'finding the VPC', err);
  }
  const what = vpc === undefined ? `the default VPC of ${region}` : `the VPC named ${JSON.stringify(vpc)} in ${region}`;
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) {
    const fix = vpc === undefined ? 'name one with aws.vpc in the manifest or aws.vpc_name in the settings' : 'check the Name tag, or give the VPC id (vpc-…)';
    throw new ProviderError(`${subject}: ${what} does not exist; ${fix}`, false);
  }
  throw new ProviderError(`${subject}: ${ids.length} VPCs match ${what} (${ids.join(', ')}); give the VPC id (vpc-…) instead`, false);
}

/** The VPC's `default` group: what an instance keeps when portcullis takes its only group away. */
export async function defaultGroupId(ec2: EC2Client, vpcId: string, subject: string): Promise<string> {
  const found = await groupByName(ec2, 'default', vpcId, subject);
  if (!found) throw new ProviderError(`${subject}: ${vpcId} has no default security group to leave on its instances`, false);
  return found.groupId;
}
