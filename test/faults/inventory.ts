// Everything in a test world that looks like ours, one line per object or rule (duplicates repeat), so a
// leaked, duplicated or missing object shows up whoever made it and whether or not it carries our mark.
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { FakeKube, JsonObject } from '../fakes/kube-apiserver/index.js';
import { instanceGroups, ruleLines, type World } from '../providers/aws/world.js';

/** Services and Ingresses of a namespace: kind/name, ports, Ingress paths. */
export function kubernetesInventory(fake: FakeKube, namespace: string): string[] {
  return (['Service', 'Ingress'] as const).flatMap((kind) =>
    fake.list(kind, namespace).map((o) => {
      const spec = o.spec as JsonObject;
      const ports = ((spec.ports as JsonObject[] | undefined) ?? []).map((p) => `${p.protocol}/${p.port}`).join(',');
      const paths = ((spec.rules as JsonObject[] | undefined) ?? []).flatMap((r) => ((r.http as JsonObject).paths as JsonObject[]).map((p) => p.path)).join(',');
      return `${kind}/${(o.metadata as JsonObject).name} ${ports}${paths}`;
    }),
  );
}

/** Every non-default security group with its tags and ingress rules, and which groups each of `instances` wears. */
export async function awsInventory(world: World, instances: readonly string[] = []): Promise<string[]> {
  const groups = (await world.admin().send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
  const names = new Map(groups.map((g) => [g.GroupId!, g.GroupName!]));
  const lines: string[] = [];
  for (const g of groups) {
    if (g.GroupName === 'default') continue;
    const tags = (g.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).sort().join(',');
    lines.push(`group ${g.GroupName} [${tags}]`, ...(await ruleLines(world, g.GroupId!)).map((r) => `  ${g.GroupName}: ${r}`));
  }
  if (instances.length > 0) {
    // An attachment lost to a fault or a kill shows here.
    for (const [id, wearing] of await instanceGroups(world, [...instances])) lines.push(`instance ${instances.indexOf(id)} wears ${wearing.map((g) => names.get(g)).filter((n) => n !== 'default').sort().join(',')}`);
  }
  return lines;
}
