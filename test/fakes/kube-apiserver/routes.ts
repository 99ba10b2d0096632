// REST paths to resources:
//   /api/v1/{plural}[/{name}[/status]]                       (cluster-wide list, cluster-scoped kinds)
//   /api/v1/namespaces/{ns}/{plural}[/{name}[/status]]
//   /apis/{group}/{version}/...                              (the same below a group)
//   .../watch/...                                            (the deprecated watch prefix)
import { kindByPlural, type Kind } from './kinds.js';

export interface ResourcePath {
  kind: Kind;
  /** Undefined: every namespace (a cluster-wide list or watch) or a cluster-scoped kind. */
  namespace?: string;
  name?: string;
  subresource?: 'status';
  /** Reached through the deprecated `/watch/` prefix. */
  legacyWatch: boolean;
}

export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const segments = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    [group, version, rest] = ['', segments[1] ?? '', segments.slice(2)];
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    [group, version, rest] = [segments[1] ?? '', segments[2] ?? '', segments.slice(3)];
  } else return undefined;
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) rest = rest.slice(1);

  const namespacedKind = rest[0] === 'namespaces' && rest.length >= 3 ? kindByPlural(group, version, rest[2] ?? '') : undefined;
  if (namespacedKind?.namespaced) {
    const [, namespace, , name, sub, ...extra] = rest;
    return build(namespacedKind, namespace, name, sub, extra, legacyWatch);
  }
  const kind = kindByPlural(group, version, rest[0] ?? '');
  if (!kind) return undefined;
  const [, name, sub, ...extra] = rest;
  // A namespaced kind without a namespace is only a collection: the list across namespaces.
  if (kind.namespaced && name !== undefined) return undefined;
  return build(kind, undefined, name, sub, extra, legacyWatch);
}

function build(kind: Kind, namespace: string | undefined, name: string | undefined, sub: string | undefined, extra: string[], legacyWatch: boolean) {
  if (extra.length > 0) return undefined;
  if (sub !== undefined && (sub !== 'status' || !kind.hasStatus)) return undefined;
  const path: ResourcePath = { kind, legacyWatch };
  if (namespace !== undefined) path.namespace = namespace;
  if (name !== undefined) path.name = name;
  if (sub === 'status') path.subresource = 'status';
  return path;
}

