import type { Cluster, Resource, Settings, Violation } from '../model.js';
import { admit } from './engine.js';
import { liveClusters } from './live.js';
import type { Policy } from './types.js';

/**
 * Runs the admin policies over what the providers hold (purpose `audit`): a port someone opened by hand
 * on an object portcullis owns is judged like one written in a manifest. Mutations are not applied —
 * an audit only reports; the next pass sets the object back to what Git and the policies say.
 */
export async function auditLive(chain: readonly Policy[], held: readonly Resource[], declared: readonly Cluster[], settings: Settings, revision: string): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const cluster of liveClusters(held, declared)) {
    const admission = await admit(chain, { cluster, settings, revision, purpose: 'audit' });
    violations.push(...admission.violations);
  }
  return violations;
}

/** Counts for a summary line. */
export function auditSummary(violations: readonly Violation[]): string {
  const enforce = violations.filter((v) => v.mode === 'enforce').length;
  return violations.length === 0 ? 'audit: no violations in what the providers hold' : `audit: ${violations.length} violation${violations.length === 1 ? '' : 's'} in what the providers hold (${enforce} enforced)`;
}
