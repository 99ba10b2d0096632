import type { PolicyMode } from '../model.js';
import type { Policy, PolicyOutcome, PolicyRequest } from './types.js';

/** What a custom policy module exports (see policies/examples/). */
export interface PolicyModule {
  validateAndMutate(request: PolicyRequest, settings: Readonly<Record<string, unknown>>): unknown;
}

/**
 * A custom policy from an imported module. Its `validateAndMutate(request, settings)`, sync or async,
 * returns the request to go on with (changed or not; nothing means unchanged) or throws to reject: the
 * error's message is the violation's, and an error with a string `rule` names the rule (default `rejected`).
 */
export function modulePolicy(exports: unknown, name: string, mode: PolicyMode, settings: Readonly<Record<string, unknown>>): Policy | { error: string } {
  const fn = (exports as Partial<PolicyModule> | null)?.validateAndMutate;
  if (typeof fn !== 'function') return { error: 'it does not export a function validateAndMutate(request, settings)' };
  return {
    name,
    mode,
    async validateAndMutate(request: PolicyRequest): Promise<PolicyOutcome> {
      let returned: unknown;
      try {
        // A copy: a module that changes what it was given in place must not change the caller's request.
        returned = await fn(structuredClone(request), settings);
      } catch (err) {
        const rule = typeof (err as { rule?: unknown } | null)?.rule === 'string' ? (err as { rule: string }).rule : 'rejected';
        return { request, findings: [{ rule, message: err instanceof Error ? err.message : String(err) }] };
      }
      if (returned === undefined || returned === null) return { request, findings: [] };
      const answer = returned as Partial<PolicyRequest>;
      return { request: { ...request, cluster: (answer.cluster ?? request.cluster) as PolicyRequest['cluster'], settings: (answer.settings ?? request.settings) as PolicyRequest['settings'] }, findings: [] };
    },
  };
}
