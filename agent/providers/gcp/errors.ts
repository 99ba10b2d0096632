import { ProviderError } from '../provider.js';

// What went wrong in a Compute Engine call, read from the client's errors: a GaxiosError (HTTP status,
// Google's `{"error": {"code", "message", "errors": [{reason}]}}` body) on the HTTP/JSON transport, a
// GoogleError with a gRPC code, or a network error with a Node error code.

export interface ApiFailure {
  /** The HTTP status, when the server answered. */
  status?: number;
  /** Google's reason (`notFound`, `alreadyExists`, `rateLimitExceeded`, …). */
  reason?: string;
  message: string;
  /** Trying again may help: throttling, server errors, timeouts, dropped connections. */
  transient: boolean;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET']);
// gRPC codes: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE.
const TRANSIENT_GRPC = new Set([4, 8, 10, 13, 14]);
const GRPC_TO_HTTP: Record<number, number> = { 5: 404, 6: 409, 7: 403, 16: 401 };

type Loose = Record<string, unknown> | undefined;
const field = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined);

export function apiFailure(err: unknown): ApiFailure {
  const response = field(err, 'response') as Loose;
  const code = field(err, 'code');
  let status = typeof field(response, 'status') === 'number' ? (field(response, 'status') as number) : undefined;
  if (status === undefined && typeof code === 'number') status = code >= 100 ? code : GRPC_TO_HTTP[code];
  const body = googleError(field(response, 'data')) ?? googleError(err instanceof Error ? err.message : undefined);
  const reason = field((field(body, 'errors') as unknown[] | undefined)?.[0], 'reason');
  const message = (field(body, 'message') as string | undefined) ?? (err instanceof Error ? err.message : String(err));
  const networkCode = typeof code === 'string' ? code : field(field(err, 'cause'), 'code');
  const transient =
    (status !== undefined && (status === 408 || status === 429 || status >= 500)) ||
    (typeof code === 'number' && code < 100 && TRANSIENT_GRPC.has(code)) ||
    (typeof networkCode === 'string' && NETWORK_CODES.has(networkCode)) ||
    field(err, 'name') === 'AbortError';
  return { ...(status !== undefined ? { status } : {}), ...(typeof reason === 'string' ? { reason } : {}), message, transient };
}

/** `error` of Google's error body, from parsed JSON or from the JSON text the client puts in its message. */
function googleError(data: unknown): Loose {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  const error = field(value, 'error');
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : undefined;
}

/** What the user can do about a refusal that no retry fixes. */
function hint(failure: ApiFailure): string {
  if (failure.status === 401) return ' (the credentials were rejected: renew Application Default Credentials)';
  if (failure.status === 403) return ' (the credentials lack a permission: see the README for the compute.firewalls.* permissions the agent needs)';
  return '';
}

export function describeFailure(failure: ApiFailure): string {
  const head = [failure.status, failure.reason].filter((x) => x !== undefined).join(' ');
  return `${head ? `${head}: ` : ''}${failure.message}${hint(failure)}`;
}

/** A ProviderError naming the subject first: `FirewallRule/portcullis-web-tcp-public insert failed: 429 …`. */
export function failed(subject: string, verb: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const failure = apiFailure(err);
  return new ProviderError(`${subject} ${verb} failed: ${describeFailure(failure)}`, failure.transient, { cause: err });
}
