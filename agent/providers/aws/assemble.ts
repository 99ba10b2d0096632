import type { Resource } from '../../model.js';
import { sortRules, toJson, type Drift, type GroupBody } from './body.js';
import { targetedInstances, type InstanceView } from './instances.js';
import type { Located, RegionView } from './observe.js';
import { CLUSTER_TAG, MANAGED_BY_TAG } from './spec-tags.js';

// From what the regions hold to Resources in exactly the rendered shape. Pure. When a cluster's group (or its
// rules) is found in several places — a move between regions or VPCs cut short — one is the resource and the
// others are named in its drift, so the next apply finishes the move.

export const resourceId = (cluster: string, name: string): string => `aws/${cluster}/SecurityGroup/${name}`;

export interface Observation {
  resources: Resource[];
  /** Every place each resource was found, the chosen one first. */
  locations: Map<string, Located[]>;
  /** The instances each resource's rules reach (targeted, and carrying the group): for endpoints. */
  reached: Map<string, InstanceView[]>;
}

/** `regionOf`: the region Git puts a cluster in, when Git still names it: that copy is preferred. */
export function assemble(views: readonly RegionView[], regionOf: (cluster: string) => string | undefined): Observation {
  const byId = new Map<string, { located: Located; instances: readonly InstanceView[] }[]>();
  for (const view of views) {
    for (const located of view.located) {
      const id = resourceId(located.cluster, located.group.name);
      const list = byId.get(id) ?? byId.set(id, []).get(id)!;
      list.push({ located, instances: view.instances });
    }
  }
  const observation: Observation = { resources: [], locations: new Map(), reached: new Map() };
  for (const [id, found] of [...byId].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const preferred = regionOf(found[0]!.located.cluster);
    const rank = (l: Located) => (l.region === preferred ? 0 : 2) + (l.spec ? 0 : 1);
    found.sort((a, b) => rank(a.located) - rank(b.located) || (a.located.group.groupId < b.located.group.groupId ? -1 : 1));
    const [chosen, ...others] = found as [(typeof found)[0], ...typeof found];
    const body = bodyOf(chosen.located, chosen.instances);
    if (others.length > 0) body.drift = { ...body.drift, elsewhere: others.map((o) => `${o.located.region}/${o.located.group.groupId}`) };
    const { cluster, group } = chosen.located;
    observation.resources.push({ id, cloud: 'aws', cluster, kind: 'SecurityGroup', name: group.name, body: toJson(body) });
    observation.locations.set(id, found.map((f) => f.located));
    observation.reached.set(id, reachable(chosen.located, chosen.instances));
  }
  return observation;
}

/** The instances the cluster's rules reach: targeted by it and carrying the group. */
function reachable(located: Located, instances: readonly InstanceView[]): InstanceView[] {
  if (!located.spec) return [];
  return targetedInstances(instances, located.spec, located.group.vpcId).filter((i) => i.groups.includes(located.group.groupId));
}

const attachedTo = (groupId: string, instances: readonly InstanceView[]): InstanceView[] => instances.filter((i) => i.groups.includes(groupId));

const pick = (tags: Record<string, string>, keys: readonly string[]): Record<string, string> =>
  Object.fromEntries(keys.filter((k) => tags[k] !== undefined).map((k) => [k, tags[k]!]));

/** The body of one cluster's hold on a group: read from EC2 where EC2 can tell, from the spec tags where not. */
export function bodyOf(located: Located, instances: readonly InstanceView[]): GroupBody {
  const { group, spec, managed } = located;
  const body: GroupBody = {
    kind: 'SecurityGroup',
    name: group.name,
    managed_group: managed,
    region: located.region,
    description: spec?.description ?? (managed ? group.description : ''),
    // The tags of a group portcullis owns are read back, so one removed by hand is put back; on a group it
    // was told to use it sets none, and the rendered ones are only recorded.
    tags: managed ? pick(group.tags, spec ? Object.keys(spec.tags) : [MANAGED_BY_TAG, CLUSTER_TAG]) : { ...(spec?.tags ?? {}) },
    labels: { ...(spec?.labels ?? {}) },
    rules: sortRules(located.rules),
  };
  if (spec?.vpc !== undefined) body.vpc = spec.vpc;
  if (spec?.instance_ids !== undefined) body.instance_ids = [...spec.instance_ids];
  if (spec?.instance_tags !== undefined) body.instance_tags = { ...spec.instance_tags };
  if (spec) {
    const drift = attachmentDrift(located, spec, instances);
    if (drift) body.drift = drift;
  }
  return body;
}

/** Instances to attach the group to, and (for a group portcullis owns) to take it off. */
function attachmentDrift(located: Located, spec: NonNullable<Located['spec']>, instances: readonly InstanceView[]): Drift | undefined {
  const { groupId, vpcId } = located.group;
  const targeted = targetedInstances(instances, spec, vpcId);
  const attach = targeted.filter((i) => !i.groups.includes(groupId)).map((i) => i.id);
  const wanted = new Set(targeted.map((i) => i.id));
  const detach = located.managed ? attachedTo(groupId, instances).filter((i) => !wanted.has(i.id)).map((i) => i.id).sort() : [];
  if (attach.length === 0 && detach.length === 0) return undefined;
  return { ...(attach.length > 0 ? { attach } : {}), ...(detach.length > 0 ? { detach } : {}) };
}
