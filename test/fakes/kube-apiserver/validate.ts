// Validation the real server applies before storing, for the fields portcullis writes:
// names, labels, and the specs of Services, Ingresses and Pods. Failures are 422 Invalid.
import { invalidValue, notSupported, required, type Cause } from './errors.js';
import { arrayAt, isObject, objectAt, stringAt, type JsonObject } from './json.js';
import type { Kind } from './kinds.js';
import { validateService } from './service.js';

const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export function validateName(kind: Kind, name: string): Cause[] {
  if (name === '') return [required('metadata.name')];
  const [rule, max, text] =
    kind.nameRule === 'label-1035'
      ? [LABEL_1035, 63, 'a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character']
      : kind.nameRule === 'label-1123'
        ? [LABEL_1123, 63, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character']
        : [SUBDOMAIN, 253, 'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character'];
  return rule.test(name) && name.length <= max ? [] : [invalidValue('metadata.name', name, text)];
}

function validateMetadata(object: JsonObject): Cause[] {
  const meta = objectAt(object, 'metadata');
  const causes: Cause[] = [];
  for (const [field, valueRule] of [['labels', true], ['annotations', false]] as const) {
    const map = meta?.[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) {
      causes.push(invalidValue(`metadata.${field}`, map, 'must be a map of strings'));
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      const name = key.split('/').pop() ?? '';
      if (!QUALIFIED_NAME.test(key) || name.length > 63) causes.push(invalidValue(`metadata.${field}`, key, 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'));
      if (typeof value !== 'string') causes.push(invalidValue(`metadata.${field}[${key}]`, value, 'must be a string'));
      else if (valueRule && (!LABEL_VALUE.test(value) || value.length > 63)) {
        causes.push(invalidValue(`metadata.labels`, value, 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'));
      }
    }
  }
  return causes;
}

export function validateObject(kind: Kind, object: JsonObject, old: JsonObject | undefined): Cause[] {
  const causes = validateMetadata(object);
  if (kind.kind === 'Service') causes.push(...validateService(object, old));
  if (kind.kind === 'Ingress') causes.push(...validateIngress(object));
  if (kind.kind === 'Pod' && !old && !arrayAt(objectAt(object, 'spec'), 'containers')?.length) causes.push(required('spec.containers'));
  if (kind.kind === 'Lease') {
    const seconds = objectAt(object, 'spec')?.leaseDurationSeconds;
    if (seconds !== undefined && seconds !== null && (typeof seconds !== 'number' || seconds <= 0)) {
      causes.push(invalidValue('spec.leaseDurationSeconds', seconds, 'must be greater than 0'));
    }
  }
  return causes;
}

const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'];

function validateIngress(ingress: JsonObject): Cause[] {
  const spec = objectAt(ingress, 'spec');
  const rules = arrayAt(spec, 'rules') ?? [];
  if (!objectAt(spec, 'defaultBackend') && rules.length === 0) {
    return [invalidValue('spec', spec ?? null, 'either `defaultBackend` or `rules` must be specified')];
  }
  const causes: Cause[] = [];
  rules.forEach((rule, r) => {
    const paths = arrayAt(objectAt(isObject(rule) ? rule : undefined, 'http'), 'paths');
    if (isObject(rule) && rule.http !== undefined && !paths?.length) causes.push(required(`spec.rules[${r}].http.paths`));
    (paths ?? []).forEach((path, p) => {
      const at = `spec.rules[${r}].http.paths[${p}]`;
      if (!isObject(path)) return void causes.push(invalidValue(at, path, 'must be an object'));
      const type = path.pathType;
      if (type === undefined) causes.push(required(`${at}.pathType`));
      else if (!PATH_TYPES.includes(String(type))) causes.push(notSupported(`${at}.pathType`, type, PATH_TYPES));
      const text = stringAt(path, 'path');
      if ((type === 'Exact' || type === 'Prefix') && !text?.startsWith('/')) causes.push(invalidValue(`${at}.path`, text ?? '', 'must be an absolute path'));
      const service = objectAt(objectAt(path, 'backend'), 'service');
      if (!service && !objectAt(objectAt(path, 'backend'), 'resource')) causes.push(required(`${at}.backend`));
      if (service) {
        if (!stringAt(service, 'name')) causes.push(required(`${at}.backend.service.name`));
        const port = objectAt(service, 'port');
        if (port?.number === undefined && port?.name === undefined) causes.push(required(`${at}.backend.service.port`));
      }
    });
  });
  return causes;
}
