// Admin policies: read `admin_policy`, load built-ins, modules and REST policies, run them over requests.
export { admit, admitSync, violationLine, violationProblem, type Admission } from './engine.js';
export { readPolicyEntries, type PolicyEntry } from './entries.js';
export { resolveBuiltins, resolvePolicies, type Chain, type LoaderOptions } from './loader.js';
export { violationCounts, violationJson, type ViolationJson } from './format.js';
export type { BuiltinPolicy, Finding, Policy, PolicyOutcome, PolicyPurpose, PolicyRequest } from './types.js';
