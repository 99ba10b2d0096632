import { FirewallsClient, GlobalOperationsClient, InstancesClient, type protos } from '@google-cloud/compute';
import { GoogleAuth, OAuth2Client, type AuthClient } from 'google-auth-library';
import { ProviderError } from '../provider.js';
import type { ApiFirewall } from './firewall-body.js';
import { failed } from './errors.js';

// The Compute Engine clients portcullis uses, their credentials, and waiting on operations.

export type ApiOperation = protos.google.cloud.compute.v1.IOperation;
export type ApiInstance = protos.google.cloud.compute.v1.IInstance;

export const CREDENTIALS_HELP =
  'no Google Cloud credentials found (Application Default Credentials): set GOOGLE_APPLICATION_CREDENTIALS to a ' +
  'service-account key file, run `gcloud auth application-default login`, or run the agent on GCE/GKE with a ' +
  'service account attached (Workload Identity)';

const SCOPES = ['https://www.googleapis.com/auth/compute'];
/** A plain-HTTP endpoint is an emulator or a fake: it gets this token unless PORTCULLIS_GCP_TOKEN names one. */
const EMULATOR_TOKEN = 'portcullis-emulator';

export interface ConnectOptions {
  /** Where the API is: `http://127.0.0.1:8080` for an emulator, `https://host` for another API host. */
  endpoint?: string;
  /** Credentials to use instead of Application Default Credentials. */
  authClient?: AuthClient;
  env: NodeJS.ProcessEnv;
}

/**
 * The credentials to call the API with. Without an injected client the library would look for Application
 * Default Credentials itself, and a failure there escapes any `catch`; so they are looked up here, once,
 * and an absence becomes a ProviderError that says how to provide them.
 */
export async function resolveAuth(options: ConnectOptions): Promise<AuthClient> {
  if (options.authClient) return options.authClient;
  if (options.endpoint?.startsWith('http://')) {
    const client = new OAuth2Client();
    client.setCredentials({ access_token: options.env.PORTCULLIS_GCP_TOKEN ?? EMULATOR_TOKEN, expiry_date: Date.now() + 365 * 86_400_000 });
    return client;
  }
  try {
    return (await new GoogleAuth({ scopes: SCOPES }).getClient()) as AuthClient;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ProviderError(`${CREDENTIALS_HELP} (${reason})`, false, { cause: err });
  }
}

type ClientOptions = NonNullable<ConstructorParameters<typeof FirewallsClient>[0]>;

function clientOptions(endpoint: string | undefined, client: AuthClient): ClientOptions {
  // google-gax bundles its own copy of google-auth-library: the classes differ, the interface it calls does not.
  const authClient = client as unknown as ClientOptions['authClient'];
  if (!endpoint) return { authClient };
  const url = new URL(endpoint);
  const protocol = url.protocol.replace(/:$/, '');
  return { authClient, apiEndpoint: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (protocol === 'http' ? 80 : 443), protocol };
}

export interface Timeouts {
  /** One API call. */
  callMs: number;
  /** One write's operation, from the write to DONE. */
  operationMs: number;
}

export class Compute {
  readonly firewalls: FirewallsClient;
  readonly operations: GlobalOperationsClient;
  readonly instances: InstancesClient;

  constructor(
    endpoint: string | undefined,
    authClient: AuthClient,
    readonly timeouts: Timeouts,
  ) {
    const options = clientOptions(endpoint, authClient);
    this.firewalls = new FirewallsClient(options);
    this.operations = new GlobalOperationsClient(options);
    this.instances = new InstancesClient(options);
  }

  /** The async iterators page by themselves; saying so keeps the library from warning that it will. */
  private get listOptions() {
    return { timeout: this.timeouts.callMs, autoPaginate: false };
  }

  /** Every rule of the project whose name starts with `prefix`, all pages. */
  async listFirewalls(project: string, prefix: string, pageSize: number): Promise<ApiFirewall[]> {
    const rules: ApiFirewall[] = [];
    // The filter is the API's regular-expression form; the caller still checks each rule's mark.
    const request = { project, maxResults: pageSize, filter: `name eq "${prefix}.*"` };
    for await (const fw of this.firewalls.listAsync(request, this.listOptions)) rules.push(fw);
    return rules;
  }

  async listInstances(project: string, pageSize: number): Promise<ApiInstance[]> {
    const instances: ApiInstance[] = [];
    const request = { project, maxResults: pageSize, returnPartialSuccess: true };
    for await (const [, scoped] of this.instances.aggregatedListAsync(request, this.listOptions)) instances.push(...(scoped.instances ?? []));
    return instances;
  }

  /**
   * Waits until a write's operation is DONE (the wait call returns after at most about two minutes, still
   * RUNNING, so it is called again) and fails when the operation did. Errors name `subject`.
   */
  async settle(project: string, started: ApiOperation | null | undefined, subject: string, verb: string): Promise<void> {
    let op = started;
    if (!op?.name) throw new ProviderError(`${subject} ${verb} failed: the API returned no operation`, true);
    const deadline = Date.now() + this.timeouts.operationMs;
    while (op.status !== 'DONE') {
      if (Date.now() > deadline) throw new ProviderError(`${subject} ${verb}: operation ${op.name} is still ${op.status ?? 'pending'} after ${this.timeouts.operationMs} ms`, true);
      try {
        [op] = await this.operations.wait({ project, operation: op.name }, { timeout: Math.max(this.timeouts.callMs, 150_000) });
      } catch (err) {
        throw failed(subject, `${verb} (waiting on its operation)`, err);
      }
    }
    const error = op.error?.errors?.[0];
    if (error) {
      const transient = ['RESOURCE_NOT_READY', 'RATE_LIMIT_EXCEEDED', 'RESOURCE_OPERATION_RATE_EXCEEDED', 'INTERNAL_ERROR'].includes(error.code ?? '');
      throw new ProviderError(`${subject} ${verb} failed: ${error.code ?? 'operation error'}: ${error.message ?? ''}`, transient);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.firewalls.close(), this.operations.close(), this.instances.close()]);
  }
}

/** The operation a write started: the client hands back a wrapper that has no `.promise()`. */
export function operationOf(lro: unknown): ApiOperation | undefined {
  const latest = (lro as { latestResponse?: unknown } | undefined)?.latestResponse;
  return typeof latest === 'object' && latest !== null ? (latest as ApiOperation) : undefined;
}
