// Failures on demand: the next `times` requests matching method and path are answered with
// the given status instead of being served, or (with `delayMs`) served only after a delay, so that a
// client that gives up first has lost the answer of a request that still takes effect.
import { KubeError, type Reason } from './errors.js';

export interface Fault {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Matched against the request path (without the query); a string is read as a regex. */
  path?: RegExp | string;
  /** Answer with this status instead of serving (not used with `delayMs`). */
  status?: 429 | 500 | 503 | number;
  /** Serve the request normally, but only after this many milliseconds. */
  delayMs?: number;
  /** Seconds, sent as Retry-After and in the Status details. */
  retryAfter?: number;
  /** How many matching requests fail; default 1. Infinity for all of them. */
  times?: number;
  message?: string;
}

const KNOWN: Record<number, [Reason, string]> = {
  429: ['TooManyRequests', 'Too many requests, please try again later.'],
  500: ['InternalError', 'Internal error occurred: injected by the fake API server'],
  503: ['ServiceUnavailable', 'The server is currently unable to handle the request'],
};

interface Armed {
  fault: Fault;
  path?: RegExp;
  left: number;
}

export class Faults {
  private armed: Armed[] = [];

  inject(fault: Fault): void {
    const armed: Armed = { fault, left: fault.times ?? 1 };
    if (fault.path !== undefined) armed.path = typeof fault.path === 'string' ? new RegExp(fault.path) : fault.path;
    this.armed.push(armed);
  }

  clear(): void {
    this.armed = [];
  }

  /** What to do with this request instead of serving it at once, consuming one use of the first matching fault. */
  take(method: string, path: string): KubeError | { delayMs: number } | undefined {
    const hit = this.armed.find((a) => a.left > 0 && (!a.fault.method || a.fault.method.toUpperCase() === method) && (!a.path || a.path.test(path)));
    if (!hit) return undefined;
    hit.left -= 1;
    this.armed = this.armed.filter((a) => a.left > 0);
    if (hit.fault.delayMs !== undefined) return { delayMs: hit.fault.delayMs };
    const status = hit.fault.status ?? 500;
    const [reason, text] = KNOWN[status] ?? (['InternalError', `injected failure ${status}`] as [Reason, string]);
    return new KubeError(status, reason, hit.fault.message ?? text, undefined, hit.fault.retryAfter);
  }
}
