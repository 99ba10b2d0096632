// The verbs on stored objects: get, list, create, replace, delete. Every write goes through
// `finish`: defaults, validation, generation, field ownership, no-op detection, commit.
import { randomBytes, randomUUID } from 'node:crypto';
import { applyDefaults } from './defaults.js';
import { KubeError, alreadyExists, badRequest, conflict, invalid, notFound, type Cause } from './errors.js';
import { clone, deepEqual, isObject, metadataOf, nameOf, namespaceOf, objectAt, stringAt, type JsonObject } from './json.js';
import { NAMESPACE, apiVersionOf, KINDS, type Kind } from './kinds.js';
import { recordUpdate, withoutTimes } from './ownership.js';
import { fieldsMatch, labelsMatch, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { Store } from './store.js';
import { validateName, validateObject } from './validate.js';

export interface WriteOptions {
  dryRun: boolean;
  /** Field manager recorded in managedFields for Update operations. */
  manager: string;
  /** 'keep': the caller already set managedFields (server-side apply). */
  ownership?: 'record' | 'keep';
  /** Fake helpers only: store the given status on create instead of resetting it. */
  keepStatus?: boolean;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: string;
  continue?: string;
}

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export class Objects {
  constructor(
    readonly store: Store,
    private readonly now: () => Date,
  ) {}

  timestamp(): string {
    return this.now().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  get(kind: Kind, namespace: string, name: string): JsonObject {
    const found = this.store.peek(kind, namespace, name);
    if (!found) throw notFound(kind, name);
    return clone(found);
  }

  list(kind: Kind, namespace: string | undefined, query: ListQuery): JsonObject {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, kind.extraFields);
    let items = this.store.list(kind, namespace).filter((o) => labelsMatch(labels, o) && fieldsMatch(fields, o));
    const metadata: JsonObject = { resourceVersion: String(this.store.resourceVersion) };
    if (query.continue) {
      const start = decodeContinue(query.continue);
      items = items.filter((o) => keyOf(o) > start);
    }
    const limit = Number(query.limit ?? 0);
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      metadata.continue = Buffer.from(JSON.stringify({ start: last ? keyOf(last) : '' })).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    // Items of a real list carry no kind/apiVersion: only the list itself does.
    const bare = items.map((o) => {
      const { kind: _k, apiVersion: _a, ...rest } = clone(o);
      return rest;
    });
    return { kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata, items: bare };
  }

  create(kind: Kind, namespace: string, body: unknown, opts: WriteOptions): JsonObject {
    const object = this.checkedBody(kind, namespace, body);
    const meta = metadataOf(object);
    const generateName = stringAt(meta, 'generateName');
    if (!stringAt(meta, 'name') && generateName) meta.name = generateName + suffix();
    if (stringAt(meta, 'resourceVersion')) throw new KubeError(500, 'InternalError', 'resourceVersion should not be set on objects to be created');
    const name = nameOf(object);
    if (kind.namespaced && !this.store.peek(NAMESPACE, '', namespace)) throw notFound(NAMESPACE, namespace);
    const nameCauses = validateName(kind, name);
    if (nameCauses.length > 0) throw invalid(kind.kind, kind.group, name, nameCauses);
    if (this.store.peek(kind, namespace, name)) throw alreadyExists(kind, name);
    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    if (kind.hasStatus && !opts.keepStatus) delete object.status;
    return this.finish(kind, object, undefined, opts);
  }

  replace(kind: Kind, namespace: string, name: string, body: unknown, opts: WriteOptions, subresource?: 'status'): JsonObject {
    const request = this.checkedBody(kind, namespace, body);
    const meta = metadataOf(request);
    if (meta.name !== undefined && meta.name !== name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    meta.name = name;
    const current = this.store.peek(kind, namespace, name);
    if (!current) throw notFound(kind, name);
    const currentMeta = metadataOf(clone(current));
    const rv = stringAt(meta, 'resourceVersion');
    if (rv && rv !== currentMeta.resourceVersion) throw conflict(kind, name);
    const uid = stringAt(meta, 'uid');
    if (uid && uid !== currentMeta.uid) throw conflict(kind, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(currentMeta.uid)}`);

    let next: JsonObject;
    if (subresource === 'status') {
      next = clone(current);
      if (request.status === undefined) delete next.status;
      else next.status = request.status;
    } else {
      next = request;
      if (kind.hasStatus) {
        if (current.status === undefined) delete next.status;
        else next.status = clone(current.status);
      }
      const nextMeta = metadataOf(next);
      nextMeta.uid = currentMeta.uid ?? null;
      nextMeta.creationTimestamp = currentMeta.creationTimestamp ?? null;
      if (nextMeta.managedFields === undefined && currentMeta.managedFields !== undefined) nextMeta.managedFields = currentMeta.managedFields;
    }
    return this.finish(kind, next, current, opts);
  }

  delete(kind: Kind, namespace: string, name: string, options: unknown, opts: WriteOptions): JsonObject {
    const current = this.store.peek(kind, namespace, name);
    if (!current) throw notFound(kind, name);
    const meta = metadataOf(clone(current));
    const pre = objectAt(isObject(options) ? options : undefined, 'preconditions');
    const rv = stringAt(pre, 'resourceVersion');
    if (rv && rv !== meta.resourceVersion) {
      throw conflict(kind, name, `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`);
    }
    const uid = stringAt(pre, 'uid');
    if (uid && uid !== meta.uid) throw conflict(kind, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(meta.uid)}`);
    if (kind === NAMESPACE && PROTECTED_NAMESPACES.has(name)) {
      throw new KubeError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (opts.dryRun) return kind.deleteReturnsObject ? clone(current) : success(kind, name, meta.uid);
    // A real namespace goes Terminating and its contents are removed in the background;
    // here both happen at once.
    if (kind === NAMESPACE) {
      for (const k of KINDS.filter((k) => k.namespaced)) for (const o of this.store.list(k, name)) this.store.commit(k, 'DELETED', o, o);
    }
    const deleted = this.store.commit(kind, 'DELETED', current, current);
    return kind.deleteReturnsObject ? deleted : success(kind, name, meta.uid);
  }

  deleteCollection(kind: Kind, namespace: string | undefined, query: ListQuery, opts: WriteOptions): JsonObject {
    const list = this.list(kind, namespace, { ...query, limit: undefined, continue: undefined });
    const items = Array.isArray(list.items) ? list.items.filter(isObject) : [];
    if (!opts.dryRun) for (const item of items) this.delete(kind, namespaceOf(item), nameOf(item), undefined, opts);
    return list;
  }

  /** Defaults, validation, generation, ownership; then commit unless nothing changed or dry-run. */
  finish(kind: Kind, next: JsonObject, old: JsonObject | undefined, opts: WriteOptions): JsonObject {
    next.apiVersion = apiVersionOf(kind);
    next.kind = kind.kind;
    const causes: Cause[] = applyDefaults(kind, next, old, this.store);
    causes.push(...validateObject(kind, next, old));
    if (causes.length > 0) throw invalid(kind.kind, kind.group, nameOf(next), causes);
    const meta = metadataOf(next);
    const oldGeneration = old ? Number(objectAt(old, 'metadata')?.generation ?? 1) : 0;
    meta.generation = old && deepEqual(old.spec, next.spec) ? oldGeneration : oldGeneration + 1;
    if (opts.ownership !== 'keep') recordUpdate(old, next, opts.manager, apiVersionOf(kind), this.timestamp());
    if (old) {
      meta.resourceVersion = objectAt(old, 'metadata')?.resourceVersion ?? null;
      if (deepEqual(withoutTimes(next), withoutTimes(old))) return clone(old);
    }
    if (opts.dryRun) return next;
    return this.store.commit(kind, old ? 'MODIFIED' : 'ADDED', next, old);
  }

  /** The request body as an object of this kind in this namespace, or 400. */
  private checkedBody(kind: Kind, namespace: string, body: unknown): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request must be a JSON object');
    const object = clone(body);
    const apiVersion = apiVersionOf(kind);
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersion) {
      throw badRequest(`the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersion})`);
    }
    if (object.kind !== undefined && object.kind !== kind.kind) throw badRequest(`the kind in the data (${String(object.kind)}) does not match the expected kind (${kind.kind})`);
    const meta = metadataOf(object);
    if (kind.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else delete meta.namespace;
    return object;
  }
}

function success(kind: Kind, name: string, uid: unknown): JsonObject {
  const details: JsonObject = { name, kind: kind.plural, uid: typeof uid === 'string' ? uid : '' };
  if (kind.group) details.group = kind.group;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

const keyOf = (o: JsonObject) => `${namespaceOf(o)}/${nameOf(o)}`;

function decodeContinue(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isObject(parsed) && typeof parsed.start === 'string') return parsed.start;
  } catch {
    // fall through to the error below
  }
  throw badRequest('continue key is not valid: illegal base64 data');
}

/** generateName's random suffix: five characters from the alphabet the real server uses. */
function suffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}
