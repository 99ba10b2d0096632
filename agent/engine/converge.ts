import type { ResourceChange } from '../model.js';
import { ProviderError, type Provider, type ProviderScope } from '../providers/provider.js';
import { DEFAULT_RETRY, mapLimit, realRetryDeps, withRetry, type RetryDeps, type RetryPolicy } from './retry.js';

export interface ChangeOutcome {
  change: ResourceChange;
  ok: boolean;
  attempts: number;
  /** Names the subject first: `Forward/jupyter-tcp-8888 create failed: …`. */
  error?: string;
}

export interface ConvergeOptions {
  concurrency: number;
  retry: RetryPolicy;
  deps: RetryDeps;
}

export const DEFAULT_CONVERGE: ConvergeOptions = { concurrency: 8, retry: DEFAULT_RETRY, deps: realRetryDeps };

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/** Throttling, timeouts and dropped connections may pass; a refused or malformed request will not. */
export function isTransient(err: unknown): boolean {
  if (err instanceof ProviderError) return err.transient;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

const verb: Record<ResourceChange['action'], string> = { created: 'create', configured: 'update', deleted: 'delete', unchanged: 'keep' };

export function subject(change: ResourceChange): string {
  return `${change.kind}/${change.name}`;
}

function failure(change: ResourceChange, err: unknown, batch = false): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${subject(change)} ${verb[change.action]} failed${batch ? ' (in a batch)' : ''}: ${message}`;
}

const NOT_LEADER = 'this replica lost the leader lease: another one writes now';

/**
 * Applies one provider's changes: as one transaction when the provider has them, else one change at a
 * time with bounded concurrency, opening before closing. A failing change does not stop the others;
 * transient failures are retried with backoff and jitter. Never throws: every change gets an outcome.
 * `canWrite` is asked right before every write (and every retry): once it says no, nothing more is written.
 */
export async function converge(changes: readonly ResourceChange[], provider: Provider, scope: ProviderScope, options: ConvergeOptions = DEFAULT_CONVERGE, canWrite: () => boolean = () => true): Promise<ChangeOutcome[]> {
  const writes = changes.filter((c) => c.action !== 'unchanged');
  if (writes.length === 0) return [];
  const gated = <T>(write: () => Promise<T>) => (): Promise<T> => (canWrite() ? write() : Promise.reject(new ProviderError(NOT_LEADER, false)));

  if (provider.applyBatch) {
    const applyBatch = provider.applyBatch.bind(provider);
    const result = await withRetry(gated(() => applyBatch(writes, scope)), isTransient, options.retry, options.deps);
    return writes.map((change) => ({ change, ok: result.ok, attempts: result.attempts, ...(result.ok ? {} : { error: failure(change, result.error, true) }) }));
  }
  if (!provider.apply) throw new Error(`provider ${provider.cloud} can neither apply nor applyBatch`);
  const apply = provider.apply.bind(provider);
  const one = async (change: ResourceChange): Promise<ChangeOutcome> => {
    const result = await withRetry(gated(() => apply(change, scope)), isTransient, options.retry, options.deps);
    return { change, ok: result.ok, attempts: result.attempts, ...(result.ok ? {} : { error: failure(change, result.error) }) };
  };
  // Open first, close after: a pass cut short leaves a port open a little longer, never a service cut off.
  const opening = writes.filter((c) => c.action !== 'deleted');
  const closing = writes.filter((c) => c.action === 'deleted').reverse();
  const opened = await mapLimit(opening, options.concurrency, one);
  const closed = await mapLimit(closing, options.concurrency, one);
  return [...opened, ...closed];
}
