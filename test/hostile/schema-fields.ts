// The string fields of schemas/*.json, found by walking the schemas, so a field added to a schema is
// attacked by the injection corpus without anyone listing it; and the means to put a value at one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemasDir } from '../../agent/paths.js';

/** A step into a document: a map key, every list item (`[]`), every map value (`{*}`), or the map's keys (`{key}`). */
export type Step = string | typeof ITEM | typeof VALUE | typeof KEY;
export const ITEM = Symbol('[]');
export const VALUE = Symbol('{*}');
export const KEY = Symbol('{key}');

export interface Field {
  path: Step[];
  /** Constants an `if` requires of the map the field's first list item is (a policy entry's `name`) for the field to exist. */
  when: Record<string, unknown>;
}

type Schema = { [key: string]: unknown };

export function fieldName(field: Field): string {
  const steps = field.path.map((s) => (s === ITEM ? '[]' : s === VALUE ? '{*}' : s === KEY ? '{key}' : s));
  const when = Object.entries(field.when).map(([k, v]) => `${k}=${String(v)}`);
  return steps.join('.') + (when.length > 0 ? ` (${when.join(', ')})` : '');
}

/** Every place of a schema where a document may hold a string: `type: string`, string enums, map keys. */
export function stringFields(schemaFile: string): Field[] {
  const root = JSON.parse(readFileSync(join(schemasDir(), schemaFile), 'utf8')) as Schema;
  const found = new Map<string, Field>();
  const add = (field: Field) => found.set(fieldName(field), field);

  const walk = (node: unknown, path: Step[], when: Record<string, unknown>, depth: number): void => {
    if (typeof node !== 'object' || node === null || depth > 12) return;
    const schema = node as Schema;
    if (typeof schema.$ref === 'string') walk(resolve(root, schema.$ref), path, when, depth + 1);
    if (acceptsString(schema)) add({ path, when });
    for (const branch of [...asList(schema.anyOf), ...asList(schema.oneOf)]) walk(branch, path, when, depth + 1);
    for (const part of asList(schema.allOf)) {
      const clause = part as Schema;
      const consts = constsOf(clause.if);
      if (clause.then) walk(clause.then, path, { ...when, ...consts }, depth + 1);
      else walk(clause, path, when, depth + 1);
    }
    const properties = schema.properties as Record<string, unknown> | undefined;
    for (const [key, child] of Object.entries(properties ?? {})) {
      if (child === true) continue;
      walk(child, [...path, key], when, depth + 1);
    }
    if (typeof schema.items === 'object') walk(schema.items, [...path, ITEM], when, depth + 1);
    if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, [...path, VALUE], when, depth + 1);
    if (typeof schema.propertyNames === 'object' || typeof schema.additionalProperties === 'object') add({ path: [...path, KEY], when });
  };
  walk(root, [], {}, 0);
  return [...found.values()];
}

function acceptsString(schema: Schema): boolean {
  const type = schema.type;
  if (type === 'string' || (Array.isArray(type) && type.includes('string'))) return true;
  if (Array.isArray(schema.enum) && schema.enum.some((v) => typeof v === 'string')) return true;
  return typeof schema.const === 'string';
}

function constsOf(condition: unknown): Record<string, unknown> {
  const properties = ((condition as Schema | undefined)?.properties ?? {}) as Record<string, Schema>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) if (value && 'const' in value) out[key] = value.const;
  return out;
}

function resolve(root: Schema, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`schema-fields: only local $refs are followed, not ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (node as Schema | undefined)?.[part], root);
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

type Doc = Record<string, unknown>;
const isMap = (value: unknown): value is Doc => typeof value === 'object' && value !== null && !Array.isArray(value);
const matches = (item: unknown, when: Record<string, unknown>) => Object.keys(when).length === 0 || (isMap(item) && Object.entries(when).every(([k, v]) => item[k] === v));

/**
 * A copy of `doc` with `value` at the field — the first list item (matching `when`), the first map value,
 * or the first map key (renamed, its value kept) — and what was there. Undefined when the document has
 * nothing there to replace, unless `create` lets the last key be added.
 */
export function replaceAt(doc: unknown, field: Field, value: string, options: { create?: boolean } = {}): { doc: unknown; old: unknown } | undefined {
  let old: unknown;
  const go = (node: unknown, steps: readonly Step[], outer: boolean): unknown => {
    if (steps.length === 0) {
      old = node;
      return value;
    }
    const [step, ...rest] = steps;
    if (step === ITEM) {
      if (!Array.isArray(node)) return undefined;
      const index = node.findIndex((item) => !outer || matches(item, field.when));
      if (index < 0) return undefined;
      const child = go(node[index], rest, false);
      return child === undefined ? undefined : node.map((item, i) => (i === index ? child : item));
    }
    if (!isMap(node)) return undefined;
    const first = Object.keys(node)[0];
    if (step === KEY) {
      if (first === undefined) return undefined;
      old = first;
      return Object.fromEntries(Object.entries(node).map(([k, v]) => (k === first ? [value, v] : [k, v])));
    }
    const key = step === VALUE ? first : step;
    if (key === undefined || (!(key in node) && !(options.create && rest.length === 0))) return undefined;
    const child = go(node[key], rest, outer);
    return child === undefined ? undefined : { ...node, [key]: child };
  };
  const replaced = go(doc, field.path, true);
  return replaced === undefined ? undefined : { doc: replaced, old };
}
