import { ModifyInstanceAttributeCommand, ModifyNetworkInterfaceAttributeCommand, paginateDescribeInstances, type EC2Client, type Filter, type Instance } from '@aws-sdk/client-ec2';
import type { AttachTarget } from './body.js';
import { providerError } from './errors.js';

// Attaching a group to a cluster's instances: add it to each instance's groups, keeping the ones it has.
// An instance with one network interface is changed with ModifyInstanceAttribute; one with several has its
// groups on each interface, and the group goes on the primary one (device index 0), where its address is.

export interface InstanceView {
  id: string;
  vpcId: string;
  tags: Record<string, string>;
  /** The groups of the primary interface (for one interface, the instance's groups). */
  groups: string[];
  /** Set when the instance has several interfaces: its groups are changed on this one. */
  primaryInterface?: string;
  publicIp?: string;
  privateIp?: string;
}

/** States in which an instance has interfaces whose groups can change; terminated ones are left out. */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

function view(i: Instance): InstanceView {
  const interfaces = i.NetworkInterfaces ?? [];
  const primary = interfaces.find((n) => n.Attachment?.DeviceIndex === 0) ?? interfaces[0];
  const own = (i.SecurityGroups ?? []).map((g) => g.GroupId ?? '');
  const onInterface = (primary?.Groups ?? []).map((g) => g.GroupId ?? '');
  const multi = interfaces.length > 1 && primary?.NetworkInterfaceId !== undefined;
  // One interface: its groups are the instance's; EC2 reports them in both places, either may lag in an emulator.
  const groups = multi ? onInterface : [...new Set([...own, ...onInterface])];
  const v: InstanceView = { id: i.InstanceId ?? '', vpcId: i.VpcId ?? '', tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])), groups: groups.filter(Boolean) };
  if (multi) v.primaryInterface = primary.NetworkInterfaceId!;
  if (i.PublicIpAddress) v.publicIp = i.PublicIpAddress;
  if (i.PrivateIpAddress) v.privateIp = i.PrivateIpAddress;
  return v;
}

/** The live instances of a region, of the given VPCs. */
export async function listInstances(ec2: EC2Client, vpcIds: readonly string[], subject: string): Promise<InstanceView[]> {
  if (vpcIds.length === 0) return [];
  const filters: Filter[] = [
    { Name: 'instance-state-name', Values: LIVE_STATES },
    { Name: 'vpc-id', Values: [...new Set(vpcIds)] },
  ];
  const instances: InstanceView[] = [];
  try {
    for await (const page of paginateDescribeInstances({ client: ec2 }, { Filters: filters })) {
      for (const reservation of page.Reservations ?? []) for (const i of reservation.Instances ?? []) instances.push(view(i));
    }
  } catch (err) {
    throw providerError(subject, 'listing instances', err);
  }
  return instances;
}

/** Whether an instance is one the target names: by id, or by carrying every one of the tags (exactly). */
export function isTargeted(instance: InstanceView, target: AttachTarget): boolean {
  if (target.instance_ids) return target.instance_ids.includes(instance.id);
  if (target.instance_tags) return Object.entries(target.instance_tags).every(([k, v]) => instance.tags[k] === v);
  return false;
}

/** The instances of `vpcId` the target names, in a stable order. */
export function targetedInstances(instances: readonly InstanceView[], target: AttachTarget, vpcId: string): InstanceView[] {
  return instances.filter((i) => i.vpcId === vpcId && isTargeted(i, target)).sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Sets an instance's groups (on its primary interface when it has several). One write call. */
export async function setGroups(ec2: EC2Client, instance: InstanceView, groups: readonly string[], subject: string): Promise<void> {
  try {
    if (instance.primaryInterface) await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: instance.primaryInterface, Groups: [...groups] }));
    else await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instance.id, Groups: [...groups] }));
  } catch (err) {
    throw providerError(subject, `changing the groups of ${instance.id}`, err);
  }
  instance.groups = [...groups];
}
