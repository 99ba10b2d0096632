// Small helpers the built-in policies share. Nothing here decides anything: each policy file does.
import type { Cluster, PortSpec, Settings } from '../agent/model.js';
import type { Finding, PolicyOutcome, PolicyRequest } from '../agent/policy/types.js';
import { effectiveSources, isAnyone, rangeText } from '../agent/render/sources.js';

export { rangeText };

/** The request unchanged, with what was found. */
export const answer = (request: PolicyRequest, findings: Finding[] = []): PolicyOutcome => ({ request, findings });

/** A copy of the request whose cluster is `cluster`: policies never change the object they were given. */
export const withCluster = (request: PolicyRequest, cluster: Cluster): PolicyRequest => ({ ...request, cluster });

/** True when anyone on the internet may connect: a public spec without cidrs, or cidrs that include 0.0.0.0/0 or ::/0. */
export function reachableFromAnywhere(spec: PortSpec, settings: Settings): boolean {
  const sources = effectiveSources(spec, settings);
  return isAnyone(sources) || sources.some((s) => s === '0.0.0.0/0' || s === '::/0');
}

/** A finding about one port spec, positioned at its declaration. */
export function specFinding(rule: string, spec: PortSpec, message: string, extra: Partial<Finding> = {}): Finding {
  return { rule, message, at: spec.at, port: rangeText(spec), protocol: spec.protocol, ...extra };
}

export interface Range {
  from: number;
  to: number;
}

/** `22`, `"22"` or `"8000-9000"` as a range; the schema has already checked the shape. */
export function readRange(value: number | string): Range {
  if (typeof value === 'number') return { from: value, to: value };
  const [from, to] = value.split('-').map(Number) as [number, number | undefined];
  return { from, to: to ?? from };
}

/** The parts of `spec` (as ranges) that no range of `allowed` covers, ascending. */
export function uncovered(spec: Range, allowed: readonly Range[]): Range[] {
  const sorted = [...allowed].sort((a, b) => a.from - b.from);
  const gaps: Range[] = [];
  let next = spec.from;
  for (const r of sorted) {
    if (r.to < next || r.from > spec.to) continue;
    if (r.from > next) gaps.push({ from: next, to: r.from - 1 });
    next = Math.max(next, r.to + 1);
    if (next > spec.to) break;
  }
  if (next <= spec.to) gaps.push({ from: next, to: spec.to });
  return gaps;
}

/** The parts of `spec` that some range of `listed` covers, ascending. */
export function overlaps(spec: Range, listed: readonly Range[]): Range[] {
  return listed
    .filter((r) => r.from <= spec.to && r.to >= spec.from)
    .map((r) => ({ from: Math.max(r.from, spec.from), to: Math.min(r.to, spec.to) }))
    .sort((a, b) => a.from - b.from);
}
