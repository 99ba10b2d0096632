import { createHash } from 'node:crypto';

// Template filters. Every value a template takes from a manifest or from settings goes through `q`, so no
// value can add a key, a list item or a document to what the template meant to write.

/**
 * A value as a JSON literal, which is also a valid one-line YAML flow node: a string with a newline, `: `,
 * `#`, `{{` or a leading `-` stays one scalar. Throws (a RENDER problem) for what JSON cannot say exactly.
 */
export function q(value: unknown): string {
  // Strings and numbers are nearly every call: skip the walk over a structure for them.
  if (typeof value !== 'string' && typeof value !== 'boolean' && (typeof value !== 'number' || !Number.isFinite(value))) assertJson(value, '');
  const text = JSON.stringify(value);
  // JSON leaves these raw; YAML forbids some of them in a stream or reads them as line breaks.
  return UNSAFE_IN_YAML.test(text) ? text.replace(UNSAFE_IN_YAML_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
}

const UNSAFE_IN_YAML = /[\u007f-\u009f\u2028\u2029\ufeff]/;
const UNSAFE_IN_YAML_ALL = new RegExp(UNSAFE_IN_YAML.source, 'g');

function assertJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`q: ${where(path)}is ${value}, which YAML and JSON cannot carry`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertJson(item, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    for (const [key, item] of Object.entries(value)) assertJson(item, `${path}.${key}`);
    return;
  }
  throw new Error(`q: ${where(path)}is ${value === undefined ? 'undefined' : `a ${typeof value}`}, not a string, number, boolean, null, list or map`);
}

const where = (path: string): string => (path ? `${path.replace(/^\./, '')} ` : 'the value ');

export const MAX_DNS_NAME = 63;
const RFC1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The first `length` hex digits of the sha256 of `text`: short, stable, and different for different texts. */
export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * Joins the parts with `-` into a name valid for Kubernetes and GCP (an RFC 1035 label, at most 63 chars).
 * A name that is valid as joined is returned as is; any other is cleaned up, shortened and given `-` and 8
 * hex digits of the sha256 of the joined name, so two different inputs still give two different names and
 * the same input always gives the same one. Accepts a list of parts and further parts as arguments:
 * `{{ [name, port] | dnsname }}`, `{{ name | dnsname(port) }}`.
 */
export function dnsname(value: unknown, ...more: unknown[]): string {
  const parts = [...(Array.isArray(value) ? value : [value]), ...more].map((part) => {
    if (typeof part === 'string') return part;
    if (typeof part === 'number' && Number.isInteger(part)) return String(part);
    throw new Error(`dnsname: a part is ${part === undefined ? 'undefined' : `a ${typeof part}`}, not a string or an integer`);
  });
  const joined = parts.filter((p) => p !== '').join('-');
  if (joined.length <= MAX_DNS_NAME && RFC1035_LABEL.test(joined)) return joined;
  const suffix = `-${shortHash(joined)}`;
  let stem = joined.toLowerCase().replace(/[^-a-z0-9]+/g, '-').replace(/-+/g, '-');
  if (!/^[a-z]/.test(stem)) stem = `n${stem}`;
  stem = stem.slice(0, MAX_DNS_NAME - suffix.length).replace(/-+$/, '');
  return `${stem}${suffix}`;
}
