import type { protos } from '@google-cloud/compute';
import type { JsonObject, JsonValue, Resource } from '../../model.js';
import { ownershipLabels } from '../../render/context.js';

// A firewall rule as the Compute Engine API holds it, and as portcullis renders it
// (test/render/golden/gcp-firewall.yaml). Observed rules are mapped to exactly the rendered shape — the
// server's own fields (id, creationTimestamp, selfLink, kind, logConfig, the `_` shadow fields of the
// client's decoding, empty lists, priority 1000, disabled=false) left out — so an unchanged rule compares
// equal and a no-op pass writes nothing. Fields a person set by hand that change who may connect (a
// priority, `disabled`, `denied`, source or target tags and service accounts) are kept, so they show as drift.

export type ApiFirewall = protos.google.cloud.compute.v1.IFirewall;

export const KIND = 'FirewallRule';
export const NAME_PREFIX = 'portcullis-';
const MARK = /^managed by portcullis; cluster=([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)(?:;|$)/;
/** The revision a rule was last written at, appended to its description: not part of the compared body. */
const REVISION = /; revision=[^;]*$/;
const DEFAULT_PRIORITY = 1000;
/** Fields that cannot change on an existing rule: a change to them means a new rule. */
const FIXED = ['project', 'network', 'direction'] as const;
/** Fields the API holds beyond what portcullis renders, that matter to who may connect. */
const EXTRA_LISTS = ['denied', 'sourceTags', 'sourceServiceAccounts', 'targetServiceAccounts', 'destinationRanges'] as const;

/** The cluster a rule belongs to when it carries portcullis's mark (name prefix and description), else undefined. */
export function ownerOf(fw: ApiFirewall): string | undefined {
  if (!fw.name?.startsWith(NAME_PREFIX)) return undefined;
  return MARK.exec(fw.description ?? '')?.[1];
}

/** `https://…/compute/v1/projects/p/global/networks/n` → `n` in project p, else the `projects/…` path. */
export function networkName(project: string, network: string): string {
  const path = network.replace(/^https?:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\//, '');
  const inProject = /^(?:projects\/([^/]+)\/)?global\/networks\/([^/]+)$/.exec(path);
  if (!inProject) return path;
  const owner = inProject[1] ?? project;
  return owner === project ? inProject[2]! : `projects/${owner}/global/networks/${inProject[2]!}`;
}

/** A network name or path, as the API takes it on insert. */
export function networkPath(project: string, network: string): string {
  const name = networkName(project, network);
  return name.includes('/') ? name : `projects/${project}/global/networks/${name}`;
}

/** An observed rule of portcullis's, in the rendered shape. */
export function toResource(project: string, fw: ApiFirewall, cluster: string): Resource {
  const name = fw.name!;
  const body: JsonObject = {
    kind: KIND,
    name,
    project,
    network: networkName(project, fw.network ?? 'default'),
    direction: fw.direction ?? 'INGRESS',
    description: (fw.description ?? '').replace(REVISION, ''),
    // GCP rules have no labels: these are the ones every rendered rule carries (see `complete`).
    labels: ownershipLabels(cluster),
    targetTags: [...(fw.targetTags ?? [])],
    sourceRanges: [...(fw.sourceRanges ?? [])],
    allowed: (fw.allowed ?? []).map((a) => ({ IPProtocol: a.IPProtocol ?? '', ports: [...(a.ports ?? [])] })),
  };
  if (typeof fw.priority === 'number' && fw.priority !== DEFAULT_PRIORITY) body.priority = fw.priority;
  if (fw.disabled === true) body.disabled = true;
  for (const field of EXTRA_LISTS) {
    const value = fw[field];
    if (Array.isArray(value) && value.length > 0) body[field] = JSON.parse(JSON.stringify(value, dropShadow)) as JsonValue;
  }
  return { id: `gcp/${cluster}/${KIND}/${name}`, cloud: 'gcp', cluster, kind: KIND, name, body };
}

/** The client's decoded messages carry `_field` markers for optional fields: not data. */
const dropShadow = (key: string, value: unknown): unknown => (key.startsWith('_') ? undefined : value);

/**
 * A rendered rule in the form observe reads back: labels are the ownership labels (the API cannot store
 * labels, so user labels cannot be compared), the network a bare name when it is in the rule's project,
 * and the default priority left out.
 */
export function canonical(resource: Resource): Resource {
  const body: JsonObject = { ...resource.body, labels: ownershipLabels(resource.cluster) };
  if (typeof body.network === 'string' && typeof body.project === 'string') body.network = networkName(body.project, body.network);
  if (body.priority === DEFAULT_PRIORITY) delete body.priority;
  return { ...resource, body };
}

/** The rule to insert, or to PUT in place of an existing one, stamped with the config revision that asks for it. */
export function toApi(body: JsonObject, revision?: string): ApiFirewall {
  const fw: ApiFirewall = {
    name: body.name as string,
    description: revision ? `${body.description as string}; revision=${revision}` : (body.description as string),
    network: networkPath(body.project as string, body.network as string),
    direction: body.direction as string,
    targetTags: body.targetTags as string[],
    sourceRanges: body.sourceRanges as string[],
    allowed: (body.allowed as { IPProtocol: string; ports: string[] }[]).map((a) => ({ IPProtocol: a.IPProtocol, ports: [...a.ports] })),
  };
  if (typeof body.priority === 'number') fw.priority = body.priority;
  return fw;
}

/** The fields a PATCH sends: every mutable field portcullis renders (a list is replaced whole). */
export function toPatch(body: JsonObject, revision?: string): ApiFirewall {
  const { name: _name, network: _network, direction: _direction, ...patch } = toApi(body, revision);
  return patch;
}

export type UpdatePlan = 'patch' | 'replace' | 'recreate';

/**
 * How to turn `actual` into `desired` in one step. A PATCH cannot clear a field (the client drops empty
 * lists), so a rule that holds a field portcullis does not render is replaced whole with a PUT; a rule
 * whose project, network or direction must change is made anew.
 */
export function updatePlan(desired: JsonObject, actual: JsonObject): UpdatePlan {
  if (FIXED.some((field) => desired[field] !== actual[field])) return 'recreate';
  if (Object.keys(actual).some((field) => !(field in desired))) return 'replace';
  return 'patch';
}

/** The project a rule lives in. */
export const projectOf = (resource: Resource): string => resource.body.project as string;
