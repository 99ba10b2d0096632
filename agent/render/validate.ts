import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Cloud, JsonObject } from '../model.js';
import { CLUSTER_LABEL, MANAGED_BY_LABEL } from './context.js';

// Every rendered document is checked against schemas/rendered/{kind}.schema.json and for the ownership
// labels, whichever template produced it: the check, not the template, is what keeps a value from adding
// a key and a provider from being handed something it must not hold.

/** The kinds each provider holds. */
export const KINDS: Readonly<Record<Cloud, readonly string[]>> = {
  kubernetes: ['Service', 'Ingress'],
  aws: ['SecurityGroup'],
  gcp: ['FirewallRule'],
  node: ['Forward'],
};

export type Checked = { kind: string; name: string; body: JsonObject } | { error: string };

export interface DocumentChecker {
  check(doc: unknown, cloud: Cloud, cluster: string): Checked;
}

const cache = new Map<string, DocumentChecker>();

/** Compiles the rendered-object schemas in `dir` once per process. Reads files: call it when building a renderer. */
export function documentChecker(dir: string): DocumentChecker {
  let checker = cache.get(dir);
  if (!checker) {
    checker = compile(dir);
    cache.set(dir, checker);
  }
  return checker;
}

function compile(dir: string): DocumentChecker {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  const validators = new Map<string, ValidateFunction>();
  for (const kind of new Set(Object.values(KINDS).flat())) {
    const schema = JSON.parse(readFileSync(join(dir, `${kind}.schema.json`), 'utf8')) as object;
    validators.set(kind, ajv.compile(schema));
  }
  return {
    check(doc, cloud, cluster) {
      if (!isMap(doc)) return { error: `a document is ${Array.isArray(doc) ? 'a list' : `a ${typeof doc}`}, not a map` };
      const kind = doc.kind;
      if (typeof kind !== 'string' || !KINDS[cloud].includes(kind)) {
        return { error: `a document has kind ${JSON.stringify(kind ?? null)}, but the ${cloud} provider holds only ${KINDS[cloud].join(' and ')}` };
      }
      const validate = validators.get(kind)!;
      if (!validate(doc)) return { error: `${kind} ${describeName(doc)}is not valid: ${formatErrors(validate.errors ?? [])}` };
      const kubernetes = cloud === 'kubernetes';
      const metadata = kubernetes ? (doc.metadata as Record<string, unknown>) : doc;
      const labels = metadata.labels as Record<string, string>;
      if (labels[MANAGED_BY_LABEL] !== 'portcullis' || labels[CLUSTER_LABEL] !== cluster) {
        return {
          error: `${kind} ${describeName(doc)}does not carry the ownership labels ${MANAGED_BY_LABEL}: portcullis and ${CLUSTER_LABEL}: ${cluster}; portcullis would not recognise it as its own`,
        };
      }
      return { kind, name: metadata.name as string, body: doc as JsonObject };
    },
  };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeName(doc: Record<string, unknown>): string {
  const name = isMap(doc.metadata) ? doc.metadata.name : doc.name;
  return typeof name === 'string' ? `${JSON.stringify(name)} ` : '';
}

const MAX_ERRORS = 3;

function formatErrors(errors: readonly ErrorObject[]): string {
  const shown = errors.slice(0, MAX_ERRORS).map((e) => {
    const where = e.instancePath === '' ? 'the document' : e.instancePath;
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})` : '';
    return `${where} ${e.message ?? e.keyword}${extra}`;
  });
  const more = errors.length > MAX_ERRORS ? `; and ${errors.length - MAX_ERRORS} more` : '';
  return shown.join('; ') + more;
}
