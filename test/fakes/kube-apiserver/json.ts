// JSON values as the API server stores them: plain data, copied at every boundary so a
// caller can never mutate what the fake holds.
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The object under `key`, created empty when missing (or when something else is there). */
export function childObject(parent: JsonObject, key: string): JsonObject {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

export function objectAt(parent: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = parent?.[key];
  return isObject(value) ? value : undefined;
}

export function stringAt(parent: JsonObject | undefined, key: string): string | undefined {
  const value = parent?.[key];
  return typeof value === 'string' ? value : undefined;
}

export function arrayAt(parent: JsonObject | undefined, key: string): Json[] | undefined {
  const value = parent?.[key];
  return Array.isArray(value) ? value : undefined;
}

export function metadataOf(object: JsonObject): JsonObject {
  return childObject(object, 'metadata');
}

export function nameOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'name') ?? '';
}

export function namespaceOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'namespace') ?? '';
}

export function labelsOf(object: JsonObject): Record<string, string> {
  const labels = objectAt(objectAt(object, 'metadata'), 'labels') ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The value at a path of object keys, or undefined when any step is missing. */
export function valueAt(root: Json, path: readonly string[]): Json | undefined {
  let here: Json | undefined = root;
  for (const key of path) {
    if (!isObject(here)) return undefined;
    here = here[key];
  }
  return here;
}

export function setAt(root: JsonObject, path: readonly string[], value: Json): void {
  let here = root;
  for (const key of path.slice(0, -1)) here = childObject(here, key);
  const last = path[path.length - 1];
  if (last !== undefined) here[last] = value;
}

export function deleteAt(root: JsonObject, path: readonly string[]): void {
  const parent = valueAt(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (isObject(parent) && last !== undefined) delete parent[last];
}
