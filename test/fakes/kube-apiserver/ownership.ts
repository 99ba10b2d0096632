// Field ownership kept in metadata.managedFields, minimally: each manager owns a set of
// leaf paths, where a leaf is a scalar, an empty map, or a whole list (lists are atomic
// here; the real server merges keyed lists such as Service ports item by item).
// fieldsV1 is written as nested `f:<key>` maps with `{}` at each owned leaf.
import { deepEqual, isObject, metadataOf, objectAt, valueAt, type Json, type JsonObject } from './json.js';

export type Path = readonly string[];

export interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  paths: Map<string, Path>;
}

/** Identity and server-set fields nobody owns; status is written only by the fake's helpers. */
const UNOWNED_ROOT = new Set(['apiVersion', 'kind', 'status']);
const UNOWNED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp']);

export const pathKey = (path: Path) => JSON.stringify(path);
const isPrefix = (a: Path, b: Path) => a.length <= b.length && a.every((k, i) => k === b[i]);
export const overlaps = (a: Path, b: Path) => isPrefix(a, b) || isPrefix(b, a);

export function leafPaths(object: JsonObject): Map<string, Path> {
  const out = new Map<string, Path>();
  const walk = (value: Json, path: string[]) => {
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) {
        if (path.length === 0 && UNOWNED_ROOT.has(k)) continue;
        if (path.length === 1 && path[0] === 'metadata' && UNOWNED_META.has(k)) continue;
        walk(v, [...path, k]);
      }
    } else if (path.length > 0) out.set(pathKey(path), path);
  };
  walk(object, []);
  return out;
}

export function readOwners(object: JsonObject): Owner[] {
  const entries = objectAt(object, 'metadata')?.managedFields;
  if (!Array.isArray(entries)) return [];
  return entries.filter(isObject).map((e) => {
    const paths = new Map<string, Path>();
    const walk = (node: Json | undefined, path: string[]) => {
      if (!isObject(node)) return;
      const keys = Object.keys(node).filter((k) => k.startsWith('f:'));
      if (keys.length === 0 && path.length > 0) paths.set(pathKey(path), path);
      for (const k of keys) walk(node[k], [...path, k.slice(2)]);
    };
    walk(e.fieldsV1, []);
    return {
      manager: String(e.manager ?? ''),
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: String(e.apiVersion ?? ''),
      time: String(e.time ?? ''),
      paths,
    };
  });
}

export function writeOwners(object: JsonObject, owners: readonly Owner[]): void {
  const entries: Json[] = owners
    .filter((o) => o.paths.size > 0)
    .map((o) => {
      const fields: JsonObject = {};
      for (const path of o.paths.values()) {
        let node = fields;
        for (const k of path) {
          const next = node[`f:${k}`];
          node = isObject(next) ? next : (node[`f:${k}`] = {});
        }
      }
      return { manager: o.manager, operation: o.operation, apiVersion: o.apiVersion, time: o.time, fieldsType: 'FieldsV1', fieldsV1: fields };
    });
  const meta = metadataOf(object);
  if (entries.length > 0) meta.managedFields = entries;
  else delete meta.managedFields;
}

/** Give away every owned path that overlaps one of `paths`. */
export function disown(owners: readonly Owner[], paths: Iterable<Path>): void {
  const list = [...paths];
  for (const owner of owners) {
    for (const [k, owned] of owner.paths) if (list.some((p) => overlaps(p, owned))) owner.paths.delete(k);
  }
}

export function ownerFor(owners: Owner[], manager: string, operation: Owner['operation'], apiVersion: string, time: string): Owner {
  let owner = owners.find((o) => o.manager === manager && o.operation === operation);
  if (!owner) {
    owner = { manager, operation, apiVersion, time, paths: new Map() };
    owners.push(owner);
  }
  owner.apiVersion = apiVersion;
  owner.time = time;
  return owner;
}

/** An Update (create, replace, non-apply patch): the writer now owns the leaves it changed. */
export function recordUpdate(old: JsonObject | undefined, next: JsonObject, manager: string, apiVersion: string, time: string): void {
  const owners = readOwners(next);
  const before = old ? leafPaths(old) : new Map<string, Path>();
  const after = leafPaths(next);
  const changed = [...after.values()].filter((p) => !old || !deepEqual(valueAt(old, p), valueAt(next, p)));
  const removed = [...before].filter(([k]) => !after.has(k)).map(([, p]) => p);
  if (changed.length === 0 && removed.length === 0) return;
  disown(owners, [...changed, ...removed]);
  const writer = ownerFor(owners, manager, 'Update', apiVersion, time);
  for (const p of changed) writer.paths.set(pathKey(p), p);
  writeOwners(next, owners);
}

/** managedFields without timestamps: a write that changes only those is a no-op. */
export function withoutTimes(object: JsonObject): JsonObject {
  const copy = structuredClone(object);
  const entries = objectAt(copy, 'metadata')?.managedFields;
  if (Array.isArray(entries)) for (const e of entries) if (isObject(e)) delete e.time;
  return copy;
}
