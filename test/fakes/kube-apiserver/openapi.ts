// Just enough OpenAPI v3 for kubectl: the index at /openapi/v3 and one document per group-version with
// each kind's paths and operations, tagged with x-kubernetes-group-version-kind. kubectl reads the PATCH
// operation's parameters to learn that the server validates fields itself (fieldValidation), and then
// sends fieldValidation=Strict instead of downloading schemas to validate client-side. No schemas are
// served: a client that needs them (client-side validation, openapi-driven merges) finds none.
import { createHash } from 'node:crypto';
import type { JsonObject } from './json.js';
import { KINDS, type Kind } from './kinds.js';

const QUERY = (name: string, description: string): JsonObject => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });
const WRITE_PARAMS = [
  QUERY('dryRun', 'All: run every stage but persist nothing'),
  QUERY('fieldManager', 'the name of the actor making the change'),
  QUERY('fieldValidation', 'Ignore, Warn or Strict: what to do with unknown or duplicate fields'),
];
const PATCH_PARAMS = [...WRITE_PARAMS, { name: 'force', in: 'query', description: 'apply: take fields other managers own', schema: { type: 'boolean', uniqueItems: true } }];

function groupPath(kind: Kind): string {
  return kind.group ? `apis/${kind.group}/${kind.version}` : `api/${kind.version}`;
}

function operation(kind: Kind, action: string, verb: string, parameters: JsonObject[]): JsonObject {
  return {
    operationId: `${verb}${kind.kind}`,
    parameters,
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: kind.group, version: kind.version, kind: kind.kind },
  };
}

function paths(kinds: readonly Kind[]): JsonObject {
  const out: JsonObject = {};
  for (const k of kinds) {
    const base = `/${groupPath(k)}${k.namespaced ? '/namespaces/{namespace}' : ''}/${k.plural}`;
    out[base] = { get: operation(k, 'list', 'list', []), post: operation(k, 'post', 'create', WRITE_PARAMS) };
    out[`${base}/{name}`] = {
      get: operation(k, 'get', 'read', []),
      put: operation(k, 'put', 'replace', WRITE_PARAMS),
      patch: operation(k, 'patch', 'patch', PATCH_PARAMS),
      delete: operation(k, 'delete', 'delete', [QUERY('dryRun', 'All: persist nothing')]),
    };
  }
  return out;
}

function groupVersionDoc(kinds: readonly Kind[]): JsonObject {
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.30.0-portcullis-fake' }, paths: paths(kinds), components: { schemas: {} } };
}

const byGroupVersion = new Map<string, Kind[]>();
for (const k of KINDS) byGroupVersion.set(groupPath(k), [...(byGroupVersion.get(groupPath(k)) ?? []), k]);

/** The OpenAPI v3 document at `pathname`, or undefined when it is not one. */
export function openapiDocument(pathname: string): JsonObject | undefined {
  const path = pathname.replace(/\/+$/, '');
  if (path === '/openapi/v3') {
    const index: JsonObject = {};
    for (const [gv, kinds] of byGroupVersion) {
      // The hash lets clients cache a document until it changes, as the real server's does.
      const hash = createHash('sha512').update(JSON.stringify(groupVersionDoc(kinds))).digest('hex').slice(0, 32).toUpperCase();
      index[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` };
    }
    return { paths: index };
  }
  const kinds = path.startsWith('/openapi/v3/') ? byGroupVersion.get(path.slice('/openapi/v3/'.length)) : undefined;
  return kinds ? groupVersionDoc(kinds) : undefined;
}

