import type { Position, Problem, Settings, Violation } from '../model.js';
import { recheckCluster } from './recheck.js';
import type { Finding, Policy, PolicyOutcome, PolicyRequest } from './types.js';

/** What a chain of policies made of one request. */
export interface Admission {
  /** The request after every mutation that was kept: what gets rendered. */
  request: PolicyRequest;
  violations: Violation[];
  /** True when an enforce policy rejected the request: the cluster keeps its last good state. */
  denied: boolean;
}

/**
 * Runs the policies in order over one request. Modes decide what a policy's answer does:
 * - enforce: a finding denies the cluster (its mutation is dropped); without findings its mutation is kept;
 * - warn: findings are reported and do not block; the mutation is kept;
 * - audit: findings are only counted, and the mutation is dropped too: audit mode is for trying a policy out.
 * Every policy runs even after a denial, so one run reports every violation, as `validate` reports every problem.
 * A policy that throws or cannot be reached counts as rejecting (rule `error`): in enforce mode that fails closed.
 */
export async function admit(chain: readonly Policy[], request: PolicyRequest): Promise<Admission> {
  let state: Admission = { request, violations: [], denied: false };
  for (const policy of chain) {
    let outcome: PolicyOutcome;
    try {
      outcome = await policy.validateAndMutate(state.request);
    } catch (err) {
      outcome = failed(state.request, err);
    }
    state = fold(state, policy, outcome);
  }
  return state;
}

/** The same, for chains of synchronous policies (the built-ins): the pure core calls this. */
export function admitSync(chain: readonly Policy[], request: PolicyRequest): Admission {
  let state: Admission = { request, violations: [], denied: false };
  for (const policy of chain) {
    let outcome: PolicyOutcome;
    try {
      const answer = policy.validateAndMutate(state.request);
      if (answer instanceof Promise) throw new Error(`policy ${policy.name} answered asynchronously where only built-in policies can run`);
      outcome = answer;
    } catch (err) {
      outcome = failed(state.request, err);
    }
    state = fold(state, policy, outcome);
  }
  return state;
}

function failed(request: PolicyRequest, err: unknown): PolicyOutcome {
  const message = err instanceof Error ? err.message : String(err);
  const rule = typeof (err as { rule?: unknown } | null)?.rule === 'string' ? (err as { rule: string }).rule : 'error';
  return { request, findings: [{ rule, message }] };
}

/** One policy's answer folded into the chain's state. */
function fold(state: Admission, policy: Policy, outcome: PolicyOutcome): Admission {
  const before = state.request;
  const findings = [...outcome.findings];
  let next = before;
  const keepMutation = policy.mode === 'warn' || (policy.mode === 'enforce' && findings.length === 0);
  if (keepMutation && outcome.request !== before) {
    const checked = outcome.request.cluster === before.cluster ? { cluster: before.cluster } : recheckCluster(before.cluster, outcome.request.cluster);
    if ('error' in checked) findings.push({ rule: 'invalid-mutation', message: `the policy ${checked.error}; its change is ignored` });
    else next = { ...before, cluster: checked.cluster, settings: withMetadata(before.settings, outcome.request.settings) };
  }
  const violations = findings.map((f) => violation(policy, before, f));
  return {
    request: next,
    violations: [...state.violations, ...violations],
    denied: state.denied || (policy.mode === 'enforce' && findings.length > 0),
  };
}

/**
 * Of the settings a policy returns, only the Kubernetes custom metadata (labels and annotations, as
 * internal-load-balancers sets) is taken: the rest shapes every cluster and is the admin's to write.
 */
function withMetadata(settings: Settings, returned: unknown): Settings {
  const metadata = (returned as { kubernetes?: { custom_metadata?: unknown } } | undefined)?.kubernetes?.custom_metadata;
  if (!isStringMaps(metadata)) return settings;
  return { ...settings, kubernetes: { ...settings.kubernetes, custom_metadata: { labels: { ...metadata.labels }, annotations: { ...metadata.annotations } } } };
}

function isStringMaps(value: unknown): value is { labels: Record<string, string>; annotations: Record<string, string> } {
  const map = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
  return typeof value === 'object' && value !== null && map((value as { labels?: unknown }).labels) && map((value as { annotations?: unknown }).annotations);
}

function violation(policy: Policy, request: PolicyRequest, finding: Finding): Violation {
  const at: Position = finding.at ?? request.cluster.at;
  return {
    policy: policy.name,
    rule: finding.rule,
    mode: policy.mode,
    cluster: request.cluster.name,
    ...(finding.port !== undefined ? { port: finding.port } : {}),
    ...(finding.protocol !== undefined ? { protocol: finding.protocol } : {}),
    ...(finding.cidr !== undefined ? { cidr: finding.cidr } : {}),
    at: { file: at.file, line: at.line, col: at.col },
    message: finding.message,
  };
}

/** `[policy/rule] message (FILE:LINE)`: how a violation prints everywhere (plan, audit, logs). */
export function violationLine(v: Violation): string {
  return `[${v.policy}/${v.rule}] ${v.message} (${v.at.line > 0 ? `${v.at.file}:${v.at.line}` : v.at.file})`;
}

/** Enforce violations are errors and warn violations warnings, shown with every other problem; audit ones are only counted. */
export function violationProblem(v: Violation): Problem | undefined {
  if (v.mode === 'audit') return undefined;
  return { code: v.mode === 'enforce' ? 'POLICY_DENIED' : 'POLICY_WARNING', severity: v.mode === 'enforce' ? 'error' : 'warning', message: `[${v.policy}/${v.rule}] ${v.message}`, at: v.at, cluster: v.cluster };
}
