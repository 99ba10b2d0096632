// The three non-apply patch formats. JSON merge patch (RFC 7386) and JSON patch (RFC 6902)
// are complete. Strategic merge patch is merge patch plus the list rules of the fields
// portcullis touches: Service spec.ports merge by `port`, Pod containers by `name`,
// ownerReferences by `uid`, finalizers as a set; `$patch: delete|replace` inside those
// lists. Any other `$` directive is refused (400) rather than silently misapplied.
import { KubeError, badRequest } from './errors.js';
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.js';

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

const unprocessable = (message: string) => new KubeError(422, 'Invalid', message);

function pointer(text: string): string[] {
  if (text === '') return [];
  if (!text.startsWith('/')) throw unprocessable(`invalid JSON pointer "${text}"`);
  return text.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Navigate to the container of the pointer's last token. */
function parentOf(doc: Json, tokens: readonly string[], op: string): { parent: JsonObject | Json[]; last: string } {
  let here: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(here) ? here[Number(t)] : isObject(here) ? here[t] : undefined;
    if (next === undefined || (!isObject(next) && !Array.isArray(next))) throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
    here = next;
  }
  if (!isObject(here) && !Array.isArray(here)) throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
  return { parent: here, last: tokens[tokens.length - 1] ?? '' };
}

function read(doc: Json, tokens: readonly string[], op: string): Json {
  if (tokens.length === 0) return doc;
  const { parent, last } = parentOf(doc, tokens, op);
  const value = Array.isArray(parent) ? parent[Number(last)] : parent[last];
  if (value === undefined) throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
  return value;
}

function remove(doc: Json, tokens: readonly string[], op: string): Json {
  const value = read(doc, tokens, op);
  const { parent, last } = parentOf(doc, tokens, op);
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
  return value;
}

function add(doc: Json, tokens: readonly string[], value: Json, replace: boolean): Json {
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, replace ? 'replace' : 'add');
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw unprocessable(`add operation does not apply: index ${last} out of bounds`);
    parent.splice(index, replace ? 1 : 0, value);
  } else parent[last] = value;
  return doc;
}

export function jsonPatch(target: JsonObject, operations: Json): Json {
  if (!Array.isArray(operations)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc: Json = clone(target);
  for (const raw of operations) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest(`invalid JSON patch operation: ${JSON.stringify(raw)}`);
    const path = pointer(raw.path);
    const from = typeof raw.from === 'string' ? pointer(raw.from) : [];
    const value = raw.value === undefined ? null : clone(raw.value);
    switch (raw.op) {
      case 'add':
        doc = add(doc, path, value, false);
        break;
      case 'replace':
        read(doc, path, 'replace');
        doc = add(doc, path, value, true);
        break;
      case 'remove':
        remove(doc, path, 'remove');
        break;
      case 'move':
        doc = add(doc, path, remove(doc, from, 'move'), false);
        break;
      case 'copy':
        doc = add(doc, path, clone(read(doc, from, 'copy')), false);
        break;
      case 'test':
        if (!deepEqual(read(doc, path, 'test'), value)) throw unprocessable(`testing value /${path.join('/')} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${raw.op}`);
    }
  }
  return doc;
}

/** Lists that strategic merge patch merges instead of replacing, keyed by their merge key. */
const MERGE_KEYS: Record<string, string> = {
  'spec.ports': 'port',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'metadata.ownerReferences': 'uid',
};
const SET_LISTS = new Set(['metadata.finalizers']);

export function strategicMergePatch(target: Json | undefined, patch: Json, at: readonly string[] = []): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) throw badRequest(`fake kube-apiserver: strategic merge directive ${key} is not supported here`);
    const path = [...at, key];
    const dotted = path.join('.');
    const mergeKey = MERGE_KEYS[dotted];
    const existing = out[key];
    if (value === null) delete out[key];
    else if (mergeKey && Array.isArray(value)) out[key] = mergeKeyedList(Array.isArray(existing) ? existing : [], value, mergeKey);
    else if (SET_LISTS.has(dotted) && Array.isArray(value)) out[key] = [...(Array.isArray(existing) ? existing : []), ...value.filter((v) => !(Array.isArray(existing) && existing.includes(v)))];
    else out[key] = strategicMergePatch(existing, value, path);
  }
  return out;
}

function mergeKeyedList(current: readonly Json[], patch: readonly Json[], mergeKey: string): Json[] {
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map((p) => clone(p));
  const out = current.map((c) => clone(c));
  for (const item of patch) {
    if (!isObject(item) || item[mergeKey] === undefined) throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const index = out.findIndex((c) => isObject(c) && c[mergeKey] === item[mergeKey]);
    const { $patch: directive, ...fields } = item;
    if (directive === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (directive !== undefined) throw badRequest(`fake kube-apiserver: strategic merge directive $patch: ${JSON.stringify(directive)} is not supported here`);
    else if (index >= 0) out[index] = mergePatch(out[index], fields);
    else out.push(clone(fields));
  }
  return out;
}
