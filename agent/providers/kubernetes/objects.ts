// The pure half of the Kubernetes provider: what part of a live object portcullis compares, and what it
// writes back. Like `kubectl apply`, every object carries the configuration portcullis last applied;
// the observed body is the live object seen through that configuration, so fields others add (clusterIP,
// nodePort, annotations of other controllers, status) never show as drift, while a field portcullis set
// and someone changed or removed does.
import type { JsonObject, JsonValue } from '../../model.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const CLUSTER_LABEL = 'portcullis.dev/cluster';
export const LAST_APPLIED = 'portcullis.dev/last-applied';
export const REVISION = 'portcullis.dev/revision';

/** Annotations portcullis writes for itself: never part of the compared body. */
const OWN_ANNOTATIONS = new Set([LAST_APPLIED, REVISION]);

export interface LiveObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    creationTimestamp?: string | Date;
  };
  spec?: object;
  status?: unknown;
}

export function isOwned(object: LiveObject): boolean {
  return object.metadata?.labels?.[MANAGED_BY] === 'portcullis';
}

export function lastApplied(object: LiveObject): JsonObject | undefined {
  const text = object.metadata?.annotations?.[LAST_APPLIED];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The body the engine compares: the live object restricted to the shape of the last applied
 * configuration. Without one (an object of ours whose annotation was removed by hand), the compared
 * body is the metadata portcullis sets and the whole spec — which differs from any rendered body, so
 * the next write puts the annotation back.
 */
export function observedBody(object: LiveObject): JsonObject {
  const applied = lastApplied(object);
  const live = toJson(object);
  if (!applied) {
    const metadata = (live.metadata ?? {}) as JsonObject;
    return {
      apiVersion: live.apiVersion ?? null,
      kind: live.kind ?? null,
      metadata: { name: metadata.name ?? null, namespace: metadata.namespace ?? null, labels: metadata.labels ?? {}, annotations: ownAnnotationsRemoved(metadata.annotations) },
      spec: live.spec ?? {},
    };
  }
  const body = project(live, applied) as JsonObject;
  const metadata = body.metadata as JsonObject | undefined;
  if (metadata && 'annotations' in metadata) metadata.annotations = ownAnnotationsRemoved(metadata.annotations);
  return body;
}

/**
 * `live` seen through `shape`: maps keep only the keys `shape` has (a key missing from `live` stays
 * missing), lists are compared element by element against the shape's elements (a list of a different
 * length keeps its length, so an added or removed port shows), scalars are taken from `live`.
 */
export function project(live: JsonValue | undefined, shape: JsonValue): JsonValue | undefined {
  if (live === undefined) return undefined;
  if (isMap(shape) && isMap(live)) {
    const out: JsonObject = {};
    for (const key of Object.keys(shape)) {
      const value = project(live[key], shape[key]!);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  if (Array.isArray(shape) && Array.isArray(live)) {
    const template = shape[0];
    return live.map((item, i) => (shape[i] !== undefined ? (project(item, shape[i]!) ?? null) : template !== undefined ? (project(item, template) ?? null) : item));
  }
  return live;
}

/**
 * The object to write with a replace: the live object (its resourceVersion and the fields others own,
 * such as spec.clusterIP, which a replace must keep) with portcullis's fields set to `desired` and the
 * fields it set last time but no longer wants removed.
 */
export function mergeForReplace(live: LiveObject, desired: JsonObject, revision: string): JsonObject {
  const applied = lastApplied(live) ?? {};
  const current = toJson(live);
  const merged = mergeOwned(current, desired, applied) as JsonObject;
  delete merged.status;
  const metadata = merged.metadata as JsonObject;
  metadata.annotations = { ...((metadata.annotations as JsonObject | undefined) ?? {}), [LAST_APPLIED]: JSON.stringify(desired), [REVISION]: revision };
  const ports = ((merged.spec as JsonObject | undefined)?.ports ?? []) as JsonObject[];
  // Keep each port's allocated nodePort: a replace without it would move the port on every node.
  const livePorts = ((current.spec as JsonObject | undefined)?.ports ?? []) as JsonObject[];
  for (const port of ports) {
    const same = livePorts.find((p) => p.name === port.name && p.protocol === port.protocol);
    if (same?.nodePort !== undefined && port.nodePort === undefined) port.nodePort = same.nodePort;
  }
  return merged;
}

/** The object to create: the desired body with portcullis's own annotations. */
export function forCreate(desired: JsonObject, revision: string): JsonObject {
  const object = structuredClone(desired);
  const metadata = object.metadata as JsonObject;
  metadata.annotations = { ...((metadata.annotations as JsonObject | undefined) ?? {}), [LAST_APPLIED]: JSON.stringify(desired), [REVISION]: revision };
  return object;
}

function mergeOwned(live: JsonValue | undefined, desired: JsonValue | undefined, applied: JsonValue | undefined): JsonValue | undefined {
  if (isMap(desired) && isMap(live)) {
    const out: JsonObject = { ...live };
    const before = isMap(applied) ? applied : {};
    // Fields portcullis applied before and no longer wants go; fields it never set stay.
    for (const key of Object.keys(before)) if (!(key in desired)) delete out[key];
    for (const [key, value] of Object.entries(desired)) {
      const merged = mergeOwned(live[key], value, before[key]);
      if (merged !== undefined) out[key] = merged;
    }
    return out;
  }
  // Lists (ports, rules) and scalars are portcullis's as a whole.
  return desired === undefined ? undefined : structuredClone(desired);
}

function ownAnnotationsRemoved(annotations: JsonValue | undefined): JsonObject {
  const out: JsonObject = {};
  if (!isMap(annotations)) return out;
  for (const [key, value] of Object.entries(annotations)) if (!OWN_ANNOTATIONS.has(key)) out[key] = value;
  return out;
}

function isMap(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toJson(object: LiveObject): JsonObject {
  // The client hands out class instances with Date fields; the wire form is what we compare.
  return JSON.parse(JSON.stringify(object)) as JsonObject;
}
