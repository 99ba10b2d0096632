import { paginateDescribeSecurityGroupRules, type EC2Client } from '@aws-sdk/client-ec2';
import { awsRuleDescription } from '../../render/index.js';
import type { RuleBody } from './body.js';
import { providerError } from './errors.js';
import { describeGroups, type GroupView } from './groups.js';
import { listInstances, type InstanceView } from './instances.js';
import { markedCluster, rulesOfPermissions } from './rules.js';
import { CLUSTER_TAG, clusterSpecKey, decodeSpec, MANAGED_BY_TAG, MANAGED_BY_VALUE, OWN_SPEC_KEY, specClusters, type Spec } from './spec-tags.js';

// Observing one region: every group that carries portcullis's mark, every group holding a rule of ours
// (rules are tagged when authorized), and the groups Git names for clusters to use. In each, only rules with
// a cluster's mark count as that cluster's.

/** One cluster's hold on one group: the whole group when portcullis owns it, else only its marked rules. */
export interface Located {
  cluster: string;
  managed: boolean;
  region: string;
  group: GroupView;
  /** The cluster's rules in the group (description `portcullis:{cluster}`). */
  rules: RuleBody[];
  spec?: Spec;
}

export interface RegionView {
  region: string;
  located: Located[];
  /** Live instances of the VPCs the located groups are in. */
  instances: InstanceView[];
}

const OURS = [{ Name: `tag:${MANAGED_BY_TAG}`, Values: [MANAGED_BY_VALUE] }];

/** `names`: groups Git names for clusters of this region to keep rules in. */
export async function observeRegion(ec2: EC2Client, region: string, names: readonly string[]): Promise<RegionView> {
  const subject = `region ${region}`;
  const [owned, taggedRuleGroups, named] = await Promise.all([
    describeGroups(ec2, OURS, subject),
    groupsWithTaggedRules(ec2, subject),
    names.length > 0 ? describeGroups(ec2, [{ Name: 'group-name', Values: [...new Set(names)] }], subject) : Promise.resolve([]),
  ]);
  const seen = new Map<string, GroupView>();
  for (const g of [...owned, ...named]) seen.set(g.groupId, g);
  const missing = [...taggedRuleGroups].filter((id) => !seen.has(id));
  if (missing.length > 0) for (const g of await describeGroups(ec2, [{ Name: 'group-id', Values: missing }], subject)) seen.set(g.groupId, g);

  const located = [...seen.values()].flatMap((g) => locate(g, region));
  const instances = located.length > 0 ? await listInstances(ec2, located.map((l) => l.group.vpcId), subject) : [];
  return { region, located, instances };
}

async function groupsWithTaggedRules(ec2: EC2Client, subject: string): Promise<Set<string>> {
  const ids = new Set<string>();
  try {
    for await (const page of paginateDescribeSecurityGroupRules({ client: ec2 }, { Filters: OURS })) {
      for (const r of page.SecurityGroupRules ?? []) if (r.GroupId) ids.add(r.GroupId);
    }
  } catch (err) {
    throw providerError(subject, 'reading tagged rules', err);
  }
  return ids;
}

/** Every cluster's hold on a group: its owner's (by tag), and each cluster with marked rules or a spec in it. */
export function locate(group: GroupView, region: string): Located[] {
  const rules = rulesOfPermissions(group.group.IpPermissions ?? []);
  const ownSpec = decodeSpec(group.tags, OWN_SPEC_KEY);
  const owner = group.tags[MANAGED_BY_TAG] === MANAGED_BY_VALUE ? (group.tags[CLUSTER_TAG] ?? ownSpec?.cluster) : undefined;
  const rulesOf = (cluster: string) => rules.filter((r) => r.description === awsRuleDescription(cluster));
  const located: Located[] = [];
  if (owner !== undefined) located.push(withSpec({ cluster: owner, managed: true, region, group, rules: rulesOf(owner) }, ownSpec));
  const users = new Set([...rules.map((r) => markedCluster(r.description)), ...specClusters(group.tags)]);
  for (const cluster of [...users].sort()) {
    if (cluster === undefined || cluster === owner) continue;
    located.push(withSpec({ cluster, managed: false, region, group, rules: rulesOf(cluster) }, decodeSpec(group.tags, clusterSpecKey(cluster))));
  }
  return located;
}

const withSpec = (l: Located, spec: Spec | undefined): Located => (spec ? { ...l, spec } : l);
