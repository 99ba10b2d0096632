// Failures in the shape the real API server sends: a v1 Status with a reason and code.
import type { JsonObject } from './json.js';

export type Reason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable';

export interface Cause {
  reason: string;
  message: string;
  field: string;
}

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: Reason,
    message: string,
    readonly details?: JsonObject,
    /** Seconds, sent as the Retry-After header and details.retryAfterSeconds. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export function statusBody(error: KubeError): JsonObject {
  const details: JsonObject = { ...(error.details ?? {}) };
  if (error.retryAfter !== undefined) details.retryAfterSeconds = error.retryAfter;
  const body: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    code: error.code,
  };
  if (Object.keys(details).length > 0) body.details = details;
  return body;
}

/** What the server names a resource in messages: `services`, `ingresses.networking.k8s.io`. */
export interface Resource {
  plural: string;
  group: string;
}

const qualified = (r: Resource) => (r.group ? `${r.plural}.${r.group}` : r.plural);
const detailsOf = (r: Resource, name: string): JsonObject => (r.group ? { name, group: r.group, kind: r.plural } : { name, kind: r.plural });

export const notFound = (r: Resource, name: string) => new KubeError(404, 'NotFound', `${qualified(r)} "${name}" not found`, detailsOf(r, name));

export const alreadyExists = (r: Resource, name: string) =>
  new KubeError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, detailsOf(r, name));

export const conflict = (r: Resource, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new KubeError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, detailsOf(r, name));

export const badRequest = (message: string) => new KubeError(400, 'BadRequest', message);

/** 422: `Service "web" is invalid: spec.ports: Required value`. */
export function invalid(kind: string, group: string, name: string, causes: readonly Cause[]): KubeError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const text = causes.length === 1 ? summary : `[${summary}]`;
  const details: JsonObject = { name, kind, causes: causes.map((c) => ({ ...c })) };
  if (group) details.group = group;
  return new KubeError(422, 'Invalid', `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${text}`, details);
}

export const cause = (field: string, reason: string, message: string): Cause => ({ field, reason, message });
export const required = (field: string) => cause(field, 'FieldValueRequired', 'Required value');
export const invalidValue = (field: string, value: unknown, why: string) =>
  cause(field, 'FieldValueInvalid', `Invalid value: ${JSON.stringify(value)}: ${why}`);
export const notSupported = (field: string, value: unknown, allowed: readonly string[]) =>
  cause(field, 'FieldValueNotSupported', `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`);
export const duplicate = (field: string, value: unknown) => cause(field, 'FieldValueDuplicate', `Duplicate value: ${JSON.stringify(value)}`);
export const forbidden = (field: string, why: string) => cause(field, 'FieldValueForbidden', `Forbidden: ${why}`);
