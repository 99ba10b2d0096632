// Label and field selectors with the grammar of the real server: `a=b`, `a==b`, `a!=b`,
// `a in (x,y)`, `a notin (x)`, `a`, `!a`; field selectors only `=`, `==`, `!=`.
import { badRequest } from './errors.js';
import { labelsOf, valueAt, type JsonObject } from './json.js';

export interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists';
  values: readonly string[];
}

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Split on commas that are not inside a `( … )` value set. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((t) => t.trim());
}

function checked(selector: string, key: string, values: readonly string[]): void {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  for (const v of values) {
    if (!VALUE.test(v) || v.length > 63) throw badRequest(`unable to parse requirement: invalid label value "${v}" in selector "${selector}"`);
  }
}

export function parseLabelSelector(selector: string | undefined): Requirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  return terms(selector).map((term) => {
    let m = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term);
    if (m) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      checked(selector, m[1] ?? '', values);
      return { key: m[1] ?? '', op: m[2] === 'in' ? 'in' : 'notin', values };
    }
    m = /^([^\s!=(),]+)\s*(!=|==|=)\s*([^\s!=(),]*)$/.exec(term);
    if (m) {
      checked(selector, m[1] ?? '', [m[3] ?? '']);
      return { key: m[1] ?? '', op: m[2] === '!=' ? 'notin' : 'in', values: [m[3] ?? ''] };
    }
    m = /^(!?)\s*([^\s!=(),]+)$/.exec(term);
    if (m) {
      checked(selector, m[2] ?? '', []);
      return { key: m[2] ?? '', op: m[1] ? '!exists' : 'exists', values: [] };
    }
    throw badRequest(`unable to parse requirement: "${term}" in selector "${selector}"`);
  });
}

export function labelsMatch(requirements: readonly Requirement[], object: JsonObject): boolean {
  const labels = labelsOf(object);
  return requirements.every((r) => {
    const value = labels[r.key];
    switch (r.op) {
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
    }
  });
}

export interface FieldRequirement {
  path: readonly string[];
  equal: boolean;
  value: string;
}

export function parseFieldSelector(selector: string | undefined, extraFields: readonly string[]): FieldRequirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  const allowed = ['metadata.name', 'metadata.namespace', ...extraFields];
  return terms(selector).map((term) => {
    const m = /^([^\s!=]+)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1] ?? '';
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { path: field.split('.'), equal: m[2] !== '!=', value: (m[3] ?? '').trim() };
  });
}

export function fieldsMatch(requirements: readonly FieldRequirement[], object: JsonObject): boolean {
  return requirements.every((r) => {
    const raw = valueAt(object, r.path);
    const value = typeof raw === 'string' ? raw : '';
    return (value === r.value) === r.equal;
  });
}
