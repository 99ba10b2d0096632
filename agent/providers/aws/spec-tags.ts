import type { AttachTarget, GroupBody } from './body.js';

// What EC2 cannot tell back about a group — the VPC as the manifest wrote it (a Name or an id), the attach
// target, the labels, the description (immutable in EC2) and, for a group that is not portcullis's, the tags —
// is kept as JSON in tags on the group, so the observed body is the rendered body exactly, across restarts.
// A tag value holds 256 characters: longer JSON continues in `KEY.2`, `KEY.3`, ...

export const MANAGED_BY_TAG = 'portcullis:managed-by';
export const CLUSTER_TAG = 'portcullis:cluster';
export const MANAGED_BY_VALUE = 'portcullis';

/** The spec of a group portcullis owns. */
export const OWN_SPEC_KEY = 'portcullis:spec';
/** The spec of one cluster's rules in a group portcullis was told to use: the group holds one per cluster. */
export const clusterSpecKey = (cluster: string): string => `portcullis:spec:${cluster}`;

const MAX_VALUE = 256;

export interface Spec extends AttachTarget {
  cluster: string;
  vpc?: string;
  description: string;
  labels: Record<string, string>;
  /** For a group portcullis owns, the keys are the tags it set (read back from the group); else the tags themselves. */
  tags: Record<string, string>;
}

export function specOf(cluster: string, body: GroupBody): Spec {
  const spec: Spec = { cluster, description: body.description, labels: body.labels, tags: body.tags };
  if (body.vpc !== undefined) spec.vpc = body.vpc;
  if (body.instance_ids !== undefined) spec.instance_ids = body.instance_ids;
  if (body.instance_tags !== undefined) spec.instance_tags = body.instance_tags;
  return spec;
}

/** The tags that hold `spec` under `key`. Counts Unicode characters, as EC2 does, so no pair is split. */
export function encodeSpec(spec: Spec, key: string): Record<string, string> {
  const chars = Array.from(JSON.stringify(spec));
  const tags: Record<string, string> = {};
  for (let i = 0, part = 1; i < chars.length || part === 1; i += MAX_VALUE, part++) {
    tags[part === 1 ? key : `${key}.${part}`] = chars.slice(i, i + MAX_VALUE).join('');
  }
  return tags;
}

/** The keys of `tags` that belong to the spec under `key` (its first part and continuations). */
export function specKeys(tags: Record<string, string>, key: string): string[] {
  return Object.keys(tags).filter((k) => k === key || (k.startsWith(`${key}.`) && /^[0-9]+$/.test(k.slice(key.length + 1))));
}

/** The spec under `key`, or undefined when it is missing or damaged (the diff then shows drift and apply rewrites it). */
export function decodeSpec(tags: Record<string, string>, key: string): Spec | undefined {
  let json = tags[key];
  if (json === undefined) return undefined;
  for (let part = 2; tags[`${key}.${part}`] !== undefined; part++) json += tags[`${key}.${part}`];
  try {
    const value: unknown = JSON.parse(json);
    return isSpec(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Clusters that keep a spec in a group portcullis does not own. */
export function specClusters(tags: Record<string, string>): string[] {
  const prefix = clusterSpecKey('');
  return Object.keys(tags)
    .filter((k) => k.startsWith(prefix) && !k.includes('.'))
    .map((k) => k.slice(prefix.length));
}

const isStringMap = (v: unknown): v is Record<string, string> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

function isSpec(v: unknown): v is Spec {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.cluster === 'string' &&
    typeof s.description === 'string' &&
    isStringMap(s.labels) &&
    isStringMap(s.tags) &&
    (s.vpc === undefined || typeof s.vpc === 'string') &&
    (s.instance_ids === undefined || (Array.isArray(s.instance_ids) && s.instance_ids.every((x) => typeof x === 'string'))) &&
    (s.instance_tags === undefined || isStringMap(s.instance_tags))
  );
}
