import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiException, CoreV1Api, createConfiguration, KubeConfig, NetworkingV1Api, ServerConfiguration, type Configuration } from '@kubernetes/client-node';
import { ProviderError } from '../provider.js';

/** The API clients of one kubeconfig context. */
export interface ContextClients {
  context: string;
  config: KubeConfig;
  core: CoreV1Api;
  networking: NetworkingV1Api;
}

/**
 * Clients for each kubeconfig context a manifest names, made once. The base config comes from the
 * operator (tests hand one in); otherwise KUBECONFIG or ~/.kube/config, or the pod's service account
 * when the agent runs in a cluster.
 */
export class KubeClients {
  private readonly byContext = new Map<string, ContextClients>();
  private base: KubeConfig | undefined;

  constructor(
    private readonly provided?: KubeConfig,
    private readonly requestTimeoutMs = 30_000,
  ) {}

  /** The context a cluster without `kubernetes.context` uses. */
  defaultContext(): string {
    return this.config().getCurrentContext();
  }

  for(context: string | undefined): ContextClients {
    const name = context ?? this.defaultContext();
    let clients = this.byContext.get(name);
    if (!clients) {
      const base = this.config();
      if (!base.getContexts().some((c) => c.name === name)) {
        throw new ProviderError(`kubeconfig has no context '${name}' (it has: ${base.getContexts().map((c) => c.name).join(', ') || 'none'})`, false);
      }
      const config = new KubeConfig();
      config.loadFromOptions({ clusters: base.getClusters(), users: base.getUsers(), contexts: base.getContexts(), currentContext: name });
      const configuration = withTimeout(config, this.requestTimeoutMs);
      clients = { context: name, config, core: new CoreV1Api(configuration), networking: new NetworkingV1Api(configuration) };
      this.byContext.set(name, clients);
    }
    return clients;
  }

  private config(): KubeConfig {
    if (!this.base) {
      if (this.provided) this.base = this.provided;
      else {
        const config = new KubeConfig();
        const kubeconfig = process.env.KUBECONFIG ?? join(homedir(), '.kube', 'config');
        // Without any of these, the client falls back to an unauthenticated http://localhost:8080: say so instead.
        if (!process.env.KUBECONFIG && !existsSync(kubeconfig) && !process.env.KUBERNETES_SERVICE_HOST) {
          throw new ProviderError(`no kubeconfig found (KUBECONFIG unset, no ${kubeconfig}, not running in a cluster): point KUBECONFIG at one, or run the agent in a cluster with a service account`, false);
        }
        try {
          config.loadFromDefault();
        } catch (err) {
          throw new ProviderError(`cannot load a kubeconfig (KUBECONFIG, ~/.kube/config or the in-cluster service account): ${(err as Error).message}`, false);
        }
        if (config.getContexts().length === 0) throw new ProviderError('no kubeconfig found: set KUBECONFIG, or run the agent in a cluster with a service account', false);
        this.base = config;
      }
    }
    return this.base;
  }
}

/**
 * What `KubeConfig.makeApiClient` builds, plus a deadline on every request: the client has none, and one
 * API server that stops answering would otherwise hold a pass (and every pass after it) forever.
 */
function withTimeout(config: KubeConfig, timeoutMs: number): Configuration {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new ProviderError(`kubeconfig context '${config.getCurrentContext()}' names no cluster`, false);
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: config },
    promiseMiddleware: [
      {
        pre: async (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return context;
        },
        post: async (response) => response,
      },
    ],
  });
}

/** An API failure as the engine wants it: throttling, 5xx and dropped connections may pass; the rest will not. */
export function apiError(subject: string, verb: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof ApiException) {
    const code = err.code as number;
    const body = parseBody(err.body);
    const reason = body?.message ?? (typeof err.body === 'string' ? err.body.slice(0, 200) : '');
    const retryAfter = headerValue(err.headers, 'retry-after');
    const transient = code === 429 || code >= 500;
    return new ProviderError(`${subject} ${verb} failed: HTTP ${code}${body?.reason ? ` ${body.reason}` : ''}${reason ? `: ${reason}` : ''}${retryAfter ? ` (retry after ${retryAfter}s)` : ''}`, transient, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (isAbort(err)) return new ProviderError(`${subject} ${verb} failed: no answer within the request timeout (the request may still take effect)`, true, { cause: err });
  return new ProviderError(`${subject} ${verb} failed: ${message}`, typeof code === 'string' || /ECONNRE|ETIMEDOUT|socket|network|fetch failed/i.test(message), { cause: err });
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

export function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? (err.code as number) : undefined;
}

function parseBody(body: unknown): { message?: string; reason?: string } | undefined {
  if (typeof body === 'object' && body !== null) return body as { message?: string; reason?: string };
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body) as { message?: string; reason?: string };
  } catch {
    return undefined;
  }
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) if (key.toLowerCase() === name) return String(value);
  return undefined;
}
