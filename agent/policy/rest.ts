import type { PolicyMode } from '../model.js';
import type { Policy, PolicyOutcome, PolicyRequest } from './types.js';

export const DEFAULT_REST_TIMEOUT_MS = 5000;
const MAX_MESSAGE = 500;

/** An error that fails the policy closed; the engine reports it under this rule. */
class PolicyUnavailable extends Error {
  readonly rule = 'unavailable';
}

/**
 * A REST admin policy: POST the request as JSON. 200 answers the request to go on with (changed or
 * not); a 4xx rejects, its body being the message (or the `message` of a JSON body); anything else — a
 * timeout, a 5xx, a refused connection, a 200 that is not JSON — fails closed: the policy counts as
 * rejecting, with an error that says which server and what happened.
 */
export function restPolicy(url: string, name: string, mode: PolicyMode, timeoutMs = DEFAULT_REST_TIMEOUT_MS): Policy {
  return {
    name,
    mode,
    async validateAndMutate(request: PolicyRequest): Promise<PolicyOutcome> {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
      } catch (err) {
        const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
        const why = timedOut ? `did not answer within ${timeoutMs} ms` : `cannot be reached (${causeText(err)})`;
        throw new PolicyUnavailable(`policy server ${url} ${why}: the cluster is treated as rejected until it answers`);
      }
      const body = await res.text().catch(() => '');
      if (res.status >= 400 && res.status < 500) return { request, findings: [{ rule: 'rejected', message: rejection(body, res.status) }] };
      if (res.status !== 200) throw new PolicyUnavailable(`policy server ${url} answered HTTP ${res.status}${body ? ` (${clip(body)})` : ''}: the cluster is treated as rejected until it answers 200 or 4xx`);
      let returned: unknown;
      try {
        returned = JSON.parse(body);
      } catch {
        throw new PolicyUnavailable(`policy server ${url} answered 200 with a body that is not JSON: it must return the request, changed or not`);
      }
      const answer = returned as Partial<PolicyRequest> | null;
      if (!answer || typeof answer !== 'object' || !('cluster' in answer)) throw new PolicyUnavailable(`policy server ${url} answered 200 without a cluster: it must return the request, changed or not`);
      return { request: { ...request, cluster: answer.cluster as PolicyRequest['cluster'], settings: (answer.settings ?? request.settings) as PolicyRequest['settings'] }, findings: [] };
    },
  };
}

function rejection(body: string, status: number): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string' && parsed.message.trim() !== '') return clip(parsed.message);
  } catch {
    // Not JSON: the body itself is the message.
  }
  return body.trim() === '' ? `rejected by the policy server (HTTP ${status}, no message)` : clip(body);
}

function clip(text: string): string {
  const one = text.trim().replace(/\s+/g, ' ');
  return one.length > MAX_MESSAGE ? `${one.slice(0, MAX_MESSAGE)}…` : one;
}

function causeText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
