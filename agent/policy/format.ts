import type { PolicyMode, Protocol, Violation } from '../model.js';
export { violationLine } from './engine.js';

/** A violation in every JSON output (plan, validate, audit, /api/status): position flattened as problems are. */
export interface ViolationJson {
  policy: string;
  rule: string;
  mode: PolicyMode;
  cluster: string;
  port?: string;
  protocol?: Protocol;
  cidr?: string;
  file: string;
  line: number;
  col: number;
  message: string;
}

export function violationJson(v: Violation): ViolationJson {
  const out: ViolationJson = { policy: v.policy, rule: v.rule, mode: v.mode, cluster: v.cluster, file: v.at.file, line: v.at.line, col: v.at.col, message: v.message };
  if (v.port !== undefined) out.port = v.port;
  if (v.protocol !== undefined) out.protocol = v.protocol;
  if (v.cidr !== undefined) out.cidr = v.cidr;
  return out;
}

/** Counts by mode, for summary lines: `1 denied, 2 warnings, 0 audited`. */
export function violationCounts(violations: readonly Violation[]): Record<PolicyMode, number> {
  const counts: Record<PolicyMode, number> = { enforce: 0, warn: 0, audit: 0 };
  for (const v of violations) counts[v.mode] += 1;
  return counts;
}
