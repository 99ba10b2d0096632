import { ProviderError } from '../provider.js';

// EC2 answers with a code (`err.name` in the SDK); whether trying again may help is decided here, once.

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'EC2ThrottledException',
  'TooManyRequestsException',
  'SlowDown',
]);
const SERVER = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** The EC2 error code (`InvalidPermission.Duplicate`), or a Node network code, when the error has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { name, code } = err as { name?: unknown; code?: unknown };
  if (typeof code === 'string' && NETWORK.has(code)) return code;
  return typeof name === 'string' && name !== 'Error' ? name : undefined;
}

export const hasCode = (err: unknown, ...codes: string[]): boolean => codes.includes(errorCode(err) ?? '');

function httpStatus(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Throttling, 5xx, timeouts and dropped connections may pass; a refused or malformed request will not. */
export function isTransientAwsError(err: unknown): boolean {
  if (err instanceof ProviderError) return err.transient;
  const code = errorCode(err);
  if (code !== undefined && (THROTTLING.has(code) || SERVER.has(code) || NETWORK.has(code))) return true;
  const status = httpStatus(err);
  if (status !== undefined && status >= 500) return true;
  return (err as { $fault?: unknown } | null)?.$fault === 'server';
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}

/**
 * A ProviderError whose message names the subject first (`SecurityGroup/portcullis-web authorize failed: …`).
 * `alsoTransient` lists codes that are transient in this one place (DependencyViolation on a group delete).
 */
export function providerError(subject: string, what: string, err: unknown, alsoTransient: readonly string[] = []): ProviderError {
  if (err instanceof ProviderError) return err;
  const transient = isTransientAwsError(err) || alsoTransient.includes(errorCode(err) ?? '');
  return new ProviderError(`${subject} ${what} failed: ${describe(err)}`, transient, { cause: err });
}

/** Runs one EC2 call, turning its failure into a ProviderError about `subject`. */
export async function attempt<T>(subject: string, what: string, call: () => Promise<T>, alsoTransient: readonly string[] = []): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw providerError(subject, what, err, alsoTransient);
  }
}
