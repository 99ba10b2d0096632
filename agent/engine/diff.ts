import type { Cloud, Cluster, Exposure, Plan, PlanSummary, PortAction, PortChange, PortSpec, Position, Problem, Protocol } from '../model.js';
import { PROTOCOLS } from '../model.js';
import { targetChange } from './target-change.js';

/** One revision's clusters, as `planBetween` compares them. */
export interface PlanSide {
  revision: string;
  clusters: readonly Cluster[];
}

/** A run of ports that all change the same way. */
interface Segment {
  from: number;
  to: number;
  action: PortAction;
  exposure: Exposure;
  cidrs: string[];
  before?: { exposure: Exposure; cidrs: string[] };
  reason?: string;
  at: Position;
}

/** Removals first, then additions, then updates, as AWS CDK's diff orders them. */
const ACTION_ORDER: Record<PortAction, number> = { close: 0, open: 1, change: 2 };

/**
 * The port changes that take `base` to `head`, for people. Ports are compared with a sweep over range
 * boundaries, never expanded one by one, so `1-65535` costs the same as `22`.
 */
export function planBetween(base: PlanSide, head: PlanSide, problems: Problem[] = []): Plan {
  const was = byName(base.clusters);
  const now = byName(head.clusters);
  const names = [...new Set([...was.keys(), ...now.keys()])].sort(compareText);
  const changes = names.flatMap((name) => clusterChanges(was.get(name), now.get(name)));
  const summary: PlanSummary = { open: 0, close: 0, change: 0 };
  for (const change of changes) summary[change.action] += 1;
  return { base: base.revision, head: head.revision, summary, changes, problems };
}

function clusterChanges(was: Cluster | undefined, now: Cluster | undefined): PortChange[] {
  if (was && now && was.cloud === now.cloud) return portChanges(now.name, now.cloud, was.ports, now.ports, targetChange(was, now));
  // A cluster that moved to another cloud closes everything on the old one and opens everything on the new one.
  const closes = was ? portChanges(was.name, was.cloud, was.ports, [], undefined) : [];
  const opens = now ? portChanges(now.name, now.cloud, [], now.ports, undefined) : [];
  return [...closes, ...opens];
}

/** The changes of one cluster on one cloud, grouped and in the plan's fixed order. */
function portChanges(cluster: string, cloud: Cloud, base: readonly PortSpec[], head: readonly PortSpec[], reason: string | undefined): PortChange[] {
  const groups = new Map<string, { change: PortChange; first: number }>();
  for (const protocol of PROTOCOLS) {
    const segments = sweep(disjoint(base, protocol), disjoint(head, protocol), reason);
    for (const s of segments) {
      const key = JSON.stringify([protocol, s.action, s.exposure, s.cidrs, s.before ?? null, s.reason ?? null]);
      const ports = s.from === s.to ? String(s.from) : `${s.from}-${s.to}`;
      const group = groups.get(key);
      if (group) {
        group.change.ports.push(ports);
        continue;
      }
      const change: PortChange = { action: s.action, cluster, cloud, protocol, ports: [ports], exposure: s.exposure, cidrs: s.cidrs };
      if (s.before) change.before = s.before;
      if (s.reason !== undefined) change.reason = s.reason;
      change.at = s.at;
      groups.set(key, { change, first: s.from });
    }
  }
  return [...groups.values()]
    .sort((a, b) => ACTION_ORDER[a.change.action] - ACTION_ORDER[b.change.action] || compareText(a.change.protocol, b.change.protocol) || a.first - b.first)
    .map((g) => g.change);
}

/**
 * Walks the boundaries of both sides in order; between two boundaries each side holds one spec or none,
 * which decides the action. Neighbouring segments that change the same way are merged back into one range.
 */
function sweep(base: readonly PortSpec[], head: readonly PortSpec[], reason: string | undefined): Segment[] {
  const bounds = new Set<number>();
  for (const spec of [...base, ...head]) bounds.add(spec.from).add(spec.to + 1);
  const points = [...bounds].sort((a, b) => a - b);
  const segments: Segment[] = [];
  let i = 0;
  let j = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const from = points[k]!;
    const to = points[k + 1]! - 1;
    while (i < base.length && base[i]!.to < from) i++;
    while (j < head.length && head[j]!.to < from) j++;
    const was = base[i] !== undefined && base[i]!.from <= from ? base[i] : undefined;
    const now = head[j] !== undefined && head[j]!.from <= from ? head[j] : undefined;
    const segment = classify(from, to, was, now, reason);
    if (!segment) continue;
    const last = segments[segments.length - 1];
    if (last && last.to + 1 === from && sameChange(last, segment)) last.to = to;
    else segments.push(segment);
  }
  return segments;
}

function classify(from: number, to: number, was: PortSpec | undefined, now: PortSpec | undefined, reason: string | undefined): Segment | undefined {
  if (now && !was) return { from, to, action: 'open', exposure: now.exposure, cidrs: now.cidrs, at: now.at };
  if (was && !now) return { from, to, action: 'close', exposure: was.exposure, cidrs: was.cidrs, at: was.at };
  if (!was || !now) return undefined;
  const before = { exposure: was.exposure, cidrs: was.cidrs };
  if (was.exposure !== now.exposure || !sameList(was.cidrs, now.cidrs)) return { from, to, action: 'change', exposure: now.exposure, cidrs: now.cidrs, before, at: now.at };
  // Same ports, same exposure, but they now lead somewhere else: still worth a line in the plan.
  if (reason !== undefined) return { from, to, action: 'change', exposure: now.exposure, cidrs: now.cidrs, before, reason, at: now.at };
  return undefined;
}

function sameChange(a: Segment, b: Segment): boolean {
  return (
    a.action === b.action &&
    a.exposure === b.exposure &&
    sameList(a.cidrs, b.cidrs) &&
    a.before?.exposure === b.before?.exposure &&
    sameList(a.before?.cidrs ?? [], b.before?.cidrs ?? []) &&
    a.reason === b.reason
  );
}

/**
 * The specs of one protocol, sorted and without overlaps. A checked manifest has none (overlaps with
 * different keys are a PORT_CONFLICT), but the sweep must stay well defined: the range starting first wins.
 */
function disjoint(specs: readonly PortSpec[], protocol: Protocol): PortSpec[] {
  const sorted = specs.filter((s) => s.protocol === protocol).sort((a, b) => a.from - b.from || a.to - b.to);
  const out: PortSpec[] = [];
  let covered = 0;
  for (const spec of sorted) {
    if (spec.to <= covered) continue;
    out.push(spec.from <= covered ? { ...spec, from: covered + 1 } : spec);
    covered = spec.to;
  }
  return out;
}

function byName(clusters: readonly Cluster[]): Map<string, Cluster> {
  const map = new Map<string, Cluster>();
  for (const cluster of clusters) if (!map.has(cluster.name)) map.set(cluster.name, cluster);
  return map;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Code-point order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
