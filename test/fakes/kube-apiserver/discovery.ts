// The discovery documents clients read before they act: /version, /api, /apis,
// /api/v1, /apis/{group} and /apis/{group}/{version}, generated from the kinds table.
import type { JsonObject } from './json.js';
import { KINDS, apiVersionOf, type Kind } from './kinds.js';

export const VERSION_INFO: JsonObject = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.0-portcullis-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-04-17T00:00:00Z',
  goVersion: 'go1.22.2',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resources(kinds: readonly Kind[]): JsonObject[] {
  return kinds.flatMap((k) => {
    const main: JsonObject = { name: k.plural, singularName: k.singular, namespaced: k.namespaced, kind: k.kind, verbs: VERBS, storageVersionHash: '' };
    if (k.shortNames.length > 0) main.shortNames = [...k.shortNames];
    const status: JsonObject = { name: `${k.plural}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: ['get', 'patch', 'update'] };
    return k.hasStatus ? [main, status] : [main];
  });
}

function groupDoc(group: string): JsonObject {
  const version = { groupVersion: `${group}/v1`, version: 'v1' };
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [version], preferredVersion: version };
}

/** The discovery document at `pathname`, or undefined when it is not a discovery path. */
export function discoveryDocument(pathname: string, serverAddress: string): JsonObject | undefined {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/version') return VERSION_INFO;
  if (path === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  const groups = [...new Set(KINDS.map((k) => k.group).filter((g) => g !== ''))];
  if (path === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDoc) };
  for (const group of ['', ...groups]) {
    const kinds = KINDS.filter((k) => k.group === group);
    const groupVersion = apiVersionOf(kinds[0] as Kind);
    if (path === (group ? `/apis/${groupVersion}` : '/api/v1')) {
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: resources(kinds) };
    }
    if (group && path === `/apis/${group}`) return groupDoc(group);
  }
  return undefined;
}
