import type { Cluster, PolicyMode, Position, Protocol, Settings } from '../model.js';

/** What a policy is asked about: one cluster's manifest as loaded, the settings it renders with, and why. */
export interface PolicyRequest {
  cluster: Cluster;
  settings: Settings;
  /** The config revision being evaluated (a commit id, or `working-tree`). */
  revision: string;
  /** validate, plan and apply evaluate Git; audit evaluates what the providers hold. */
  purpose: PolicyPurpose;
}

export const POLICY_PURPOSES = ['validate', 'plan', 'apply', 'audit'] as const;
export type PolicyPurpose = (typeof POLICY_PURPOSES)[number];

/** One thing a policy finds wrong; the engine turns it into a Violation with the policy's name and mode. */
export interface Finding {
  rule: string;
  message: string;
  /** The offending port spec's position; the cluster's when absent. */
  at?: Position;
  port?: string;
  protocol?: Protocol;
  cidr?: string;
}

/** A policy's answer: the request to pass on (the input, or a changed copy) and what it found wrong. */
export interface PolicyOutcome {
  request: PolicyRequest;
  findings: Finding[];
}

/** A policy ready to run: built-ins answer at once, module and REST policies may answer later. */
export interface Policy {
  name: string;
  mode: PolicyMode;
  validateAndMutate(request: PolicyRequest): PolicyOutcome | Promise<PolicyOutcome>;
}

/** A built-in policy as policies/ defines it: pure and synchronous, configured by its entry's settings. */
export interface BuiltinPolicy {
  name: string;
  /** One line for `policies/README.md` and error messages. */
  summary: string;
  /** Settings have passed the JSON Schema in schemas/settings.schema.json by the time this is called. */
  create(settings: Readonly<Record<string, unknown>>): (request: PolicyRequest) => PolicyOutcome;
}
