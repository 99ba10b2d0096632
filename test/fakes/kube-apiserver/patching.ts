// PATCH in its four content types. Non-apply patches are computed against the stored object
// and then stored like a replace (so a resourceVersion in the patch is a precondition, and
// status changes on the main resource are ignored). Apply creates the object when missing.
import { parse as parseYaml } from 'yaml';
import { applyConfig } from './apply.js';
import { KubeError, badRequest, conflict, notFound } from './errors.js';
import { isObject, metadataOf, stringAt, type Json, type JsonObject } from './json.js';
import { apiVersionOf, type Kind } from './kinds.js';
import type { Objects, WriteOptions } from './objects.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export interface PatchRequest {
  kind: Kind;
  namespace: string;
  name: string;
  contentType: string;
  body: string;
  /** The fieldManager query parameter as sent (apply requires it). */
  fieldManager: string | undefined;
  force: boolean;
  subresource?: 'status';
}

export interface PatchResult {
  object: JsonObject;
  created: boolean;
}

export function patchObject(objects: Objects, req: PatchRequest, opts: WriteOptions): PatchResult {
  const type = req.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === PATCH_TYPES.apply) return applyObject(objects, req, opts);
  if (req.force) throw invalidOptions('force: Invalid value: true: may not be specified for non-apply patch');
  if (!(Object.values(PATCH_TYPES) as string[]).includes(type)) {
    throw new KubeError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${Object.values(PATCH_TYPES).join(', ')}`,
    );
  }
  const patch = parseJson(req.body);
  const current = objects.store.peek(req.kind, req.namespace, req.name);
  if (!current) throw notFound(req.kind, req.name);
  let patched: Json;
  if (type === PATCH_TYPES.json) patched = jsonPatch(current, patch);
  else if (type === PATCH_TYPES.merge) patched = mergePatch(current, patch);
  else patched = strategicMergePatch(current, patch);
  if (!isObject(patched)) throw badRequest('the patch did not produce an object');
  return { object: objects.replace(req.kind, req.namespace, req.name, patched, opts, req.subresource), created: false };
}

function applyObject(objects: Objects, req: PatchRequest, opts: WriteOptions): PatchResult {
  if (!req.fieldManager) throw invalidOptions('fieldManager: Required value: is required for apply patch');
  const config = parseApplied(req.body);
  const apiVersion = apiVersionOf(req.kind);
  if (config.apiVersion !== apiVersion || config.kind !== req.kind.kind) {
    throw badRequest(`the apiVersion and kind of the applied configuration (${String(config.apiVersion)}, ${String(config.kind)}) must be ${apiVersion}, ${req.kind.kind}`);
  }
  const meta = metadataOf(config);
  if (meta.name !== undefined && meta.name !== req.name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${req.name})`);
  if (req.kind.namespaced && meta.namespace !== undefined && meta.namespace !== req.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const current = objects.store.peek(req.kind, req.namespace, req.name);
  const rv = stringAt(meta, 'resourceVersion');
  if (current && rv && rv !== stringAt(metadataOf(structuredClone(current)), 'resourceVersion')) throw conflict(req.kind, req.name);
  if (!current && rv) throw notFound(req.kind, req.name);
  const merged = applyConfig(current, config, {
    resource: req.kind,
    name: req.name,
    manager: req.fieldManager,
    force: req.force,
    apiVersion,
    time: objects.timestamp(),
  });
  const mergedMeta = metadataOf(merged);
  mergedMeta.name = req.name;
  delete mergedMeta.resourceVersion;
  const keep: WriteOptions = { ...opts, ownership: 'keep' };
  if (!current) return { object: objects.create(req.kind, req.namespace, merged, keep), created: true };
  return { object: objects.replace(req.kind, req.namespace, req.name, merged, keep, req.subresource), created: false };
}

function parseJson(body: string): Json {
  try {
    return JSON.parse(body) as Json;
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
}

function parseApplied(body: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = parseYaml(body);
  } catch (error) {
    throw badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw badRequest('error decoding YAML: the applied configuration must be a map');
  return parsed;
}

const invalidOptions = (detail: string) => new KubeError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${detail}`);
