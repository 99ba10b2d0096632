import type { Cloud, ResourceChange } from '../model.js';
import type { Provider } from './provider.js';

/** Told about every request a provider makes to its API: metrics hang here, providers stay unaware of them. */
export type ObserveRequest = (provider: Cloud, operation: string, result: 'ok' | 'error', seconds: number) => void;

const operationOf: Record<ResourceChange['action'], string> = { created: 'create', configured: 'update', deleted: 'delete', unchanged: 'keep' };

/**
 * The same provider, with its I/O verbs (observe, apply, applyBatch) timed and counted. The pure ones
 * (complete, endpoints) and the lifecycle ones pass straight through.
 */
export function instrumentProvider(provider: Provider, observe: ObserveRequest): Provider {
  const timed = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const value = await call();
      observe(provider.cloud, operation, 'ok', (performance.now() - started) / 1000);
      return value;
    } catch (err) {
      observe(provider.cloud, operation, 'error', (performance.now() - started) / 1000);
      throw err;
    }
  };
  const wrapped: Provider = {
    cloud: provider.cloud,
    observe: (scope) => timed('observe', () => provider.observe(scope)),
    endpoints: (cluster, actual, scope) => provider.endpoints(cluster, actual, scope),
  };
  if (provider.complete) wrapped.complete = provider.complete.bind(provider);
  if (provider.apply) {
    const apply = provider.apply.bind(provider);
    wrapped.apply = (change, scope) => timed(operationOf[change.action], () => apply(change, scope));
  }
  if (provider.applyBatch) {
    const applyBatch = provider.applyBatch.bind(provider);
    wrapped.applyBatch = (changes, scope) => timed('batch', () => applyBatch(changes, scope));
  }
  if (provider.watch) wrapped.watch = provider.watch.bind(provider);
  if (provider.close) wrapped.close = provider.close.bind(provider);
  return wrapped;
}
