import { CreateSecurityGroupCommand, CreateTagsCommand, DeleteSecurityGroupCommand, DeleteTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { ResourceChange } from '../../model.js';
import { awsRuleDescription } from '../../render/index.js';
import { ProviderError } from '../provider.js';
import { readBody, type GroupBody } from './body.js';
import type { Ec2Clients } from './clients.js';
import { errorCode, providerError } from './errors.js';
import { defaultGroupId, describeGroups, groupByName, resolveVpc, type GroupView } from './groups.js';
import { listInstances, setGroups, targetedInstances, type InstanceView } from './instances.js';
import type { Located } from './observe.js';
import { authorize, heldRules, planRules, revoke } from './rules.js';
import { CLUSTER_TAG, clusterSpecKey, decodeSpec, encodeSpec, MANAGED_BY_TAG, MANAGED_BY_VALUE, OWN_SPEC_KEY, specKeys, specOf } from './spec-tags.js';

// Applying one change. Each step reads what EC2 holds now and writes only the difference, so a retried change
// (the engine retries transient failures) redoes nothing that is done: rules, then attachments, then the
// spec tags that record what was asked for, then the clean-up of copies left elsewhere.

export interface ApplyContext {
  clients: Ec2Clients;
  /** Where the last observe found each resource. */
  locations: ReadonlyMap<string, readonly Located[]>;
  /** Instance groups are read, then written: one region's attachments go one at a time. */
  inRegion<T>(region: string, work: () => Promise<T>): Promise<T>;
  /** A region now holds something of portcullis's: observe looks there from now on. */
  remember(region: string): void;
  /** After a change, the instances its group reaches (for endpoints). */
  reached(id: string, instances: InstanceView[]): void;
}

const EC2_TAG_LIMIT = 50;

export async function applyChange(ctx: ApplyContext, change: ResourceChange): Promise<void> {
  const subject = `${change.kind}/${change.name}`;
  const found = ctx.locations.get(change.id) ?? [];
  if (change.action === 'deleted' || !change.desired) {
    const places = found.length > 0 ? found : await locateAgain(ctx, change);
    for (const place of places) await release(ctx, place, subject);
    ctx.reached(change.id, []);
    return;
  }
  const desired = readBody(change.desired.body);
  const group = await converge(ctx, change, desired, subject);
  for (const place of found) if (place.group.groupId !== group.groupId) await release(ctx, place, subject);
}

/** Makes the group in the desired region and VPC hold what the body asks for; returns it. */
async function converge(ctx: ApplyContext, change: ResourceChange, d: GroupBody, subject: string): Promise<GroupView> {
  const { cluster } = change;
  const read = ctx.clients.read(d.region);
  const write = ctx.clients.write(d.region);
  const vpcId = await resolveVpc(read, d.region, d.vpc, subject);
  const spec = specOf(cluster, d);
  let group = await groupByName(read, d.name, vpcId, subject);
  let wantTags: Record<string, string>;
  let oldTags: string[];
  if (d.managed_group) {
    // The ownership tags are always set: without them the group would not be found again.
    wantTags = { ...d.tags, [MANAGED_BY_TAG]: MANAGED_BY_VALUE, [CLUSTER_TAG]: cluster, ...encodeSpec(spec, OWN_SPEC_KEY) };
    if (Object.keys(wantTags).length > EC2_TAG_LIMIT) throw new ProviderError(`${subject}: ${Object.keys(wantTags).length} tags needed, EC2 allows ${EC2_TAG_LIMIT}: use fewer labels or tags`, false);
    if (group) checkOwnership(group, cluster, d, subject);
    else group = await create(write, d, vpcId, wantTags, subject);
    oldTags = [...Object.keys(decodeSpec(group.tags, OWN_SPEC_KEY)?.tags ?? {}), ...specKeys(group.tags, OWN_SPEC_KEY)].filter((k) => k !== MANAGED_BY_TAG && k !== CLUSTER_TAG);
  } else {
    if (!group) {
      const where = `${vpcId} (${d.region})`;
      throw new ProviderError(`${subject}: no security group named ${JSON.stringify(d.name)} in ${where}; portcullis adds rules to a group the manifest or settings name but never creates it`, false);
    }
    wantTags = encodeSpec(spec, clusterSpecKey(cluster));
    oldTags = specKeys(group.tags, clusterSpecKey(cluster));
  }
  ctx.remember(d.region);

  const plan = planRules(d.rules, await heldRules(read, group.groupId, subject), cluster);
  await authorize(write, group.groupId, plan.authorize, cluster, subject);
  await revoke(write, group.groupId, plan.revoke, subject);
  const { groupId } = group;
  const reached = await ctx.inRegion(d.region, () => attach(read, write, groupId, vpcId, d, subject));
  ctx.reached(change.id, reached);
  await setTags(write, group, wantTags, oldTags, subject);
  return group;
}

/** A group of the desired name that portcullis did not record as this cluster's is someone else's. */
function checkOwnership(group: GroupView, cluster: string, d: GroupBody, subject: string): void {
  const tagged = group.tags[MANAGED_BY_TAG] === MANAGED_BY_VALUE;
  const owner = group.tags[CLUSTER_TAG] ?? decodeSpec(group.tags, OWN_SPEC_KEY)?.cluster;
  if (tagged && owner === cluster) return;
  // Made by portcullis, then its tags were lost (a create whose answer never came, a hand edit): taken back.
  if (!tagged && group.description === d.description) return;
  throw new ProviderError(
    `${subject}: a security group named ${JSON.stringify(group.name)} already exists in ${group.vpcId} and is not this cluster's (${group.groupId}); ` +
      'name it in the manifest (aws.security_group) for portcullis to add rules to it, or remove it',
    false,
  );
}

async function create(write: EC2Client, d: GroupBody, vpcId: string, tags: Record<string, string>, subject: string): Promise<GroupView> {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  try {
    const made = await write.send(new CreateSecurityGroupCommand({ GroupName: d.name, Description: d.description, VpcId: vpcId, TagSpecifications: [{ ResourceType: 'security-group', Tags }] }));
    return { groupId: made.GroupId ?? '', name: d.name, vpcId, description: d.description, tags, group: {} };
  } catch (err) {
    throw providerError(subject, 'create', err);
  }
}

/** Attaches the group to each targeted instance; takes a group portcullis owns off instances no longer targeted. */
async function attach(read: EC2Client, write: EC2Client, groupId: string, vpcId: string, d: GroupBody, subject: string): Promise<InstanceView[]> {
  const instances = await listInstances(read, [vpcId], subject);
  const targeted = targetedInstances(instances, d, vpcId);
  for (const instance of targeted) if (!instance.groups.includes(groupId)) await setGroups(write, instance, [...instance.groups, groupId], subject);
  if (d.managed_group) {
    const stray = instances.filter((i) => i.groups.includes(groupId) && !targeted.includes(i));
    await detach(read, write, stray, groupId, vpcId, subject);
  }
  return targeted;
}

/** An instance keeps at least one group: one left with none gets its VPC's default group. */
async function detach(read: EC2Client, write: EC2Client, instances: readonly InstanceView[], groupId: string, vpcId: string, subject: string): Promise<void> {
  let fallback: string | undefined;
  for (const instance of instances) {
    let rest = instance.groups.filter((g) => g !== groupId);
    if (rest.length === 0) rest = [(fallback ??= await defaultGroupId(read, vpcId, subject))];
    await setGroups(write, instance, rest, subject);
  }
}

/** Writes the tags that differ, removes the ones portcullis set before and no longer wants. One call each, at most. */
async function setTags(write: EC2Client, group: GroupView, want: Record<string, string>, old: readonly string[], subject: string): Promise<void> {
  const changed = Object.entries(want).filter(([k, v]) => group.tags[k] !== v);
  const stale = [...new Set(old)].filter((k) => want[k] === undefined && group.tags[k] !== undefined);
  try {
    if (changed.length > 0) await write.send(new CreateTagsCommand({ Resources: [group.groupId], Tags: changed.map(([Key, Value]) => ({ Key, Value })) }));
    if (stale.length > 0) await write.send(new DeleteTagsCommand({ Resources: [group.groupId], Tags: stale.map((Key) => ({ Key })) }));
  } catch (err) {
    throw providerError(subject, 'tagging', err);
  }
}

/** Takes a cluster's hold off one place: a group portcullis owns is detached and deleted; in any other, only its rules and spec go. */
async function release(ctx: ApplyContext, place: Located, subject: string): Promise<void> {
  const read = ctx.clients.read(place.region);
  const write = ctx.clients.write(place.region);
  const { groupId, vpcId } = place.group;
  if (place.managed) {
    await ctx.inRegion(place.region, async () => {
      const instances = await listInstances(read, [vpcId], subject);
      await detach(read, write, instances.filter((i) => i.groups.includes(groupId)), groupId, vpcId, subject);
    });
    try {
      await write.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    } catch (err) {
      if (errorCode(err) === 'InvalidGroup.NotFound') return;
      // Interfaces let go of a group a little after they are changed, and other groups' rules may still name it.
      throw providerError(subject, `delete (${groupId})`, err, ['DependencyViolation']);
    }
    return;
  }
  const mark = awsRuleDescription(place.cluster);
  const held = await heldRules(read, groupId, subject);
  await revoke(write, groupId, held.filter((h) => h.rule.description === mark).map((h) => h.id), subject);
  const [fresh] = await describeGroups(read, [{ Name: 'group-id', Values: [groupId] }], subject);
  if (fresh) await setTags(write, fresh, {}, specKeys(fresh.tags, clusterSpecKey(place.cluster)), subject);
}

/** Where a resource is, when the last observe did not say (a change applied without one). */
async function locateAgain(ctx: ApplyContext, change: ResourceChange): Promise<Located[]> {
  if (!change.actual) return [];
  const a = readBody(change.actual.body);
  const subject = `${change.kind}/${change.name}`;
  const filters = [{ Name: 'group-name', Values: [a.name] }];
  if (a.managed_group) filters.push({ Name: `tag:${CLUSTER_TAG}`, Values: [change.cluster] });
  const groups = await describeGroups(ctx.clients.read(a.region), filters, subject);
  return groups.map((group) => ({ cluster: change.cluster, managed: a.managed_group, region: a.region, group, rules: [] }));
}
