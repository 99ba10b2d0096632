import type { Cloud, Exposure, Plan, PortAction, PortChange, Problem, ProblemCode, Protocol, Severity } from '../model.js';
import { violationJson, type ViolationJson } from '../policy/format.js';

/** `plan --format json`: an API that scripts and CI pipelines parse. Add fields; never rename or remove. */
export interface PlanJson {
  summary: { open: number; close: number; change: number };
  base: string;
  head: string;
  changes: PlanJsonChange[];
  problems: PlanJsonProblem[];
  /** Admin-policy results at head, every mode (enforce ones are also in problems); present when policies ran. */
  violations?: ViolationJson[];
}

export interface PlanJsonChange {
  action: PortAction;
  cluster: string;
  cloud: Cloud;
  protocol: Protocol;
  /** `"N"` or `"A-B"`, ascending. */
  ports: string[];
  exposure: Exposure;
  cidrs: string[];
  before?: { exposure: Exposure; cidrs: string[] };
  reason?: string;
  at?: { file: string; line: number; col: number };
}

export interface PlanJsonProblem {
  code: ProblemCode;
  severity: Severity;
  message: string;
  file: string;
  line: number;
  col: number;
  cluster?: string;
}

/** The JSON document for a plan. Every object is built key by key, so key order is stable. */
export function planToJson(plan: Plan): PlanJson {
  const { open, close, change } = plan.summary;
  const out: PlanJson = { summary: { open, close, change }, base: plan.base, head: plan.head, changes: plan.changes.map(changeJson), problems: plan.problems.map(problemJson) };
  if (plan.violations) out.violations = plan.violations.map(violationJson);
  return out;
}

/** The plan as JSON text: two-space indent and a final newline. */
export function planJson(plan: Plan): string {
  return `${JSON.stringify(planToJson(plan), null, 2)}\n`;
}

function changeJson(c: PortChange): PlanJsonChange {
  const out: PlanJsonChange = { action: c.action, cluster: c.cluster, cloud: c.cloud, protocol: c.protocol, ports: [...c.ports], exposure: c.exposure, cidrs: [...c.cidrs] };
  if (c.before) out.before = { exposure: c.before.exposure, cidrs: [...c.before.cidrs] };
  if (c.reason !== undefined) out.reason = c.reason;
  if (c.at) out.at = { file: c.at.file, line: c.at.line, col: c.at.col };
  return out;
}

/** A problem as every JSON output (plan, validate, /api/status) writes it: position flattened. */
export function problemJson(p: Problem): PlanJsonProblem {
  const out: PlanJsonProblem = { code: p.code, severity: p.severity, message: p.message, file: p.at.file, line: p.at.line, col: p.at.col };
  if (p.cluster !== undefined) out.cluster = p.cluster;
  return out;
}
