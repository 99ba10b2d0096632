import {
  AuthorizeSecurityGroupIngressCommand,
  paginateDescribeSecurityGroupRules,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { awsRuleDescription } from '../../render/index.js';
import { ruleKey, type RuleBody } from './body.js';
import { errorCode, providerError } from './errors.js';
import { CLUSTER_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE } from './spec-tags.js';

// Ingress rules, converged rule by rule: authorize only what is missing, revoke (by rule id) only rules that
// carry this cluster's mark and that Git no longer asks for. A rule without the mark is never touched.

/** The cluster a rule description marks, or undefined: `portcullis:{cluster}` is the ownership mark on rules. */
export function markedCluster(description: string | undefined): string | undefined {
  const match = /^portcullis:([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(description ?? '');
  return match ? match[1] : undefined;
}

const protocolName = (p: string | undefined): string => (p === '6' ? 'tcp' : p === '17' ? 'udp' : (p ?? '-1').toLowerCase());

/** The rules of a group's IpPermissions (DescribeSecurityGroups), one per source. */
export function rulesOfPermissions(permissions: readonly IpPermission[]): RuleBody[] {
  const rules: RuleBody[] = [];
  for (const p of permissions) {
    const base = { protocol: protocolName(p.IpProtocol), from: p.FromPort ?? -1, to: p.ToPort ?? -1 };
    for (const r of p.IpRanges ?? []) rules.push({ ...base, cidr: r.CidrIp ?? '', description: r.Description ?? '' });
    for (const r of p.Ipv6Ranges ?? []) rules.push({ ...base, cidr_ipv6: r.CidrIpv6 ?? '', description: r.Description ?? '' });
    for (const r of p.UserIdGroupPairs ?? []) rules.push({ ...base, source: r.GroupId ?? r.GroupName ?? '', description: r.Description ?? '' });
    for (const r of p.PrefixListIds ?? []) rules.push({ ...base, source: r.PrefixListId ?? '', description: r.Description ?? '' });
  }
  return rules;
}

export interface HeldRule {
  id: string;
  rule: RuleBody;
}

/** One ingress rule of DescribeSecurityGroupRules, with its id. */
export function heldRule(r: SecurityGroupRule): HeldRule {
  const rule: RuleBody = { protocol: protocolName(r.IpProtocol), from: r.FromPort ?? -1, to: r.ToPort ?? -1, description: r.Description ?? '' };
  if (r.CidrIpv4 !== undefined) rule.cidr = r.CidrIpv4;
  else if (r.CidrIpv6 !== undefined) rule.cidr_ipv6 = r.CidrIpv6;
  else rule.source = r.ReferencedGroupInfo?.GroupId ?? r.PrefixListId ?? '';
  return { id: r.SecurityGroupRuleId ?? '', rule };
}

export interface RulePlan {
  authorize: RuleBody[];
  /** Rule ids. */
  revoke: string[];
}

/**
 * What turns the held ingress rules into the wanted ones. A wanted rule whose protocol, ports and source
 * a rule without our mark already allows is not authorized: EC2 would call it a duplicate, and it is open.
 */
export function planRules(wanted: readonly RuleBody[], held: readonly HeldRule[], cluster: string): RulePlan {
  const mark = awsRuleDescription(cluster);
  const heldKeys = new Set(held.map((h) => ruleKey(h.rule)));
  const wantedKeys = new Set(wanted.map(ruleKey));
  const authorize: RuleBody[] = [];
  const planned = new Set<string>();
  for (const rule of wanted) {
    const key = ruleKey(rule);
    if (heldKeys.has(key) || planned.has(key)) continue;
    planned.add(key);
    authorize.push(rule);
  }
  const revoke = held.filter((h) => h.rule.description === mark && !wantedKeys.has(ruleKey(h.rule))).map((h) => h.id);
  return { authorize, revoke };
}

/** IpPermissions for `rules`, one per protocol and port range. */
export function toPermissions(rules: readonly RuleBody[]): IpPermission[] {
  const byRange = new Map<string, IpPermission>();
  for (const rule of rules) {
    const key = `${rule.protocol}|${rule.from}|${rule.to}`;
    let p = byRange.get(key);
    if (!p) {
      p = { IpProtocol: rule.protocol, FromPort: rule.from, ToPort: rule.to };
      byRange.set(key, p);
    }
    if (rule.cidr !== undefined) (p.IpRanges ??= []).push({ CidrIp: rule.cidr, Description: rule.description });
    else if (rule.cidr_ipv6 !== undefined) (p.Ipv6Ranges ??= []).push({ CidrIpv6: rule.cidr_ipv6, Description: rule.description });
  }
  return [...byRange.values()];
}

/** The ingress rules of one group, with their ids. */
export async function heldRules(ec2: EC2Client, groupId: string, subject: string): Promise<HeldRule[]> {
  const held: HeldRule[] = [];
  try {
    for await (const page of paginateDescribeSecurityGroupRules({ client: ec2 }, { Filters: [{ Name: 'group-id', Values: [groupId] }] })) {
      for (const r of page.SecurityGroupRules ?? []) if (!r.IsEgress) held.push(heldRule(r));
    }
  } catch (err) {
    throw providerError(subject, 'reading rules', err);
  }
  return held;
}

const ruleTags = (cluster: string) => [{ ResourceType: 'security-group-rule' as const, Tags: [{ Key: MANAGED_BY_TAG, Value: MANAGED_BY_VALUE }, { Key: CLUSTER_TAG, Value: cluster }] }];

/**
 * Authorizes `rules` in one call; the rules carry ownership tags too, so rules in a group portcullis does not
 * own are found again after a restart. A duplicate means another writer got there first: then each rule is
 * authorized on its own, a duplicate counting as done.
 */
export async function authorize(ec2: EC2Client, groupId: string, rules: readonly RuleBody[], cluster: string, subject: string): Promise<void> {
  if (rules.length === 0) return;
  const send = (some: readonly RuleBody[]) => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions(some), TagSpecifications: ruleTags(cluster) }));
  try {
    await send(rules);
    return;
  } catch (err) {
    if (errorCode(err) !== 'InvalidPermission.Duplicate') throw providerError(subject, 'authorize', err);
  }
  if (rules.length === 1) return;
  for (const rule of rules) {
    try {
      await send([rule]);
    } catch (err) {
      if (errorCode(err) !== 'InvalidPermission.Duplicate') throw providerError(subject, 'authorize', err);
    }
  }
}

const GONE = ['InvalidPermission.NotFound', 'InvalidSecurityGroupRuleId.NotFound'];

/** Revokes rules by id in one call; one already gone means each is revoked on its own, a missing one counting as done. */
export async function revoke(ec2: EC2Client, groupId: string, ruleIds: readonly string[], subject: string): Promise<void> {
  if (ruleIds.length === 0) return;
  const send = (ids: readonly string[]) => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [...ids] }));
  try {
    await send(ruleIds);
    return;
  } catch (err) {
    if (!GONE.includes(errorCode(err) ?? '')) throw providerError(subject, 'revoke', err);
  }
  if (ruleIds.length === 1) return;
  for (const id of ruleIds) {
    try {
      await send([id]);
    } catch (err) {
      if (!GONE.includes(errorCode(err) ?? '')) throw providerError(subject, 'revoke', err);
    }
  }
}
